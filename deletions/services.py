"""The deletion workflow: request, approve, reject, cancel, expire, execute.

Deleting on Vono cannot be undone, so every rule is enforced here, not in the views: four
eyes, a typed confirmation, a recent sign-in, a fresh count that must match what was asked,
and execution exactly once per recording, by explicit ids, never inside a web request.
Every transition writes its audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.stepup import needs_step_up
from audio import services as audio_services
from audit import chain
from audit import services as audit
from audit.models import AuditEvent
from deletions.models import DeletionItem, DeletionRequest
from index import selectors as index_selectors
from index import services as index_services
from recordings import access, listing, vono
from recordings.listing import ListSearch
from recordings.models import User
from recordings.redaction import upstream_text
from recordings.scope import Scope
from retention import holds as legal_holds
from retention import proof as retention_proof

logger = logging.getLogger(__name__)
Status = DeletionRequest.Status
Outcome = DeletionItem.Outcome
Action = audit.Action
SNAPSHOT_ROWS = 10


class DeletionError(Exception):
    """A rule refused the action; the message is for the person who tried."""

    code = "refused"


class NotAllowed(DeletionError):
    code = "not_allowed"


class FourEyes(DeletionError):
    code = "four_eyes"


class ConfirmationMismatch(DeletionError):
    code = "confirmation"


class StepUpRequired(DeletionError):
    code = "step_up"


class CountChanged(DeletionError):
    code = "count_changed"


class Expired(DeletionError):
    code = "expired"


class WrongState(DeletionError):
    code = "state"


class Held(NotAllowed):
    """Some of the recordings are under a legal hold: nothing may delete them."""

    code = "held"


class AlreadyPending(DeletionError):
    """The same recordings already wait in another pending request (``existing``)."""

    code = "duplicate"

    def __init__(self, message: str, existing: DeletionRequest) -> None:
        super().__init__(message)
        self.existing = existing


# --- asking ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preview:
    """What a request would delete, as shown on the confirmation page and kept as snapshot."""

    count: int
    total_size: int | None
    total_time: int
    rows: list[dict[str, Any]]

    def as_snapshot(self) -> dict[str, Any]:
        return asdict(self)


def _row(recording: vono.Recording) -> dict[str, Any]:
    return {
        "record_id": recording.record_id,
        "calldate": recording.calldate.isoformat(),
        "source": recording.source,
        "destination": recording.destination,
        "duration": recording.duration,
        "size": recording.size,
        "size_text": recording.size_text,
        "customer_id": recording.customer_id,
    }


def preview_ids(*, user: User, ids: Iterable[int]) -> Preview:
    """The recordings chosen by id, each looked up within the user's scope.

    An id the user cannot see raises NotAllowed: nobody asks to delete what they cannot see.
    For a user limited to extensions, that is decided by the index before any upstream call.
    """
    wanted = sorted(set(ids))
    scope = access.scope_of(user)
    if scope.extensions is not None:
        visible = index_selectors.visible_ids(scope, wanted)
        hidden = [i for i in wanted if i not in visible]
        if hidden:
            raise NotAllowed(
                _("A gravação %(id)s não existe ou não é visível para você.") % {"id": hidden[0]}
            )
    found = index_selectors.recordings_by_id(wanted, customer_id=scope.customer_id)
    for record_id in wanted:
        if record_id not in found:
            raise NotAllowed(
                _("A gravação %(id)s não existe ou não é visível para você.") % {"id": record_id}
            )
    recordings = [found[i] for i in wanted]
    if not recordings:
        raise NotAllowed(_("Escolha ao menos uma gravação."))
    sizes = [r.size for r in recordings]
    return Preview(
        count=len(recordings),
        total_size=None if None in sizes else sum(s for s in sizes if s is not None),
        total_time=sum(r.duration for r in recordings),
        rows=[_row(r) for r in recordings[:SNAPSHOT_ROWS]],
    )


def preview_filter(*, filters: vono.RecordingFilter) -> Preview:
    """Everything a (scoped) filter matches, counted by the upstream."""
    page = vono.get_client().list_window(filters, start=0, count=SNAPSHOT_ROWS)
    if not page.total_records:
        raise NotAllowed(_("Nenhuma gravação corresponde a este filtro."))
    return Preview(
        count=page.total_records,
        total_size=page.total_size,
        total_time=page.total_time,
        rows=[_row(r) for r in page.recordings],
    )


def preview_search(*, user: User, search: ListSearch) -> tuple[Preview, list[int]]:
    """A filter only the index can answer (a number, an extension, durations), resolved now to
    explicit ids: the upstream cannot delete by number. Each id is then checked against the
    upstream (one batched look-up, not a call per id); an id it no longer holds is left out.

    Refused while the index does not hold the whole window: "all of this filter" would
    silently miss the days not indexed yet.
    """
    scope = access.scope_of(user)
    plan = listing.plan(search, scope)
    if plan.partial:
        raise NotAllowed(
            _(
                "O índice ainda não cobre todo este período, e o Vono não sabe buscar por "
                "número, ramal ou duração: escolha um período já indexado ou espere a "
                "sincronização terminar."
            )
        )
    wanted = listing.matching_ids(search, scope=scope)
    # Batched by the index's windows of time (index.selectors.recordings_by_id), as for any
    # request by ids: about one list call per cluster of calls, not one per id.
    found = index_selectors.recordings_by_id(wanted, customer_id=scope.customer_id)
    recordings = [found[i] for i in wanted if i in found]  # in the list's order
    if not recordings:
        raise NotAllowed(_("Nenhuma gravação corresponde a este filtro."))
    sizes = [r.size for r in recordings]
    preview = Preview(
        count=len(recordings),
        total_size=None if None in sizes else sum(s for s in sizes if s is not None),
        total_time=sum(r.duration for r in recordings),
        rows=[_row(r) for r in recordings[:SNAPSHOT_ROWS]],
    )
    return preview, sorted(r.record_id for r in recordings)


@transaction.atomic
def deletion_request_create(
    *,
    actor: User,
    reason: str,
    ids: Iterable[int] | None = None,
    filters: vono.RecordingFilter | None = None,
    search: ListSearch | None = None,
    request: HttpRequest | None = None,
) -> DeletionRequest:
    """Ask for a deletion, by chosen ids or by a filter; the preview becomes the snapshot.

    A ``search`` only the index can answer becomes explicit ids here (``preview_search``);
    the request keeps the search beside them, to say where the ids came from.
    """
    if not actor.has_perm("recordings.request_deletion"):
        raise NotAllowed(_("Você não pode pedir exclusões."))
    reason = reason.strip()
    if not reason:
        raise NotAllowed(_("Informe o motivo da exclusão."))
    scope = access.scope_of(actor)
    if search is None and filters is not None and not listing.upstream_can_scope(scope):
        # A team's "all of this filter": the upstream would delete every extension's calls.
        search, filters = ListSearch(filters=filters), None
    by_index = search is not None and listing.needs_index(search, scope)
    if filters is None and search is not None and not by_index:
        filters = search.filters  # the upstream can count and list it itself
    filter_json: dict[str, Any]
    if ids is not None:
        id_list = sorted({int(i) for i in ids})
        preview = preview_ids(user=actor, ids=id_list)
        kind, filter_json = DeletionRequest.Kind.IDS, {"ids": id_list}
    elif search is not None and by_index:
        preview, id_list = preview_search(user=actor, search=search)
        filter_json = {"ids": id_list, "search": search.as_json()}
        kind = DeletionRequest.Kind.IDS
    elif filters is not None:
        if scope.customer_id is not None:
            filters = replace(filters, customer_id=scope.customer_id)
        preview = preview_filter(filters=filters)
        kind, filter_json = DeletionRequest.Kind.FILTER, filters.as_json()
    else:
        raise NotAllowed(_("Escolha gravações ou um filtro."))
    refuse_held(ids=filter_json.get("ids"), filters=filters)
    # One request at a time per person (a double click or a replayed POST waits here), and
    # never a second pending request for the same recordings.
    User.objects.select_for_update().filter(pk=actor.pk).exists()
    existing = (
        DeletionRequest.objects.filter(
            status=Status.PENDING,
            kind=kind,
            customer_id=scope.customer_id,
            extensions=scope.extensions_text,
            filters=filter_json,
            expires_at__gt=timezone.now(),
        )
        .order_by("requested_at")
        .first()
    )
    if existing is not None:
        raise AlreadyPending(
            _("Já existe um pedido aguardando aprovação para estas gravações: #%(pk)s.")
            % {"pk": existing.pk},
            existing,
        )
    now = timezone.now()
    deletion = DeletionRequest.objects.create(
        kind=kind,
        requested_by=actor,
        requested_at=now,
        reason=reason,
        customer_id=scope.customer_id,
        extensions=scope.extensions_text,
        filters=filter_json,
        snapshot=preview.as_snapshot(),
        expires_at=now + dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS),
    )
    audit.record_event(
        action=Action.DELETION_REQUESTED,
        request=request,
        actor=actor,
        record_ids=filter_json.get("ids", []),
        customer_id=scope.customer_id,
        details={
            "request": deletion.pk,
            "kind": kind,
            "extensions": scope.extensions_text,
            "count": preview.count,
            "reason": reason,
            "filters": filter_json,
        },
    )
    return deletion


def refuse_held(*, ids: list[int] | None, filters: vono.RecordingFilter | None) -> None:
    """Raise Held when a request would include a recording a legal hold covers, naming the
    recordings and the holds. By ids: judged on Vono's data; by filter: on the index (the
    worker judges every id again on Vono's data before deleting)."""
    holds = legal_holds.holds_in_force()
    if not holds:
        return
    if ids is not None:
        found = index_selectors.recordings_by_id(ids, customer_id=None)
        held = [
            (h.record_id, h.hold_id) for h in legal_holds.held_among(found.values(), holds=holds)
        ]
    else:
        assert filters is not None
        held = legal_holds.held_in_index(filters=filters, holds=holds)
    if held:
        shown = ", ".join(f"{record_id} (#{hold_id})" for record_id, hold_id in held[:20])
        raise Held(
            _(
                "Sob retenção legal, estas gravações não podem ser excluídas: %(ids)s. "
                "Retire-as do pedido ou peça a liberação da retenção."
            )
            % {"ids": shown + (" …" if len(held) > 20 else "")}
        )


