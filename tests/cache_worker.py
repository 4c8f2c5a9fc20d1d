"""Code that runs in other processes of the audio cache tests (started with ``spawn``).

Kept apart from the test modules: importing those would import ``tests.environment``, which
makes new credentials for the process that imports it.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any


def _cache(directory: str) -> Any:
    import django

    django.setup()
    from audio.cache import AudioCache

    return AudioCache(Path(directory), max_bytes=10**9, max_age=3600, stall_timeout=20)


def read_whole(directory: str, record_id: int, start: Any, out: Any) -> None:
    cache = _cache(directory)
    start.wait()
    with cache.open(record_id, customer_id=None) as cached:
        data = b"".join(cached.chunks(0, None))
    out.put((len(data), hashlib.sha256(data).hexdigest()))


def start_and_die(directory: str, record_id: int, started: Any) -> None:
    cache = _cache(directory)
    cached = cache.open(record_id, customer_id=None)
    cached.wait_for(1)
    started.set()
    time.sleep(60)  # killed long before
