"""Who may see what: the subscriber scope, decided before anything reaches the upstream."""

from __future__ import annotations

from typing import Any

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
        raise Http404


def visible_recording(request: HttpRequest, record_id: int) -> vono.Recording:
    """The recording if this user may see it; 404 otherwise (also when Vono has no such id).

    Called before any download starts, so a hidden recording never streams a byte.
    """
    try:
        return vono.get_client().get_recording(record_id, customer_id=scope_of(request.user))
    except vono.VonoNotFound:
        raise Http404 from None
