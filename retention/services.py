"""Retention policies and legal holds: every rule, every state change, every audit event.

A policy ("keep N days") is asked by one person and approved by another, with the deletion
workflow's rules: a reason, never the requester's own approval, an expiry, a recent
password, and an audit event for each step. Once approved, the daily task hands what it
says to the deletion engine by explicit ids (deletions.services). A legal hold is placed at
once; lifting it takes a second person. Views ask ``can_*``; nothing else writes the models.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.stepup import needs_step_up
from audit import services as audit
from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionRequest
from index.models import IndexedRecording
from index.numbers import normalise
from recordings import access
from recordings.models import User
from retention import holds as legal_holds
from retention.models import LegalHold, RetentionPolicy, RetentionSchedule
from retention.proof import authentic

PERMISSION = "retention.manage_retention"
Action = audit.Action
PolicyStatus = RetentionPolicy.Status
HoldStatus = LegalHold.Status
PREVIEW_ROWS = 10
MAX_DAYS = 36_500
MAX_HOLD_IDS = 500


class RetentionError(Exception):
    """A rule refused the action; the message is for the person who tried."""


class NotAllowed(RetentionError):
    pass


class FourEyes(RetentionError):
    pass


class StepUpRequired(RetentionError):
    pass


class Expired(RetentionError):
    pass


class Stale(RetentionError):
    pass


class WrongState(RetentionError):
    pass


# --- reading ---------------------------------------------------------------------------------


def visible_policies(user: User) -> QuerySet[RetentionPolicy]:
    """Every policy for an unscoped manager; a scoped one sees their subscriber's."""
    policies = RetentionPolicy.objects.select_related("requested_by", "decided_by")
    if access.scope_of(user).extensions is not None:
        return policies.none()  # retention is subscriber-wide: beyond any team's extensions
    scope = _subscriber(user)
    return policies if scope is None else policies.filter(customer_id=scope)


def visible_holds(user: User) -> QuerySet[LegalHold]:
    holds = LegalHold.objects.select_related("placed_by", "lift_requested_by", "lifted_by")
    if access.scope_of(user).extensions is not None:
        return holds.none()
    scope = _subscriber(user)
    return holds if scope is None else holds.filter(customer_id=scope)


def policy_in_force(customer_id: int | None) -> RetentionPolicy | None:
    return RetentionPolicy.objects.filter(
        status=PolicyStatus.ACTIVE, customer_id=customer_id
    ).first()


@dataclass(frozen=True, slots=True)
class RunPreview:
    """What a policy's next run would delete: how many, the oldest rows, what holds keep."""

    count: int
    held: int
    cutoff: dt.datetime
    rows: list[IndexedRecording]