# --- deciding -----------------------------------------------------------------------------------


def _locked(deletion_id: int) -> DeletionRequest:
    return DeletionRequest.objects.select_for_update().get(pk=deletion_id)


def _move(deletion: DeletionRequest, status: str, **fields: Any) -> None:
    """Change status only along a legal transition (the database checks it too)."""
    if (deletion.status, status) not in DeletionRequest.TRANSITIONS:
        raise WrongState(
            _("Na situação atual (%(status)s), este pedido não pode mudar assim.")
            % {"status": deletion.get_status_display()}
        )
    deletion.status = status
    for name, value in fields.items():
        setattr(deletion, name, value)
    deletion.save(update_fields=["status", *fields])


def _expire_if_due(deletion: DeletionRequest, request: HttpRequest | None) -> bool:
    if deletion.status == Status.PENDING and timezone.now() >= deletion.expires_at:
        _move(deletion, Status.EXPIRED, decided_at=timezone.now())
        audit.record_event(
            action=Action.DELETION_EXPIRED,
            request=request,
            customer_id=deletion.customer_id,
            details={"request": deletion.pk},
        )
        return True
    return False


def _expire_first(deletion_id: int, request: HttpRequest | None) -> None:
    """Expire the request if its time is up, committed on its own, then refuse."""
    with transaction.atomic():
        expired = _expire_if_due(_locked(deletion_id), request)
    if expired:
        raise Expired(_("Este pedido expirou sem aprovação: peça de novo."))


