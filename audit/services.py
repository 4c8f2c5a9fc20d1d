"""The one way to write the audit log."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit import chain
from audit.models import AuditChainHead, AuditEvent
from recordings import access
from recordings.models import User
from recordings.redaction import redact
from recordings.scope import ExtensionSet, Scope
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

    The actor defaults to the request's user, the subscriber to the actor's scope (so a
    scoped admin sees their colleagues' events). Every text is cleaned first: the Vono
    credentials masked, NUL bytes (which PostgreSQL refuses) dropped, lengths capped, so the
    event is never lost to what a client sent. Writers take the chain head's row lock in turn,
    so concurrent events are appended one after another and the chain never forks; a signed
    checkpoint is written once the transaction commits.
    """
    event = _event(action, request, actor, record_ids, customer_id, details, outcome)
    _append([event])
    return event


def record_events(
    *,
    action: str,
    entries: Iterable[tuple[Iterable[int], int | None, dict[str, Any]]],
    request: HttpRequest | None = None,
    actor: Any = None,
    outcome: str = "ok",
) -> list[AuditEvent]:
    """Append one event per entry (record ids, subscriber, details), all by the same actor
    and request, under one lock of the chain head and one insert: what ``record_event`` does
    for each, in the order given, at a fraction of the round trips (a ZIP of 500 files)."""
    events = [
        _event(action, request, actor, record_ids, customer_id, details, outcome)
        for record_ids, customer_id, details in entries
    ]
    _append(events)
    return events