def candidates(
    *, customer_id: int | None, days: int, now: dt.datetime | None = None
) -> tuple[QuerySet[IndexedRecording], int]:
    """The indexed recordings a policy for this scope deletes now, oldest first, and how
    many legal holds keep. A subscriber's own policy wins over the all-subscribers one."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    rows = IndexedRecording.objects.filter(gone_at__isnull=True, calldate__lt=cutoff)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    else:
        own = RetentionPolicy.objects.filter(
            status=PolicyStatus.ACTIVE, customer_id__isnull=False
        ).values_list("customer_id", flat=True)
        rows = rows.exclude(customer_id__in=list(own))
    held = legal_holds.held_condition(legal_holds.holds_in_force())
    held_count = 0
    if held is not None:
        held_count = rows.filter(held).count()
        rows = rows.exclude(held)
    return rows.order_by("calldate", "record_id"), held_count


def run_preview(*, customer_id: int | None, days: int) -> RunPreview:
    now = timezone.now()
    rows, held = candidates(customer_id=customer_id, days=days, now=now)
    return RunPreview(
        count=rows.count(),
        held=held,
        cutoff=now - dt.timedelta(days=days),
        rows=list(rows[:PREVIEW_ROWS]),
    )


# --- asking for a policy -----------------------------------------------------------------------


def _require(actor: User) -> None:
    if not actor.has_perm(PERMISSION):
        raise NotAllowed(_("Você não pode gerir a retenção."))


def can_manage(user: Any) -> bool:
    """Whether ``user`` may use the retention pages: the permission, and no extension scope
    (a policy or a hold is subscriber-wide, so even its preview counts would reach beyond a
    team's calls)."""
    return bool(
        user.is_authenticated
        and user.has_perm(PERMISSION)
        and access.scope_of(user).extensions is None
    )


def may_manage(user: Any) -> bool:
    """``can_manage`` for a view's decorator: False sends an anonymous user to sign in; a
    signed-in user who may not gets PermissionDenied (403)."""
    if not user.is_authenticated:
        return False
    if not can_manage(user):
        raise PermissionDenied
    return True


def _subscriber(user: User) -> int | None:
    """The one subscriber ``user`` is limited to (None: all). Retention deletes whole days of
    a subscriber, so a user limited to extensions manages none of it."""
    scope = access.scope_of(user)
    if scope.extensions is not None:
        raise NotAllowed(
            _("Quem vê só alguns ramais não gere a retenção: ela vale para o assinante todo.")
        )
    return scope.customer_id


def _scope_for(actor: User, customer_id: int | None) -> int | None:
    scope = _subscriber(actor)
    if scope is not None:
        if customer_id not in (None, scope):
            raise NotAllowed(_("Este assinante não é o seu."))
        return scope
    return customer_id


@transaction.atomic
def policy_request(
    *,
    actor: User,
    days: int,
    customer_id: int | None,
    reason: str,
    request: HttpRequest | None = None,
) -> RetentionPolicy:
    """Ask for a policy (new, or replacing the one in force for the scope); someone else
    approves it."""
    _require(actor)
    reason = reason.strip()
    if not reason:
        raise NotAllowed(_("Informe o motivo da política."))
    if not 1 <= days <= MAX_DAYS:
        raise NotAllowed(_("O prazo é de 1 a %(max)s dias.") % {"max": MAX_DAYS})
    customer_id = _scope_for(actor, customer_id)
    # One request at a time per person: a double click or a replayed POST waits here.
    User.objects.select_for_update().filter(pk=actor.pk).exists()
    now = timezone.now()
    if RetentionPolicy.objects.filter(
        status=PolicyStatus.PENDING, customer_id=customer_id, days=days, expires_at__gt=now
    ).exists():
        raise WrongState(_("Esta mesma política já aguarda aprovação para este escopo."))
    current = policy_in_force(customer_id)
    policy = RetentionPolicy.objects.create(
        customer_id=customer_id,
        days=days,
        reason=reason,
        replaces=current,
        requested_by=actor,
        requested_at=now,
        expires_at=now + dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS),
    )
    audit.record_event(
        action=Action.RETENTION_REQUESTED,
        request=request,
        actor=actor,
        customer_id=customer_id,
        details={
            "policy": policy.pk,
            "days": days,
            "scope": "all" if customer_id is None else customer_id,
            "replaces": current.pk if current else None,
            "reason": reason,
        },
    )
    return policy


# --- deciding ----------------------------------------------------------------------------------


def _locked_policy(policy_id: int) -> RetentionPolicy:
    return RetentionPolicy.objects.select_for_update().get(pk=policy_id)


def _move(obj: RetentionPolicy | LegalHold, status: str, **fields: Any) -> None:
    """Change status only along a legal transition (PostgreSQL checks it too)."""
    if (obj.status, status) not in obj.TRANSITIONS:
        raise WrongState(
            _("Na situação atual (%(status)s), isto não pode mudar assim.")
            % {"status": obj.get_status_display()}
        )
    obj.status = status
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=["status", *fields])


def _check_scope(customer_id: int | None, actor: User) -> None:
    scope = _subscriber(actor)
    if scope is not None and customer_id != scope:
        raise NotAllowed(_("Isto é de outro assinante."))


def _check_can_decide(policy: RetentionPolicy, actor: User) -> None:
    """Raise unless ``actor`` may approve or reject ``policy`` now (four eyes, scope)."""
    if not actor.has_perm(PERMISSION):
        raise NotAllowed(_("Você não pode aprovar nem rejeitar políticas de retenção."))
    if policy.status == PolicyStatus.PENDING and timezone.now() >= policy.expires_at:
        raise Expired(_("Este pedido expirou sem aprovação: peça de novo."))
    if policy.status != PolicyStatus.PENDING:
        raise WrongState(
            _("Esta política não aguarda mais decisão (situação: %(status)s).")
            % {"status": policy.get_status_display()}
        )
    if policy.requested_by_id == actor.pk:
        raise FourEyes(
            _(
                "Quem pede uma política de retenção não pode aprová-la: "
                "outra pessoa precisa aprovar."
            )
        )
    _check_scope(policy.customer_id, actor)
    if not _requested_as_the_row_says(policy) or audit.decided_in_the_log(
        actions=_DECISIONS, about=("policy", policy.pk)
    ):
        raise NotAllowed(
            _("O registro de auditoria não mostra este pedido como está: nada foi aprovado.")
        )