def deletion_requests_expire_due() -> int:
    """Expire every pending request past its deadline; how many were expired."""
    expired = 0
    due = DeletionRequest.objects.filter(status=Status.PENDING, expires_at__lte=timezone.now())
    for deletion_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            if _expire_if_due(_locked(deletion_id), None):
                expired += 1
    return expired


def _fresh_ids(deletion: DeletionRequest) -> list[int]:
    """The ids that would be deleted now, asked of the upstream now."""
    client = vono.get_client()
    if deletion.kind == DeletionRequest.Kind.IDS:
        ids = deletion.filters["ids"]
        found = index_selectors.recordings_by_id(ids, customer_id=deletion.customer_id)
        return [record_id for record_id in ids if record_id in found]
    filters = vono.RecordingFilter.from_json(deletion.filters)
    return [
        r.record_id for r in client.iter_recordings(filters, page_size=settings.VONO_PAGE_LIMIT)
    ]


def fresh_count(deletion: DeletionRequest) -> int:
    """How many of the request's recordings the upstream holds right now."""
    if deletion.kind == DeletionRequest.Kind.FILTER:
        filters = vono.RecordingFilter.from_json(deletion.filters)
        return vono.get_client().list_recordings(filters, limit=1).total_records
    return len(_fresh_ids(deletion))


