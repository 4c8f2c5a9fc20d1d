"""The one way to write the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
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
    """Append one event to the chain. Call it inside the transaction of the change it records.

    The actor defaults to the request's user; details are stored as given, after masking
    anything that looks like the Vono credentials. Writers take the chain head's row lock in
    turn, so concurrent events are appended one after another and the chain never forks.
    """
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    ip = client_ip(request) if request is not None else ""
    event = AuditEvent(
        created_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "",
        action=str(action),
        record_ids=sorted({int(i) for i in record_ids}),
        customer_id=customer_id,
        details=_masked(details or {}),
        ip=_normalised_ip(ip),
        user_agent=request.headers.get("User-Agent", "")[:300] if request is not None else "",
        request_id=getattr(request, "request_id", "") if request is not None else "",
        outcome=outcome,
    )
    with transaction.atomic():
        # The UPDATE takes the head row's lock (and SQLite's write lock) before the read.
        if not AuditChainHead.objects.filter(pk=1).update(seq=F("seq")):
            _create_head()
            AuditChainHead.objects.filter(pk=1).update(seq=F("seq"))
        head = AuditChainHead.objects.get(pk=1)
        event.seq = head.seq + 1
        event.prev_hash = head.hash
        event.hash = event_hash(event)
        event.save()
        AuditChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event


GENESIS = "0" * 64


def canonical_content(event: AuditEvent) -> str:
    """The event's content as hashed: every recorded field, in a fixed JSON form."""
    created = event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return json.dumps(
        {
            "seq": event.seq,
            "created_at": created,
            "actor_id": event.actor_id,
            "actor_username": event.actor_username,
            "action": event.action,
            "record_ids": list(event.record_ids),
            "customer_id": event.customer_id,
            "details": event.details,
            "ip": event.ip,
            "user_agent": event.user_agent,
            "request_id": event.request_id,
            "outcome": event.outcome,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def event_hash(event: AuditEvent) -> str:
    """SHA-256 over the previous event's hash and this event's canonical content."""
    return hashlib.sha256(f"{event.prev_hash}\n{canonical_content(event)}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    event_id: int | None
    seq: int
    reason: str


def verify_chain(batch: int = 2000) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain in order; (events checked, the first break or None)."""
    previous_hash, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch):
        if event.seq != expected_seq:
            return checked, ChainBreak(
                event.pk, event.seq, f"sequence jumps from {expected_seq - 1} to {event.seq}"
            )
        if event.prev_hash != previous_hash:
            return checked, ChainBreak(event.pk, event.seq, "does not follow the event before it")
        if event_hash(event) != event.hash:
            return checked, ChainBreak(event.pk, event.seq, "content does not match its hash")
        previous_hash, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.seq, head.hash) != (last_seq, previous_hash):
        return checked, ChainBreak(
            None, head.seq, f"the newest events after #{last_seq} are missing"
        )
    return checked, None


def _create_head() -> None:
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(pk=1, seq=0, hash=GENESIS)
    except IntegrityError:
        pass  # another writer created it first


def _normalised_ip(ip: str) -> str | None:
    try:
        return ipaddress.ip_address(ip).compressed if ip else None
    except ValueError:
        return None


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