_DECISIONS = [
    Action.RETENTION_APPROVED,
    Action.RETENTION_REJECTED,
    Action.RETENTION_CANCELLED,
    Action.RETENTION_EXPIRED,
    Action.RETENTION_STALE,
]


def _requested_as_the_row_says(policy: RetentionPolicy) -> bool:
    """Whether an authentic ``retention_requested`` event shows the person the row names
    asking for exactly these terms (``audit.asked_as_stated``)."""
    return audit.asked_as_stated(
        action=Action.RETENTION_REQUESTED,
        about=("policy", policy.pk),
        actor_id=policy.requested_by_id,
        details={
            "days": policy.days,
            "scope": "all" if policy.customer_id is None else policy.customer_id,
            "replaces": policy.replaces_id,
        },
    )


def _check_can_cancel(policy: RetentionPolicy, actor: User) -> None:
    if policy.requested_by_id != actor.pk:
        raise NotAllowed(_("Só quem pediu pode cancelar o pedido."))
    if policy.status != PolicyStatus.PENDING:
        raise WrongState(_("Esta política não aguarda mais decisão."))


def _expire_if_due(policy: RetentionPolicy, request: HttpRequest | None) -> bool:
    if policy.status == PolicyStatus.PENDING and timezone.now() >= policy.expires_at:
        _move(policy, PolicyStatus.EXPIRED, decided_at=timezone.now())
        audit.record_event(
            action=Action.RETENTION_EXPIRED,
            request=request,
            customer_id=policy.customer_id,
            details={"policy": policy.pk},
        )
        return True
    return False


def policies_expire_due() -> int:
    """Expire every pending policy past its deadline; how many were expired."""
    expired = 0
    due = RetentionPolicy.objects.filter(
        status=PolicyStatus.PENDING, expires_at__lte=timezone.now()
    )
    for policy_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            expired += _expire_if_due(_locked_policy(policy_id), None)
    return expired


def _expire_first(policy_id: int, request: HttpRequest | None) -> None:
    with transaction.atomic():
        expired = _expire_if_due(_locked_policy(policy_id), request)
    if expired:
        raise Expired(_("Este pedido expirou sem aprovação: peça de novo."))


def _check_step_up(actor: User, password: str, auth_age_seconds: float | None) -> None:
    if needs_step_up(auth_age_seconds) and not (password and actor.check_password(password)):
        raise StepUpRequired(
            _("Você entrou há mais de %(minutes)s minutos: confirme sua senha.")
            % {"minutes": settings.DELETION_STEP_UP_MINUTES}
        )