def deletion_request_approve(
    *,
    deletion_id: int,
    actor: User,
    typed_count: str,
    password: str = "",
    auth_age_seconds: float | None,
    request: HttpRequest | None = None,
) -> DeletionRequest:
    """Approve a pending request and queue its execution.

    Refused unless: the approver may approve and is not the requester; types the number of
    recordings; signed in within the last minutes (or re-enters the password); and the
    upstream still holds exactly the snapshot's count. A filter becomes explicit ids here.
    """
    from deletions.tasks import execute_deletion

    if not actor.has_perm("recordings.approve_deletion"):
        raise NotAllowed(_("Você não pode aprovar exclusões."))
    _expire_first(deletion_id, request)
    # Ask the upstream before taking any lock: the check can take seconds.
    with transaction.atomic():
        deletion = _locked(deletion_id)
        _check_can_decide(deletion, actor)
        if "".join(ch for ch in typed_count if ch.isdigit()) != str(deletion.count):
            raise ConfirmationMismatch(
                _("Digite o número de gravações (%(count)s) para confirmar.")
                % {"count": deletion.count}
            )
        if needs_step_up(auth_age_seconds) and not (password and actor.check_password(password)):
            raise StepUpRequired(
                _("Você entrou há mais de %(minutes)s minutos: confirme sua senha.")
                % {"minutes": settings.DELETION_STEP_UP_MINUTES}
            )
    # The decision rests on the upstream as the check found it: it is dated when the check
    # began, and what other requests delete after that moment is theirs to do (see _take).
    checked_at = timezone.now()
    ids = _fresh_ids(deletion)
    with transaction.atomic():
        deletion = _locked(deletion_id)
        _check_can_decide(deletion, actor)
        if len(ids) != deletion.count:
            # Nobody decided this: the upstream changed under the request.
            _move(deletion, Status.STALE, decided_at=checked_at, fresh_count=len(ids))
            audit.record_event(
                action=Action.DELETION_STALE,
                request=request,
                actor=actor,
                customer_id=deletion.customer_id,
                outcome="count_changed",
                details={"request": deletion.pk, "snapshot": deletion.count, "fresh": len(ids)},
            )
            error: DeletionError | None = CountChanged(
                _(
                    "O Vono tem agora %(fresh)s gravações para este pedido, e o pedido tinha "
                    "%(count)s. Nada foi excluído: peça de novo."
                )
                % {"fresh": len(ids), "count": deletion.count}
            )
        else:
            error = None
            _move(deletion, Status.APPROVED, decided_by=actor, decided_at=checked_at)
            DeletionItem.objects.bulk_create(
                [DeletionItem(request=deletion, record_id=i) for i in ids]
            )
            audit.record_event(
                action=Action.DELETION_APPROVED,
                request=request,
                actor=actor,
                record_ids=ids,
                customer_id=deletion.customer_id,
                details={"request": deletion.pk, "count": len(ids)},
            )
            # The task is a row in the same database, written in this transaction: approved
            # and queued, or neither.
            execute_deletion.enqueue(deletion.pk)
    if error is not None:
        raise error
    return deletion


@transaction.atomic
def deletion_request_for_retention(
    *,
    policy_id: int,
    requested_by_id: int,
    decided_by_id: int,
    customer_id: int | None,
    days: int,
    ids: list[int],
    snapshot: dict[str, Any],
) -> DeletionRequest:
    """A retention policy's run: a request approved by the policy's approval, queued.

    Nobody decides the run itself; it names the policy's requester and approver, and the
    worker deletes only what the policy's authentic approval covers (retention.proof).
    The audit event says a run was queued; it is no one's approval.
    """
    from deletions.tasks import execute_deletion

    now = timezone.now()
    deletion = DeletionRequest.objects.create(
        kind=DeletionRequest.Kind.RETENTION,
        status=Status.APPROVED,
        requested_by_id=requested_by_id,
        requested_at=now,
        reason=f"retention policy #{policy_id}: keep {days} days",
        customer_id=customer_id,
        filters={"policy": policy_id, "days": days},
        snapshot=snapshot,
        expires_at=now,
        decided_by_id=decided_by_id,
        decided_at=now,
    )
    DeletionItem.objects.bulk_create([DeletionItem(request=deletion, record_id=i) for i in ids])
    audit.record_event(
        action=Action.RETENTION_RUN,
        customer_id=customer_id,
        record_ids=ids,
        details={"policy": policy_id, "request": deletion.pk, "count": len(ids), "days": days},
    )
    execute_deletion.enqueue(deletion.pk)
    return deletion


def _check_can_decide(deletion: DeletionRequest, actor: User) -> None:
    """Raise unless ``actor`` may approve or reject ``deletion`` now (four eyes, scope)."""
    if not actor.has_perm("recordings.approve_deletion"):
        raise NotAllowed(_("Você não pode aprovar nem rejeitar exclusões."))
    if deletion.status == Status.PENDING and timezone.now() >= deletion.expires_at:
        raise Expired(_("Este pedido expirou sem aprovação: peça de novo."))
    if deletion.status != Status.PENDING:
        raise WrongState(
            _("Este pedido não aguarda mais decisão (situação: %(status)s).")
            % {"status": deletion.get_status_display()}
        )
    if deletion.requested_by_id == actor.pk:
        raise FourEyes(
            _("Quem pede uma exclusão não pode aprová-la: outra pessoa precisa aprovar.")
        )
    _check_scope(deletion, actor)
    if not _requested_as_the_row_says(deletion) or audit.decided_in_the_log(
        actions=_DECISIONS, about=("request", deletion.pk)
    ):
        raise NotAllowed(
            _("O registro de auditoria não mostra este pedido como está: nada foi aprovado.")
        )


def _requested_as_the_row_says(deletion: DeletionRequest) -> bool:
    """Whether an authentic ``deletion_requested`` event shows the person the row names
    asking for exactly these recordings (the worker would believe the authentic approval
    event an approval of a forged row makes)."""
    return audit.asked_as_stated(
        action=Action.DELETION_REQUESTED,
        about=("request", deletion.pk),
        actor_id=deletion.requested_by_id,
        details={"kind": deletion.kind, "filters": deletion.filters, "count": deletion.count},
        customer_id=deletion.customer_id,
    )


