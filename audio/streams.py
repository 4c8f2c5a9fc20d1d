"""How many audio streams one process serves at once, so pages always find a free thread.

A stream holds a gunicorn thread for as long as its listener takes to read it, which for a
slow listener is the length of the call. Streams beyond the cap are refused at once with
503 and Retry-After (a player retries), instead of queueing behind the listeners and taking
every page down with them. Size the cap below the worker's threads (``GUNICORN_THREADS``):
the difference is what the pages keep.
"""

from __future__ import annotations

import threading

from django.conf import settings

_lock = threading.Lock()
_in_use = 0


class StreamSlot:
    """One of the process's stream places; released once, however often ``release`` runs."""

    def __init__(self) -> None:
        self._released = False

    def release(self) -> None:
        global _in_use
        with _lock:
            if not self._released:
                self._released = True
                _in_use -= 1


def claim() -> StreamSlot | None:
    """A place for one more stream, or None when this process serves its cap already."""
    global _in_use
    with _lock:
        if _in_use >= int(settings.AUDIO_STREAMS_PER_PROCESS):
            return None
        _in_use += 1
        return StreamSlot()


def in_use() -> int:
    with _lock:
        return _in_use