def policy_approve(
    *,
    policy_id: int,
    actor: User,
    password: str = "",
    auth_age_seconds: float | None,
    request: HttpRequest | None = None,
) -> RetentionPolicy:
    """Approve a pending policy: it replaces the one in force for its scope, and the daily
    run is queued. Refused unless the approver may, is not the requester, signed in recently
    (or re-enters the password), and the policy in force is still the one it replaces."""
    _require(actor)
    _expire_first(policy_id, request)
    with transaction.atomic():
        # Approvals take turns: two requests that each replace "no policy" (no row to lock)
        # would both find none in force, and the second would meet the one-per-scope index.
        RetentionSchedule.objects.get_or_create(pk="daily")
        RetentionSchedule.objects.select_for_update().filter(pk="daily").exists()
        policy = _locked_policy(policy_id)
        _check_can_decide(policy, actor)
        _check_step_up(actor, password, auth_age_seconds)
        current = (
            RetentionPolicy.objects.select_for_update()
            .filter(status=PolicyStatus.ACTIVE, customer_id=policy.customer_id)
            .first()
        )
        if (current.pk if current else None) != policy.replaces_id:
            _move(policy, PolicyStatus.STALE, decided_at=timezone.now())
            audit.record_event(
                action=Action.RETENTION_STALE,
                request=request,
                actor=actor,
                customer_id=policy.customer_id,
                outcome="policy_changed",
                details={"policy": policy.pk, "in_force": current.pk if current else None},
            )
            stale = True
        else:
            stale = False
            if current is not None:
                _move(current, PolicyStatus.SUPERSEDED)
            _move(policy, PolicyStatus.ACTIVE, decided_by=actor, decided_at=timezone.now())
            # The worker reads a run's terms from this event (retention.proof): keep its
            # details complete and its subscriber exact.
            audit.record_event(
                action=Action.RETENTION_APPROVED,
                request=request,
                actor=actor,
                customer_id=policy.customer_id,
                details={
                    "policy": policy.pk,
                    "days": policy.days,
                    "scope": "all" if policy.customer_id is None else policy.customer_id,
                    "requested_by": policy.requested_by_id,
                    "replaces": policy.replaces_id,
                },
            )
            schedule_next(after=dt.timedelta(0))
    if stale:
        raise Stale(
            _(
                "A política em vigor para este escopo mudou depois do pedido. "
                "Nada foi aprovado: peça de novo."
            )
        )
    return policy


def policy_reject(
    *, policy_id: int, actor: User, reason: str, request: HttpRequest | None = None
) -> RetentionPolicy:
    """An approver turns a pending policy down, saying why."""
    _require(actor)
    if not reason.strip():
        raise NotAllowed(_("Informe por que o pedido foi rejeitado."))
    _expire_first(policy_id, request)
    with transaction.atomic():
        policy = _locked_policy(policy_id)
        _check_can_decide(policy, actor)
        _move(
            policy,
            PolicyStatus.REJECTED,
            decided_by=actor,
            decided_at=timezone.now(),
            decision_note=reason.strip(),
        )
        audit.record_event(
            action=Action.RETENTION_REJECTED,
            request=request,
            actor=actor,
            customer_id=policy.customer_id,
            details={"policy": policy.pk, "reason": reason.strip()},
        )
    return policy


def policy_cancel(
    *, policy_id: int, actor: User, request: HttpRequest | None = None
) -> RetentionPolicy:
    """The requester withdraws a pending policy."""
    _expire_first(policy_id, request)
    with transaction.atomic():
        policy = _locked_policy(policy_id)
        _check_can_cancel(policy, actor)
        _move(policy, PolicyStatus.CANCELLED, decided_by=actor, decided_at=timezone.now())
        audit.record_event(
            action=Action.RETENTION_CANCELLED,
            request=request,
            actor=actor,
            customer_id=policy.customer_id,
            details={"policy": policy.pk},
        )
    return policy


# --- legal holds -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoldTerms:
    """What a hold covers, as typed (each part optional, at least one given)."""

    number: str = ""
    record_ids: tuple[int, ...] = ()
    customer_id: int | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None


@transaction.atomic
def hold_place(
    *,
    actor: User,
    terms: HoldTerms,
    reason: str,
    ends_on: dt.date | None = None,
    request: HttpRequest | None = None,
) -> LegalHold:
    """Place a legal hold, in force at once: no deletion touches what it covers."""
    _require(actor)
    reason = reason.strip()
    if not reason:
        raise NotAllowed(_("Informe o motivo da retenção legal."))
    customer_id = _scope_for(actor, terms.customer_id)
    digits = normalise(terms.number)
    if terms.number.strip() and not digits:
        raise NotAllowed(_("O número precisa ter dígitos."))
    if not (
        digits
        or terms.record_ids
        or customer_id is not None
        or terms.period_start
        or terms.period_end
    ):
        raise NotAllowed(_("Diga o que a retenção cobre: número, gravações, assinante ou período."))
    if terms.period_start and terms.period_end and terms.period_start > terms.period_end:
        raise NotAllowed(_("O período começa depois de terminar."))
    check_hold_ends_on(ends_on)
    if len(terms.record_ids) > MAX_HOLD_IDS:
        raise NotAllowed(_("No máximo %(max)s gravações por retenção.") % {"max": MAX_HOLD_IDS})
    hold = LegalHold.objects.create(
        number=terms.number.strip()[:40],
        number_digits=digits[:40],
        record_ids=sorted(set(terms.record_ids)),
        customer_id=customer_id,
        period_start=terms.period_start,
        period_end=terms.period_end,
        reason=reason,
        ends_on=ends_on,
        placed_by=actor,
        placed_at=timezone.now(),
    )
    audit.record_event(
        action=Action.HOLD_PLACED,
        request=request,
        actor=actor,
        record_ids=hold.record_ids,
        customer_id=customer_id,
        # The worker reads a hold's terms from this event (retention.holds, strict).
        details={
            "hold": hold.pk,
            "customer": customer_id,
            "number": hold.number_digits,
            "period": [
                terms.period_start.isoformat() if terms.period_start else None,
                terms.period_end.isoformat() if terms.period_end else None,
            ],
            "ends_on": ends_on.isoformat() if ends_on else None,
            "reason": reason,
        },
    )
    return hold


