"""The one way to write the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone

from recordings.models import AuditEvent
from recordings.redaction import redact
from recordings.throttle import client_ip

Action = AuditEvent.Action


def record_event(
    *,
    action: str,
    request: HttpRequest | None = None,
    actor: Any = None,
    record_ids: Iterable[int] = (),
    customer_id: int | None = None,
    details: dict[str, Any] | None = None,
    outcome: str = "ok",
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records.

    The actor defaults to the request's user; details are stored as given, after masking
    anything that looks like the Vono credentials.
    """
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        record_ids=sorted({int(i) for i in record_ids}),
        customer_id=customer_id,
        details=_masked(details or {}),
        ip=client_ip(request) or None if request is not None else None,
        user_agent=(request.headers.get("User-Agent", "")[:300] if request is not None else ""),
        request_id=getattr(request, "request_id", "") if request is not None else "",
        outcome=outcome,
    )
    event.save()
    return event


def record_play_once(request: HttpRequest, *, record_id: int, customer_id: int | None) -> bool:
    """Record a play once per session and recording, however many Range requests it takes.

    The once-only marker lives in the shared cache (an atomic add), so concurrent Range
    requests on several instances still make one event. Returns whether it recorded one.
    """
    session_key = request.session.session_key or ""
    if not session_key:
        request.session.save()
        session_key = request.session.session_key or ""
    marker = f"audit:played:{session_key}:{record_id}"
    if not cache.add(marker, 1, timeout=max(settings.SESSION_COOKIE_AGE, 12 * 3600)):
        return False
    record_event(
        action=Action.PLAY, request=request, record_ids=[record_id], customer_id=customer_id
    )
    return True


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value
