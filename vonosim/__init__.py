"""vonosim: a faithful, fault-injecting simulator of the Vono call-recording API."""