def check_hold_ends_on(ends_on: dt.date | None) -> None:
    """Refuse an end date already past (in São Paulo): the hold would be placed and audited,
    yet hold nothing, while its author believed the recordings kept."""
    if ends_on is not None and ends_on < legal_holds.today_in_sao_paulo():
        raise NotAllowed(_("A data final já passou: esta retenção não manteria nada."))


def _locked_hold(hold_id: int) -> LegalHold:
    return LegalHold.objects.select_for_update().get(pk=hold_id)


def _check_can_request_lift(hold: LegalHold, actor: User) -> None:
    _require(actor)
    _check_scope(hold.customer_id, actor)
    if hold.status != HoldStatus.ACTIVE:
        raise WrongState(_("Só uma retenção em vigor pode ter a liberação pedida."))


def _check_can_lift(hold: LegalHold, actor: User) -> None:
    """Raise unless ``actor`` may agree to lift ``hold``: a second person, in scope, while
    the request is fresh."""
    _require(actor)
    _check_scope(hold.customer_id, actor)
    if hold.status != HoldStatus.LIFT_PENDING:
        raise WrongState(_("Esta retenção não aguarda liberação."))
    if _lift_overdue(hold):
        raise Expired(_("Este pedido de liberação expirou sem aprovação: peça de novo."))
    if hold.lift_requested_by_id == actor.pk:
        raise FourEyes(_("Quem pede a liberação não pode aprová-la: outra pessoa precisa aprovar."))
    if not _lift_asked_as_the_row_says(hold):
        raise NotAllowed(
            _("O registro de auditoria não mostra este pedido de liberação: nada foi liberado.")
        )


def _lift_overdue(hold: LegalHold) -> bool:
    """A lift request waits as long as a deletion request (DELETION_REQUEST_TTL_HOURS): one
    left for weeks would be agreed to by someone who no longer knows why it was asked."""
    ttl = dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS)
    return bool(
        hold.status == HoldStatus.LIFT_PENDING
        and hold.lift_requested_at is not None
        and timezone.now() >= hold.lift_requested_at + ttl
    )


def _expire_lift_if_due(hold: LegalHold, request: HttpRequest | None) -> bool:
    """Put an overdue lift request's hold back in force, as a refusal nobody made."""
    if not _lift_overdue(hold):
        return False
    _move(hold, HoldStatus.ACTIVE, lift_requested_by=None, lift_requested_at=None, lift_reason="")
    audit.record_event(
        action=Action.HOLD_LIFT_REFUSED,
        request=request,
        customer_id=hold.customer_id,
        outcome="expired",
        details={"hold": hold.pk, "expired": True},
    )
    return True


def hold_lifts_expire_due() -> int:
    """Expire every lift request past its deadline; how many holds went back in force."""
    ttl = dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS)
    due = LegalHold.objects.filter(
        status=HoldStatus.LIFT_PENDING, lift_requested_at__lte=timezone.now() - ttl
    )
    expired = 0
    for hold_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            expired += _expire_lift_if_due(_locked_hold(hold_id), None)
    return expired