def _event(
    action: str,
    request: HttpRequest | None,
    actor: Any,
    record_ids: Iterable[int],
    customer_id: int | None,
    details: dict[str, Any] | None,
    outcome: str,
) -> AuditEvent:
    """An event not yet in the chain, its texts cleaned (see ``record_event``)."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if customer_id is None:
        customer_id = getattr(actor, "customer_id", None)
    details = dict(details or {})
    if getattr(actor, "extensions", "") and "scope_extensions" not in details:
        # The actor's extension set when they acted: who may read the event follows it, not
        # the set they have later (``visible_events``).
        details["scope_extensions"] = actor.extensions
    ip = client_ip(request) if request is not None else ""
    return AuditEvent(
        created_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_username=_text(getattr(actor, "username", "") or "", 150),
        action=str(action),
        record_ids=sorted({int(i) for i in record_ids}),
        customer_id=customer_id,
        details=_masked(details),
        ip=_normalised_ip(ip),
        user_agent=_text(request.headers.get("User-Agent", ""), 300) if request else "",
        request_id=getattr(request, "request_id", "") if request is not None else "",
        outcome=_text(outcome, 32),
        key_id=chain.current_key_id(),
    )


def _append(events: list[AuditEvent]) -> None:
    """Chain ``events`` after the head, in order, in one transaction."""
    if not events:
        return
    with transaction.atomic():
        # The UPDATE takes the head row's lock (and SQLite's write lock) before the read.
        head = _lock_head()
        if head is None:
            _create_head()
            head = _lock_head()
        if head is None:
            raise RuntimeError("the audit chain's head row could not be created")
        seq, previous = head
        for event in events:
            seq += 1
            event.seq, event.prev_hash = seq, previous
            event.hash = previous = chain.event_mac(event)
        if len(events) == 1:
            events[0].save()
        else:
            AuditEvent.objects.bulk_create(events, batch_size=500)
        last = events[-1]
        AuditChainHead.objects.filter(pk=1).update(seq=last.seq, hash=last.hash)
        every = settings.AUDIT_CHECKPOINT_EVERY
        if last.seq // every > (events[0].seq - 1) // every:  # a multiple of every reached
            # The newest event's checkpoint vouches for the ones before it (each MAC covers
            # its predecessor's), so a batch signs once, at its end.
            signed_seq, signed_mac = last.seq, last.hash
            transaction.on_commit(lambda: chain.write_checkpoint(signed_seq, signed_mac))


_ANY = object()


def asked_as_stated(
    *,
    action: str,
    about: tuple[str, int],
    actor_id: int | None,
    details: dict[str, Any],
    customer_id: Any = _ANY,
) -> bool:
    """Whether an authentic (keyed) ``action`` event about ``about`` (a details key and
    the row's id) shows ``actor_id`` asking for exactly ``details`` (and, if given, for
    ``customer_id``). Approvals ask it of the row they approve: a row inserted or rewritten
    in the database (in a colleague's name, or asking for something else) has no such event,
    and its "approval" would be one person's."""
    key, pk = about
    for event in AuditEvent.objects.filter(action=action, **{f"details__{key}": pk}):
        if (
            event.actor_id == actor_id
            and all(event.details.get(name) == value for name, value in details.items())
            and (customer_id is _ANY or event.customer_id == customer_id)
            and chain.authentic(event)
        ):
            return True
    return False


def decided_in_the_log(*, actions: Iterable[str], about: tuple[str, int]) -> bool:
    """Whether the log already holds one of ``actions`` (decisions) about the row. A pending
    row with one was put back in the database (a refusal overruled by a third person); a
    decision event forged there only blocks, so any counts, keyed or not."""
    key, pk = about
    return AuditEvent.objects.filter(action__in=list(actions), **{f"details__{key}": pk}).exists()


def verify_chain(batch: int = 2000) -> chain.Verification:
    """Check the whole chain against its MACs and the signed checkpoints."""
    return chain.verify_chain(batch)


DELETION_ACTIONS = [a for a in Action.values if a.startswith("deletion_")]
ACCESS_ACTIONS = [
    Action.USER_CREATED,
    Action.USER_CHANGED,
    Action.PASSWORD_SET,
    Action.ACCESS_REQUESTED,
    Action.ACCESS_APPROVED,
    Action.ACCESS_REJECTED,
    Action.ACCESS_CANCELLED,
    Action.ACCESS_EXPIRED,
]


def visible_events(user: User) -> QuerySet[AuditEvent]:
    """The events a user may read: all of them, or, for a user limited to one subscriber,
    that subscriber's events and their own.

    A user limited to extensions reads, besides their own, only what concerns a set within
    theirs: the events of people who acted limited to such a set, the access changes of
    users who were limited to one, and every step of the deletion requests their scope
    covers. Each event carries the set as it was then, so moving someone between teams does
    not show one team's past to the other.
    """
    events = AuditEvent.objects.select_related("actor").order_by("-seq")
    scope = access.scope_of(user)
    if scope.unlimited:
        return events
    mine = Q(actor_id=user.pk)
    theirs = Q() if scope.customer_id is None else Q(customer_id=scope.customer_id)
    if scope.extensions is not None:
        theirs &= _within_extensions(scope)
    return events.filter(mine | theirs)


def _within_extensions(scope: Scope) -> Q:
    from deletions.models import DeletionRequest

    # Set arithmetic in Python over the few distinct sets there are (users' and requests').
    texts = set(User.objects.exclude(extensions="").values_list("extensions", flat=True))
    covered = sorted(t for t in texts if scope.covers(Scope(scope.customer_id, _set(t))))
    requests = [
        pk
        for pk, customer_id, text in DeletionRequest.objects.exclude(extensions="").values_list(
            "pk", "customer_id", "extensions"
        )
        if scope.covers(Scope.of(customer_id, text))
    ]
    return (
        Q(details__scope_extensions__in=covered)
        | Q(action__in=ACCESS_ACTIONS, details__target_extensions__in=covered)
        | Q(action__in=DELETION_ACTIONS, details__request__in=requests)
    )


def _set(text: str) -> ExtensionSet | None:
    return Scope.of(None, text).extensions


def _lock_head() -> tuple[int, str] | None:
    """The chain head's (seq, hash), its row locked until the transaction ends: one
    statement, where an UPDATE and a SELECT would be two round trips on every event."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET seq = seq WHERE id = 1 RETURNING seq, hash")  # noqa: S608
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _create_head() -> None:
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(pk=1, seq=0, hash=chain.GENESIS)
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


def _text(value: str, limit: int) -> str:
    return redact(value.replace("\x00", ""))[:limit]


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value.replace("\x00", ""))
    if isinstance(value, dict):
        return {_masked(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value
