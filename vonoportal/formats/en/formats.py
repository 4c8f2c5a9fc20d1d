# Unambiguous for English readers in Brazil: ISO dates, 24-hour clock, to the second.
DATETIME_FORMAT = "Y-m-d H:i:s"
SHORT_DATE_FORMAT = "Y-m-d"
# Queues, notes and the index's status, to the minute: ISO too, never "11/30/2026 8:12 p.m.".
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