def _lift_asked_as_the_row_says(hold: LegalHold) -> bool:
    """Whether the newest lift request or refusal for ``hold`` in the audit log is an
    authentic request by the person the row names. A lift request written or re-attributed
    in the database (or an old one, already refused) would let one person lift alone."""
    newest = (
        AuditEvent.objects.filter(
            action__in=[Action.HOLD_LIFT_REQUESTED, Action.HOLD_LIFT_REFUSED],
            details__hold=hold.pk,
        )
        .order_by("-seq")
        .first()
    )
    # Its age as the keyed event says, not the row: a row's request time rewritten in the
    # database would make an old request look fresh.
    asked_since = timezone.now() - dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS)
    return bool(
        newest is not None
        and newest.action == Action.HOLD_LIFT_REQUESTED
        and newest.actor_id is not None
        and newest.actor_id == hold.lift_requested_by_id
        and newest.created_at > asked_since
        and authentic(newest)
    )


@transaction.atomic
def hold_lift_request(
    *, hold_id: int, actor: User, reason: str, request: HttpRequest | None = None
) -> LegalHold:
    """Ask to lift a hold; it stays in force until a second person agrees."""
    reason = reason.strip()
    if not reason:
        raise NotAllowed(_("Informe o motivo da liberação."))
    hold = _locked_hold(hold_id)
    _check_can_request_lift(hold, actor)
    _move(
        hold,
        HoldStatus.LIFT_PENDING,
        lift_requested_by=actor,
        lift_requested_at=timezone.now(),
        lift_reason=reason,
    )
    audit.record_event(
        action=Action.HOLD_LIFT_REQUESTED,
        request=request,
        actor=actor,
        customer_id=hold.customer_id,
        details={"hold": hold.pk, "reason": reason},
    )
    return hold


def hold_lift_approve(
    *,
    hold_id: int,
    actor: User,
    password: str = "",
    auth_age_seconds: float | None,
    request: HttpRequest | None = None,
) -> LegalHold:
    """A second person agrees: the hold no longer blocks deletions."""
    with transaction.atomic():  # an overdue request is expired, committed, then refused
        expired = _expire_lift_if_due(_locked_hold(hold_id), request)
    if expired:
        raise Expired(_("Este pedido de liberação expirou sem aprovação: peça de novo."))
    with transaction.atomic():
        hold = _locked_hold(hold_id)
        _check_can_lift(hold, actor)
        _check_step_up(actor, password, auth_age_seconds)
        _move(hold, HoldStatus.LIFTED, lifted_by=actor, lifted_at=timezone.now())
        # The worker believes a lift only with this event (retention.holds, strict).
        audit.record_event(
            action=Action.HOLD_LIFTED,
            request=request,
            actor=actor,
            customer_id=hold.customer_id,
            details={"hold": hold.pk, "requested_by": hold.lift_requested_by_id},
        )
    return hold


@transaction.atomic
def hold_lift_refuse(*, hold_id: int, actor: User, request: HttpRequest | None = None) -> LegalHold:
    """Refuse (or, for its requester, withdraw) a lift: the hold stays in force."""
    hold = _locked_hold(hold_id)
    _require(actor)
    _check_scope(hold.customer_id, actor)
    if hold.status != HoldStatus.LIFT_PENDING:
        raise WrongState(_("Esta retenção não aguarda liberação."))
    _move(hold, HoldStatus.ACTIVE, lift_requested_by=None, lift_requested_at=None, lift_reason="")
    audit.record_event(
        action=Action.HOLD_LIFT_REFUSED,
        request=request,
        actor=actor,
        customer_id=hold.customer_id,
        details={"hold": hold.pk},
    )
    return hold


def _allowed(check: Callable[[Any, User], None]) -> Callable[[Any, User], bool]:
    def allowed(obj: Any, actor: User) -> bool:
        try:
            check(obj, actor)
        except RetentionError:
            return False
        return True

    return allowed


can_decide = _allowed(_check_can_decide)
can_decide.__doc__ = "Whether ``actor`` may approve or reject ``policy`` now."
can_cancel = _allowed(_check_can_cancel)
can_cancel.__doc__ = "Whether ``actor`` may withdraw ``policy`` now."
can_request_lift = _allowed(_check_can_request_lift)
can_request_lift.__doc__ = "Whether ``actor`` may ask to lift ``hold`` now."
can_lift = _allowed(_check_can_lift)
can_lift.__doc__ = "Whether ``actor`` may agree to lift ``hold`` now (a second person)."


# --- the daily run -----------------------------------------------------------------------------