_DECISIONS = [
    Action.DELETION_APPROVED,
    Action.DELETION_REJECTED,
    Action.DELETION_CANCELLED,
    Action.DELETION_EXPIRED,
    Action.DELETION_STALE,
]


def _check_scope(deletion: DeletionRequest, actor: User) -> None:
    scope = access.scope_of(actor)
    if scope.customer_id is not None and deletion.customer_id != scope.customer_id:
        raise NotAllowed(_("Este pedido é de outro assinante."))
    if not scope.covers(Scope.of(deletion.customer_id, deletion.extensions)):
        raise NotAllowed(_("Este pedido tem gravações fora dos seus ramais."))


def _check_can_retry(deletion: DeletionRequest, actor: User) -> None:
    """Only a run that ended short, or one whose worker died, runs again; never a pending one."""
    if not actor.has_perm("recordings.approve_deletion"):
        raise NotAllowed(_("Você não pode executar exclusões."))
    _check_scope(deletion, actor)
    if deletion.status == Status.RUNNING and not is_stuck(deletion):
        raise WrongState(_("Esta exclusão está em andamento."))
    if deletion.status not in (Status.PARTIAL, Status.FAILED, Status.RUNNING):
        raise WrongState(
            _("Só uma exclusão concluída em parte ou que falhou pode ser executada de novo.")
        )
    if deletion.requested_by_id == actor.pk:
        raise FourEyes(_("Quem pediu a exclusão não pode executá-la de novo."))


def _check_can_cancel(deletion: DeletionRequest, actor: User) -> None:
    if deletion.requested_by_id != actor.pk:
        raise NotAllowed(_("Só quem pediu pode cancelar o pedido."))
    if deletion.status != Status.PENDING:
        raise WrongState(
            _("Este pedido não aguarda mais decisão (situação: %(status)s).")
            % {"status": deletion.get_status_display()}
        )


def _allowed(check: Callable[[DeletionRequest, User], None]) -> Callable[..., bool]:
    def allowed(deletion: DeletionRequest, actor: User) -> bool:
        try:
            check(deletion, actor)
        except DeletionError:
            return False
        return True

    return allowed


can_decide = _allowed(_check_can_decide)
can_decide.__doc__ = "Whether ``actor`` may approve or reject ``deletion`` now."
can_retry = _allowed(_check_can_retry)
can_retry.__doc__ = "Whether ``actor`` may run ``deletion`` again now."
can_cancel = _allowed(_check_can_cancel)
can_cancel.__doc__ = "Whether ``actor`` may withdraw ``deletion`` now."


def deletion_request_reject(
    *, deletion_id: int, actor: User, reason: str, request: HttpRequest | None = None
) -> DeletionRequest:
    """An approver turns a pending request down, saying why."""
    if not actor.has_perm("recordings.approve_deletion"):
        raise NotAllowed(_("Você não pode rejeitar exclusões."))
    if not reason.strip():
        raise NotAllowed(_("Informe por que o pedido foi rejeitado."))
    _expire_first(deletion_id, request)
    with transaction.atomic():
        return _reject(deletion_id, actor, reason, request)


def _reject(
    deletion_id: int, actor: User, reason: str, request: HttpRequest | None
) -> DeletionRequest:
    deletion = _locked(deletion_id)
    _check_can_decide(deletion, actor)
    _move(
        deletion,
        Status.REJECTED,
        decided_by=actor,
        decided_at=timezone.now(),
        decision_note=reason.strip(),
    )
    audit.record_event(
        action=Action.DELETION_REJECTED,
        request=request,
        actor=actor,
        customer_id=deletion.customer_id,
        details={"request": deletion.pk, "reason": reason.strip()},
    )
    return deletion


def deletion_request_cancel(
    *, deletion_id: int, actor: User, request: HttpRequest | None = None
) -> DeletionRequest:
    """The requester withdraws a request that is still pending."""
    _check_can_cancel(DeletionRequest.objects.get(pk=deletion_id), actor)
    _expire_first(deletion_id, request)
    with transaction.atomic():
        return _cancel(deletion_id, actor, request)


def _cancel(deletion_id: int, actor: User, request: HttpRequest | None) -> DeletionRequest:
    deletion = _locked(deletion_id)
    _check_can_cancel(deletion, actor)
    _move(deletion, Status.CANCELLED, decided_by=actor, decided_at=timezone.now())
    audit.record_event(
        action=Action.DELETION_CANCELLED,
        request=request,
        actor=actor,
        customer_id=deletion.customer_id,
        details={"request": deletion.pk},
    )
    return deletion


