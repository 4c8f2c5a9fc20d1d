"""The health of this instance (database, cache) and of the upstream, checked cheaply.

``/healthz`` is anonymous and polled by load balancers and Docker: it must never become a
way to make this server call Vono on demand. The upstream is probed at most once every
``PROBE_SECONDS`` across all instances (the result lives in the shared cache; one request
takes a lock and probes while the others answer with what is known).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection

from recordings import vono
from recordings.redaction import upstream_text

logger = logging.getLogger(__name__)

PROBE_SECONDS = 30  # a probe result is fresh this long
KEEP_SECONDS = 10 * 60  # a stale result still answers while another request probes
# Longer than the probe client's worst case (connect 2 s + read 5 s), so the lock outlives a
# probe and a crashed prober frees it soon.
LOCK_SECONDS = 10
WAIT_SECONDS = 8.0  # with nothing known yet, how long a request waits for the prober
_RESULT = "health:upstream:v1"
_LOCK = "health:upstream:probing"


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    """What the last probe of Vono found. ``reason`` is short, sanitised and English."""

    ok: bool
    reason: str
    checked_at: float  # time.time() of the probe

    def age(self) -> float:
        return max(0.0, time.time() - self.checked_at)


@dataclass(frozen=True, slots=True)
class Health:
    database: str  # "ok" or "error: <exception type>"
    cache: str
    upstream: UpstreamHealth | None  # None: not known (no probe finished yet, or no cache)

    @property
    def serving(self) -> bool:
        """Whether this instance can serve pages at all: sessions, sign-in and the audit log
        need the database and the cache. Vono is not needed for that: without it the portal
        still signs people in, shows the audit log and explains the outage."""
        return self.database == "ok" and self.cache == "ok"

    @property
    def ok(self) -> bool:
        return self.serving and self.upstream is not None and self.upstream.ok


def check_health() -> Health:
    """Check the database and the cache now; the upstream from the shared, cached probe."""
    database = _check(_ping_database)
    cache_state = _check(_ping_cache)
    upstream = None
    if cache_state == "ok":
        try:
            upstream = upstream_health()
        except Exception as exc:  # noqa: BLE001 - the cache failed between two calls
            logger.warning("health: the cache failed during the probe: %s", type(exc).__name__)
    return Health(database=database, cache=cache_state, upstream=upstream)


def upstream_health() -> UpstreamHealth | None:
    """The upstream's state; probed at most once per PROBE_SECONDS, whatever the traffic."""
    known = _stored()
    if known is not None and known.age() < PROBE_SECONDS:
        return known
    if not cache.add(_LOCK, 1, timeout=LOCK_SECONDS):
        # Another request, here or on another instance, is probing right now.
        return known if known is not None else _wait_for_prober()
    try:
        # Read again under the lock: a prober that finished (and let go of the lock) between
        # the first read and the lock already holds a fresh answer.
        known = _stored()
        if known is not None and known.age() < PROBE_SECONDS:
            return known
        result = _probe()
        cache.set(
            _RESULT,
            {"ok": result.ok, "reason": result.reason, "at": result.checked_at},
            timeout=KEEP_SECONDS,
        )
        return result
    finally:
        cache.delete(_LOCK)


def _probe() -> UpstreamHealth:
    try:
        vono.get_probe_client().list_recordings(vono.RecordingFilter(id_record=0), limit=1)
    except vono.VonoError as exc:
        reason = upstream_text(str(exc), limit=120)
        logger.warning("health probe: the Vono API is degraded: %s", reason)
        return UpstreamHealth(ok=False, reason=reason, checked_at=time.time())
    return UpstreamHealth(ok=True, reason="", checked_at=time.time())


def _stored() -> UpstreamHealth | None:
    value: Any = cache.get(_RESULT)
    if not isinstance(value, dict):
        return None
    try:
        return UpstreamHealth(
            ok=bool(value["ok"]), reason=str(value["reason"]), checked_at=float(value["at"])
        )
    except (KeyError, TypeError, ValueError):
        return None


def _wait_for_prober() -> UpstreamHealth | None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        known = _stored()
        if known is not None:
            return known
    return None


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _ping_cache() -> None:
    cache.get("health:ping")


def _check(ping: Any) -> str:
    try:
        ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "error"; the type says which
        return f"error: {type(exc).__name__}"
    return "ok"
