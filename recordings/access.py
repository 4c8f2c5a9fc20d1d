"""Who may see what: the subscriber and extension scope, decided before anything reaches
the upstream."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest

from recordings import vono
from recordings.scope import Scope

UNLIMITED = Scope()


def scope_of(user: Any) -> Scope:
    """The user's reach: one subscriber, a set of extensions, both, or (empty) everything."""
    return Scope.of(getattr(user, "customer_id", None), getattr(user, "extensions", "") or "")


def check_requested_scope(request: HttpRequest) -> None:
    """A scoped user naming another subscriber in the URL gets 404, as for a hidden id."""
    scope = scope_of(request.user).customer_id
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


def check_recording_in_scope(scope: Scope, record_id: int) -> None:
    """404 unless a user limited to extensions may see ``record_id``, decided by the index
    alone, before any upstream call.

    The upstream cannot filter by extension, and asking it about an id would already tell
    a hidden recording's metadata to our process and its logs: so a recording the index
    does not know (not synchronised yet, or never there) is 404 for such a user, even if
    it exists upstream. Without an extension set, the subscriber check stays the
    upstream's (``get_recording(customer_id=...)``).
    """
    if scope.extensions is None:
        return
    from index import selectors as index_selectors

    if record_id not in index_selectors.visible_ids(scope, [record_id]):
        raise Http404


def visible_recording(request: HttpRequest, record_id: int) -> vono.Recording:
    """The recording if this user may see it; 404 otherwise (also when Vono has no such id).

    Called before any download starts, so a hidden recording never streams a byte.
    """
    scope = scope_of(request.user)
    check_recording_in_scope(scope, record_id)
    key = recording_cache_key(record_id, scope.customer_id)
    recording: vono.Recording | None = cache.get(key)
    if recording is None:
        try:
            recording = vono.get_client().get_recording(record_id, customer_id=scope.customer_id)
        except vono.VonoNotFound:
            raise Http404 from None
        # A player asks for many ranges of one recording: one lookup serves them all.
        cache.set(key, recording, timeout=RECORDING_CACHE_SECONDS)
    if scope.extensions is not None and not scope.extensions.contains_call(
        recording.source, recording.destination
    ):
        # The index and the upstream disagree about this call's numbers: the stricter wins.
        raise Http404
    return recording


RECORDING_CACHE_SECONDS = 300


def recording_cache_key(record_id: int, customer_id: int | None) -> str:
    return f"recording:v1:{'all' if customer_id is None else customer_id}:{record_id}"


def forget_recordings(record_ids: list[int], customer_ids: list[int | None]) -> None:
    """Drop cached lookups of recordings that were just deleted."""
    cache.delete_many([recording_cache_key(r, s) for r in record_ids for s in customer_ids])