@transaction.atomic
def deletion_request_retry(
    *, deletion_id: int, actor: User, request: HttpRequest | None = None
) -> DeletionRequest:
    """Queue a partial, failed or stuck request again: it deletes only what remains.

    It never widens what was approved: the items were fixed at approval, and a pending
    request can only be approved, never retried into running.
    """
    from deletions.tasks import execute_deletion

    deletion = _locked(deletion_id)
    _check_can_retry(deletion, actor)
    _move(deletion, Status.APPROVED)
    audit.record_event(
        action=Action.DELETION_RETRIED,
        request=request,
        actor=actor,
        customer_id=deletion.customer_id,
        details={"request": deletion.pk, "run": deletion.runs + 1},
    )
    execute_deletion.enqueue(deletion.pk)
    return deletion


def is_stuck(deletion: DeletionRequest) -> bool:
    """Running for longer than any run takes: its worker died, and it may be resumed."""
    limit = dt.timedelta(minutes=settings.DELETION_STUCK_MINUTES)
    return bool(
        deletion.status == Status.RUNNING
        and deletion.started_at
        and timezone.now() - deletion.started_at > limit
    )


# --- executing -----------------------------------------------------------------------------------


def unproven_approval(deletion: DeletionRequest) -> str | None:
    """Why the audit log does not prove ``deletion``'s approval, or None when it does.

    Someone who can write to the database but does not hold AUDIT_HMAC_KEY could insert a
    request already approved "by" a colleague, its items and a task, and the worker would
    delete. What they cannot make is the keyed approval event: by the approver the request
    names, who is not its requester, for the same subscriber, covering every item.
    """
    if deletion.kind == DeletionRequest.Kind.RETENTION:
        # No person approved the run: its policy's approval stands for it (retention.proof).
        return retention_proof.unproven_run(
            policy_id=int(deletion.filters.get("policy", 0)),
            customer_id=deletion.customer_id,
            requested_by=deletion.requested_by_id,
            decided_by=deletion.decided_by_id,
        )
    item_ids = set(deletion.items.values_list("record_id", flat=True))
    approvals = AuditEvent.objects.filter(
        action=Action.DELETION_APPROVED, details__request=deletion.pk
    )
    for event in approvals:
        if event.key_id == chain.LEGACY_KEY_ID:
            continue  # plain SHA-256: anyone can compute it
        try:
            authentic = hmac.compare_digest(chain.event_mac(event), event.hash)
        except chain.UnknownKey:
            continue
        if (
            authentic
            and event.actor_id is not None
            and event.actor_id == deletion.decided_by_id
            and event.actor_id != deletion.requested_by_id
            and event.customer_id == deletion.customer_id
            and item_ids <= set(event.record_ids)
        ):
            return None
    return "no authentic approval event for this request in the audit log"


def _claim(deletion_id: int) -> bool:
    """Take an approved request for execution; only one of many concurrent claimers wins.

    A conditional UPDATE: the database lets exactly one change approved to running. A request
    whose approval the audit log does not prove is never run.
    """
    deletion = DeletionRequest.objects.filter(pk=deletion_id, status=Status.APPROVED).first()
    why = unproven_approval(deletion) if deletion is not None else None
    if deletion is not None and why is not None:
        logger.error("deletion request #%s not run: %s", deletion_id, why)
        with transaction.atomic():
            audit.record_event(
                action=Action.ACCESS_DENIED,
                customer_id=deletion.customer_id,
                outcome="refused",
                details={"request": deletion_id, "why": why},
            )
        return False
    with transaction.atomic():
        won = DeletionRequest.objects.filter(pk=deletion_id, status=Status.APPROVED).update(
            status=Status.RUNNING,
            started_at=timezone.now(),
            finished_at=None,
            runs=F("runs") + 1,
        )
        if won:
            deletion = DeletionRequest.objects.get(pk=deletion_id)
            audit.record_event(
                action=Action.DELETION_STARTED,
                customer_id=deletion.customer_id,
                details={"request": deletion_id, "run": deletion.runs},
            )
    return bool(won)


def _set(items: Iterable[int], deletion_id: int, outcome: str, detail: str = "") -> None:
    DeletionItem.objects.filter(request_id=deletion_id, record_id__in=list(items)).update(
        # Details quote Vono's words: sanitised at the client already, and again at the door.
        outcome=outcome,
        detail=upstream_text(detail, limit=300),
        updated_at=timezone.now(),
    )


def _settle_unknown(deletion: DeletionRequest, client: vono.VonoClient) -> None:
    """Before a new run, look up every id whose DELETE had no answer: gone or still there."""
    doubtful = list(
        deletion.items.filter(outcome__in=[Outcome.UNKNOWN, Outcome.SENDING]).values_list(
            "record_id", flat=True
        )
    )
    if not doubtful:
        return
    try:
        found = index_selectors.recordings_by_id(doubtful, customer_id=deletion.customer_id)
    except vono.VonoError as exc:
        _set(doubtful, deletion.pk, Outcome.UNKNOWN, f"could not check: {exc}")
        return
    gone = [i for i in doubtful if i not in found]
    _set(gone, deletion.pk, Outcome.DELETED, "confirmed gone by a list call")
    _set(found, deletion.pk, Outcome.PENDING, "still there after an unknown DELETE")