def policy_run(*, policy_id: int, now: dt.datetime | None = None) -> DeletionRequest | None:
    """Hand what a policy in force says to the deletion engine, by explicit ids.

    Held recordings are left out; a run of the same policy still under way is not doubled.
    Returns the deletion request, or None when there was nothing to do.
    """
    policy = RetentionPolicy.objects.get(pk=policy_id)
    if policy.status != PolicyStatus.ACTIVE or policy.decided_by_id is None:
        return None
    busy = DeletionRequest.objects.filter(
        kind=DeletionRequest.Kind.RETENTION,
        filters__policy=policy.pk,
        status__in=[DeletionRequest.Status.APPROVED, DeletionRequest.Status.RUNNING],
    )
    if busy.exists():
        return None
    now = now or timezone.now()
    rows, held = candidates(customer_id=policy.customer_id, days=policy.days, now=now)
    chosen = list(rows[: settings.RETENTION_MAX_PER_RUN])
    RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=now)
    if not chosen:
        return None
    return deletions.deletion_request_for_retention(
        policy_id=policy.pk,
        requested_by_id=policy.requested_by_id,
        decided_by_id=policy.decided_by_id,
        customer_id=policy.customer_id,
        days=policy.days,
        ids=[r.record_id for r in chosen],
        snapshot=_snapshot(chosen, held),
    )


def _snapshot(rows: Iterable[IndexedRecording], held: int) -> dict[str, Any]:
    rows = list(rows)
    sizes = [r.size for r in rows]
    return {
        "count": len(rows),
        "total_size": None if None in sizes else sum(s for s in sizes if s is not None),
        "total_time": sum(r.duration for r in rows),
        "held_skipped": held,
        "rows": [
            {
                "record_id": r.record_id,
                "calldate": r.calldate.isoformat(),
                "source": r.source,
                "destination": r.destination,
                "duration": r.duration,
                "size": r.size,
                "size_text": r.size_text,
                "customer_id": r.customer_id,
            }
            for r in rows[:PREVIEW_ROWS]
        ],
    }


def run_all(now: dt.datetime | None = None) -> list[DeletionRequest]:
    """One daily run: every policy in force hands its due recordings to the engine."""
    policies_expire_due()
    hold_lifts_expire_due()
    started = []
    for policy_id in RetentionPolicy.objects.filter(status=PolicyStatus.ACTIVE).values_list(
        "pk", flat=True
    ):
        deletion = policy_run(policy_id=policy_id, now=now)
        if deletion is not None:
            started.append(deletion)
    RetentionSchedule.objects.filter(pk="daily").update(last_run_at=timezone.now())
    return started


def schedule_next(*, after: dt.timedelta) -> bool:
    """Queue the daily task ``after`` from now, unless an earlier one already waits.

    A conditional UPDATE on the shared row: workers finishing at once queue one task, and a
    task whose moment was taken by an earlier one does nothing when it runs.
    """
    from retention.tasks import retention_daily

    RetentionSchedule.objects.get_or_create(pk="daily")
    now = timezone.now()
    run_after = now + after
    free = (
        Q(scheduled_for__isnull=True)
        | Q(scheduled_for__lte=now - dt.timedelta(minutes=2))
        | Q(scheduled_for__gt=run_after)
    )
    claimed = RetentionSchedule.objects.filter(Q(pk="daily") & free).update(scheduled_for=run_after)
    if claimed:
        due = run_after.isoformat()
        task = retention_daily.using(run_after=run_after) if after else retention_daily
        transaction.on_commit(lambda: task.enqueue(due))
    return bool(claimed)


def ensure_scheduled() -> bool:
    """Seed the daily task when a policy is in force and none waits (a first start, a lost
    task)."""
    if not RetentionPolicy.objects.filter(status=PolicyStatus.ACTIVE).exists():
        return False
    return schedule_next(after=dt.timedelta(hours=settings.RETENTION_RUN_HOURS))


def take_turn(due: str) -> bool:
    """Whether the task queued for ``due`` is still the one the schedule waits for."""
    try:
        moment = dt.datetime.fromisoformat(due)
    except ValueError:
        return False
    return bool(
        RetentionSchedule.objects.filter(pk="daily", scheduled_for=moment).update(
            scheduled_for=None
        )
    )
