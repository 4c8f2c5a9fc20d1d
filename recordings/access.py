"""Who may see what: the subscriber scope, decided before anything reaches the upstream."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest

from recordings import vono


def scope_of(user: Any) -> int | None:
    """The one subscriber a user is limited to, or None for every subscriber."""
    return getattr(user, "customer_id", None)


def check_requested_scope(request: HttpRequest) -> None:
    """A scoped user naming another subscriber in the URL gets 404, as for a hidden id."""
    scope = scope_of(request.user)
    asked = request.GET.get("customer_id", "").strip()
    if scope is not None and asked and asked != str(scope):
        from audit import services as audit

        audit.record_event(
            action=audit.Action.ACCESS_DENIED,
            request=request,
            outcome="denied",
            details={"path": request.path[:300], "customer_id": asked[:20]},
        )
        raise Http404


def visible_recording(request: HttpRequest, record_id: int) -> vono.Recording:
    """The recording if this user may see it; 404 otherwise (also when Vono has no such id).

    Called before any download starts, so a hidden recording never streams a byte.
    """
    scope = scope_of(request.user)
    key = recording_cache_key(record_id, scope)
    recording: vono.Recording | None = cache.get(key)
    if recording is None:
        try:
            recording = vono.get_client().get_recording(record_id, customer_id=scope)
        except vono.VonoNotFound:
            raise Http404 from None
        # A player asks for many ranges of one recording: one lookup serves them all.
        cache.set(key, recording, timeout=RECORDING_CACHE_SECONDS)
    return recording


RECORDING_CACHE_SECONDS = 300


def recording_cache_key(record_id: int, scope: int | None) -> str:
    return f"recording:v1:{'all' if scope is None else scope}:{record_id}"


def forget_recordings(record_ids: list[int], scopes: list[int | None]) -> None:
    """Drop cached lookups of recordings that were just deleted."""
    cache.delete_many([recording_cache_key(r, s) for r in record_ids for s in scopes])