def deletion_request_execute(*, deletion_id: int) -> str | None:
    """Delete a request's recordings by explicit ids, in chunks, recording each outcome.

    Runs in the worker. Returns the final status, or None when another worker holds it.
    A DELETE is never repeated automatically: a time-out leaves its ids ``unknown`` until a
    later run checks them with a list call.
    """
    if not _claim(deletion_id):
        return None
    deletion = DeletionRequest.objects.get(pk=deletion_id)
    client = vono.get_client()
    _settle_unknown(deletion, client)
    todo = list(
        deletion.items.filter(outcome__in=[Outcome.PENDING, Outcome.FAILED]).values_list(
            "record_id", flat=True
        )
    )
    size = settings.DELETION_CHUNK_SIZE
    waiting: list[int] = []
    for start in range(0, len(todo), size):
        # Holds are checked again right before each chunk's DELETE: a hold placed while a
        # long run goes on stops every DELETE not yet sent.
        chunk, busy = _take(deletion, todo[start : start + size])
        waiting += busy
        _delete_chunk(deletion, _screen(deletion, chunk, client), client)
    # Recordings another request was deleting at that moment: its answer decides.
    deadline = time.monotonic() + sum(client.timeout) + 5
    while waiting:
        time.sleep(0.2)
        if time.monotonic() > deadline:
            _set(waiting, deletion_id, Outcome.UNKNOWN, "another request was still deleting it")
            break
        chunk, waiting = _take(deletion, waiting)
        _delete_chunk(deletion, _screen(deletion, chunk, client), client)
    index_services.recordings_mark_deleted(
        record_ids=deletion.items.filter(outcome__in=[Outcome.DELETED, Outcome.ABSENT]).values_list(
            "record_id", flat=True
        )
    )
    access.forget_recordings(todo, [None, deletion.customer_id])
    return _finish(deletion_id)


def _screen(deletion: DeletionRequest, todo: list[int], client: vono.VonoClient) -> list[int]:
    """What of ``todo`` may go now: a legal hold's recordings stay (outcome ``held``), and
    a retention run deletes only what its approved policy covers. Both are judged on the
    recordings as Vono describes them now."""
    holds = legal_holds.holds_in_force(strict=True)
    retention = deletion.kind == DeletionRequest.Kind.RETENTION
    if not todo or not (holds or retention):
        return todo
    try:
        found = index_selectors.recordings_by_id(todo, customer_id=deletion.customer_id)
    except vono.VonoError as exc:
        _set(todo, deletion.pk, Outcome.FAILED, f"could not check legal holds: {exc}")
        return []
    held = legal_holds.held_among(found.values(), holds=holds)
    for hold_id in sorted({h.hold_id for h in held}):
        ids = [h.record_id for h in held if h.hold_id == hold_id]
        _set(ids, deletion.pk, Outcome.HELD, f"legal hold #{hold_id}")
    refused: list[int] = []
    absent: list[int] = []
    if retention:
        # Nothing proves a policy covers what Vono does not show in the run's scope: no DELETE.
        absent = [i for i in todo if i not in found]
        _set(absent, deletion.pk, Outcome.ABSENT, "not on Vono in this scope when checked")
        screened = [r for r in found.values() if r.record_id not in {h.record_id for h in held}]
        refused = retention_proof.outside_terms(
            customer_id=deletion.customer_id, recordings=screened
        )
        _set(refused, deletion.pk, Outcome.FAILED, "not covered by the approved retention policy")
    if held or refused:
        with transaction.atomic():
            audit.record_event(
                action=Action.HOLD_BLOCKED if held else Action.ACCESS_DENIED,
                customer_id=deletion.customer_id,
                record_ids=[h.record_id for h in held] + refused,
                outcome="refused",
                details={
                    "request": deletion.pk,
                    "held": {str(h.record_id): h.hold_id for h in held},
                    "outside_policy": refused,
                },
            )
    skipped = {h.record_id for h in held} | set(refused) | set(absent)
    return [i for i in todo if i not in skipped]


