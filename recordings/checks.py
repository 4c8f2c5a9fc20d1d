"""System checks for what sign-in throttling and the play-once markers need."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# Each process keeps its own: with two gunicorn workers every limit doubles, and the
# once-per-session play marker is recorded once per worker.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@checks.register(checks.Tags.caches, checks.Tags.security)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Outside DEBUG the default cache must be shared by every process (Redis)."""
    if settings.DEBUG:
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in PER_PROCESS_CACHES:
        return []
    return [
        checks.Warning(
            f"The default cache ({backend.rsplit('.', 1)[-1]}) is not shared between "
            "processes: sign-in limits multiply by the number of gunicorn workers and "
            "instances, and plays are recorded once per worker.",
            hint="Set CACHE_URL to a Redis shared by every instance, e.g. redis://host:6379/0.",
            id="recordings.W001",
        )
    ]