def _take(deletion: DeletionRequest, chunk: list[int]) -> tuple[list[int], list[int]]:
    """Mark ``chunk``'s recordings as being deleted by this request: exactly one DELETE per
    recording, however many requests name it and however many workers run them.

    Every item naming these recordings, in any request, is locked (in one order, so two
    workers cannot deadlock). A DELETE another request has in flight is waited for. What it
    did since this one's approval checked the upstream is concurrent work: a recording it
    deleted is absent here, one whose DELETE had no answer there is unknown here too (a later
    run looks it up). Older outcomes are history the check already saw past: the recording
    was still there after them. Returns the ids to DELETE now, and those another request is
    sending right now (to ask about again shortly).
    """
    since = deletion.decided_at
    with transaction.atomic():
        elsewhere: dict[int, tuple[int, str]] = {}
        for request_id, record_id, outcome, updated_at in (
            DeletionItem.objects.select_for_update()
            .filter(record_id__in=chunk)
            .order_by("pk")
            .values_list("request_id", "record_id", "outcome", "updated_at")
        ):
            if (
                request_id != deletion.pk
                and outcome not in (Outcome.PENDING, Outcome.FAILED, Outcome.HELD)
                and (outcome == Outcome.SENDING or since is None or updated_at >= since)
            ):
                elsewhere[record_id] = (request_id, outcome)
        mine = [i for i in chunk if i not in elsewhere]
        busy = [i for i in chunk if elsewhere.get(i, (0, ""))[1] == Outcome.SENDING]
        for record_id, (request_id, outcome) in elsewhere.items():
            if outcome in (Outcome.DELETED, Outcome.ABSENT):
                _set([record_id], deletion.pk, Outcome.ABSENT, f"deleted by request #{request_id}")
            elif outcome == Outcome.UNKNOWN:
                _set(
                    [record_id],
                    deletion.pk,
                    Outcome.UNKNOWN,
                    f"request #{request_id} sent its DELETE and had no answer",
                )
        _set(mine, deletion.pk, Outcome.SENDING)
    return mine, busy


def _delete_chunk(deletion: DeletionRequest, chunk: list[int], client: vono.VonoClient) -> None:
    """One DELETE for recordings already marked as sending, and what came of it."""
    if not chunk:
        return
    try:
        result = client.delete_ids(chunk, customer_id=deletion.customer_id)
    except vono.VonoOutcomeUnknown as exc:
        _set(chunk, deletion.pk, Outcome.UNKNOWN, str(exc))
        return
    except vono.VonoError as exc:
        _set(chunk, deletion.pk, Outcome.FAILED, str(exc))
        return
    finally:
        audio_services.forget_recordings(chunk)  # cached bytes go with the DELETE
    _record_result(deletion, chunk, result, client)


def _record_result(
    deletion: DeletionRequest, chunk: list[int], result: vono.DeleteResult, client: vono.VonoClient
) -> None:
    if result.ids is not None:
        deleted = set(result.ids) & set(chunk)
        _set(deleted, deletion.pk, Outcome.DELETED)
        rest = [i for i in chunk if i not in deleted]
    elif result.deleted == len(chunk):
        _set(chunk, deletion.pk, Outcome.DELETED)
        return
    else:
        rest = chunk
    # Vono did not say these went: ask whether they are still there.
    for record_id in rest:
        try:
            client.get_recording(record_id, customer_id=deletion.customer_id)
        except vono.VonoNotFound:
            _set(
                [record_id],
                deletion.pk,
                Outcome.ABSENT if result.ids is not None else Outcome.DELETED,
                "not on Vono after the DELETE",
            )
            continue
        except vono.VonoError as exc:
            _set([record_id], deletion.pk, Outcome.UNKNOWN, f"could not check: {exc}")
            continue
        _set(
            [record_id],
            deletion.pk,
            Outcome.FAILED,
            f"still on Vono after the DELETE ({result.reason or 'no reason given'})",
        )


def _finish(deletion_id: int) -> str:
    with transaction.atomic():
        deletion = _locked(deletion_id)
        outcomes = _outcome_counts(deletion)
        gone = outcomes.get(Outcome.DELETED, 0) + outcomes.get(Outcome.ABSENT, 0)
        total = sum(outcomes.values())
        if gone == total:
            status = Status.DONE
        elif gone == 0:
            status = Status.FAILED
        else:
            status = Status.PARTIAL
        _move(deletion, status, finished_at=timezone.now())
        failed = list(
            deletion.items.exclude(outcome__in=[Outcome.DELETED, Outcome.ABSENT]).values_list(
                "record_id", "outcome", "detail"
            )
        )
        audit.record_event(
            action=Action.DELETION_FINISHED,
            customer_id=deletion.customer_id,
            record_ids=[
                i
                for i, o in deletion.items.values_list("record_id", "outcome")
                if o in (Outcome.DELETED, Outcome.ABSENT)
            ],
            outcome=status,
            details={
                "request": deletion_id,
                "outcomes": outcomes,
                "not_deleted": [{"id": i, "outcome": o, "detail": d} for i, o, d in failed[:100]],
            },
        )
    return status


def _outcome_counts(deletion: DeletionRequest) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in deletion.items.values_list("outcome", flat=True):
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
