"""Managing users and their reach, with four eyes where reach grows.

Rules, all here and nowhere else:
- Only holders of ``accounts.manage_access`` manage users, and a manager limited to one
  subscriber, or to a set of extensions, manages only users whose whole reach lies within
  the manager's, and gives no more than that.
- Nobody changes their own roles, scope or active flag; nobody touches a superuser here
  (superusers exist only through ``createsuperuser`` on the server).
- What widens someone's reach waits for a second manager: a role carrying approval of
  deletions or access management, a cleared or changed subscriber scope, a cleared extension
  set or one reaching an extension the old did not (``Scope.covers``). The approver is
  neither the requester nor the user changed; requests expire; every step is audited with
  the state before and after.
- A manager who sets someone's password knows it: that user must choose their own at next
  sign-in, loses any privileged role at once, and gets one only after choosing it.
- Narrowing (removing a role, deactivating, limiting to one subscriber or to fewer
  extensions) applies at once. A new user without a subscriber waits for approval even if
  limited to extensions: a set of ranges can be drawn to hold almost every number.
- Nobody holds both approval of deletions and access management: an access manager can
  become any non-privileged user (by setting their password), so one who also approved
  deletions would request as that user and approve alone.
- A manager who sets someone's password voids the changes waiting for that user: the
  person a second manager was asked to trust is no longer the only one who knows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import AccessChange
from accounts.stepup import needs_step_up
from audit import services as audit
from recordings import access as recording_access
from recordings.models import User
from recordings.scope import ExtensionError, Scope, canonical_extensions

Status = AccessChange.Status
Action = audit.Action
CHANGE_TTL_HOURS = 24


class AccessError(Exception):
    """A rule refused the action; the message is for the person who tried."""


class NotAllowed(AccessError):
    pass


class FourEyes(AccessError):
    pass


class WrongState(AccessError):
    pass


class StepUpRequired(AccessError):
    pass


class Invalid(AccessError):
    """Bad input: ``field`` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class AccessState:
    """What decides a user's reach: roles, subscriber and extension scope, whether they can
    sign in. ``extensions`` is canonical text (``recordings.scope``), empty for no limit."""

    groups: frozenset[str]
    customer_id: int | None
    is_active: bool
    extensions: str = ""

    @property
    def scope(self) -> Scope:
        return Scope.of(self.customer_id, self.extensions)

    def as_json(self) -> dict[str, Any]:
        return {
            "groups": sorted(self.groups),
            "customer_id": self.customer_id,
            "extensions": self.extensions,
            "is_active": self.is_active,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessState:
        return cls(
            groups=frozenset(data.get("groups", [])),
            customer_id=data.get("customer_id"),
            is_active=bool(data.get("is_active")),
            extensions=str(data.get("extensions") or ""),
        )


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What a change did: applied at once, or waiting for approval in ``pending``."""

    user: User
    pending: AccessChange | None = None


def state_of(user: User) -> AccessState:
    return AccessState(
        groups=frozenset(user.groups.values_list("name", flat=True)),
        customer_id=user.customer_id,
        is_active=user.is_active,
        extensions=user.extensions,
    )


def widening(before: AccessState | None, after: AccessState) -> list[str]:
    """Why ``after`` reaches further than ``before`` (None: a new user); empty if it does not.

    An inactive user reaches nothing, so activating one counts as granting what they hold.
    """
    reasons: list[str] = []
    if not after.is_active:
        return reasons
    had_reach = before is not None and before.is_active
    held = roles.privileged_permissions(before.groups) if had_reach and before else set()
    if roles.privileged_permissions(after.groups) - held:
        reasons.append("privileged_role")
    if had_reach and before is not None:
        if not before.scope.covers(after.scope):
            reasons.append("wider_scope")
    elif after.customer_id is None:
        reasons.append("wider_scope")
    return reasons


def is_privileged(user: User) -> bool:
    return user.is_active and bool(roles.privileged_permissions(state_of(user).groups))


# --- who may do what ---------------------------------------------------------------------------


def _check_manager(actor: User) -> None:
    if not actor.has_perm(roles.MANAGE_ACCESS):
        raise NotAllowed(_("Você não pode gerir acessos."))


def _check_may_manage(actor: User, target: User) -> None:
    _check_manager(actor)
    if target.is_superuser:
        raise NotAllowed(_("Superusuários só são geridos no servidor."))
    if actor.customer_id is not None and target.customer_id != actor.customer_id:
        raise NotAllowed(_("Este usuário é de outro assinante."))
    if not recording_access.scope_of(actor).covers(recording_access.scope_of(target)):
        raise NotAllowed(_("Este usuário vê ramais fora dos seus."))


def _check_separation(groups: frozenset[str]) -> None:
    if roles.privileged_permissions(groups) >= {roles.APPROVE_DELETION, roles.MANAGE_ACCESS}:
        raise Invalid(
            _(
                "Ninguém aprova exclusões e gere acessos ao mesmo tempo: quem gere acessos "
                "pode entrar como outro usuário e aprovaria os próprios pedidos."
            ),
            "groups",
        )


def _check_scope_allowed(actor: User, customer_id: int | None, extensions: str = "") -> None:
    if actor.customer_id is not None and customer_id != actor.customer_id:
        raise Invalid(
            _("Você só pode dar acesso ao assinante %(scope)s.") % {"scope": actor.customer_id},
            "customer_id",
        )
    mine = recording_access.scope_of(actor)
    if not mine.covers(Scope.of(customer_id, extensions)):
        raise Invalid(
            _("Você só pode dar acesso aos ramais %(scope)s.") % {"scope": mine.extensions_text},
            "extensions",
        )


def _canonical(extensions: str) -> str:
    try:
        return canonical_extensions(extensions)
    except ExtensionError as exc:
        raise Invalid(str(exc), "extensions") from None


def _check_can_decide(change: AccessChange, actor: User) -> None:
    _check_manager(actor)
    if change.status == Status.PENDING and timezone.now() >= change.expires_at:
        raise WrongState(_("Esta mudança expirou sem aprovação: peça de novo."))
    if change.status != Status.PENDING:
        raise WrongState(
            _("Esta mudança não aguarda mais decisão (situação: %(status)s).")
            % {"status": change.get_status_display()}
        )
    if change.requested_by_id == actor.pk:
        raise FourEyes(_("Quem pede uma mudança de acesso não pode aprová-la."))
    if change.target_id == actor.pk:
        raise FourEyes(_("Ninguém aprova uma mudança do próprio acesso."))
    _check_may_manage(actor, change.target)
    after = AccessState.from_json(change.after)
    if actor.customer_id is not None and after.customer_id != actor.customer_id:
        raise NotAllowed(_("Esta mudança dá acesso a outro assinante."))
    if not recording_access.scope_of(actor).covers(after.scope):
        raise NotAllowed(_("Esta mudança dá acesso a ramais fora dos seus."))


def _check_as_asked(change: AccessChange) -> None:
    """Approving (not rejecting, which is always safe) needs the change as it was asked."""
    if not _requested_as_the_row_says(change) or audit.decided_in_the_log(
        actions=_DECISIONS, about=("change", change.pk)
    ):
        raise NotAllowed(
            _("O registro de auditoria não mostra este pedido como está: nada foi aprovado.")
        )


def _requested_as_the_row_says(change: AccessChange) -> bool:
    """Whether an authentic ``access_requested`` event shows the manager the row names asking
    for exactly this change. A pending change inserted in the database in a colleague's name
    has none: approving it would be one person's decision, applied and sealed by the app."""
    return audit.asked_as_stated(
        action=Action.ACCESS_REQUESTED,
        about=("change", change.pk),
        actor_id=change.requested_by_id,
        details={"target_id": change.target_id, "before": change.before, "after": change.after},
    )


_DECISIONS = [
    Action.ACCESS_APPROVED,
    Action.ACCESS_REJECTED,
    Action.ACCESS_CANCELLED,
    Action.ACCESS_EXPIRED,
]


def _check_own_password(change: AccessChange) -> None:
    """A privileged role goes only to someone who chose their own password: whoever set it
    could otherwise sign in as them. Checked at approval; rejecting stays possible."""
    before = AccessState.from_json(change.before)
    after = AccessState.from_json(change.after)
    if "privileged_role" in widening(before, after) and change.target.must_change_password:
        raise WrongState(
            _(
                "%(user)s ainda usa a senha que outra pessoa definiu: o papel só pode ser "
                "aprovado depois que ele entrar e escolher a própria senha."
            )
            % {"user": change.target.username}
        )


def _check_can_cancel(change: AccessChange, actor: User) -> None:
    if change.requested_by_id != actor.pk:
        raise NotAllowed(_("Só quem pediu pode cancelar a mudança."))
    if change.status != Status.PENDING:
        raise WrongState(
            _("Esta mudança não aguarda mais decisão (situação: %(status)s).")
            % {"status": change.get_status_display()}
        )


def _allowed(check: Callable[[AccessChange, User], None]) -> Callable[[AccessChange, User], bool]:
    def allowed(change: AccessChange, actor: User) -> bool:
        try:
            check(change, actor)
        except AccessError:
            return False
        return True

    return allowed


can_decide = _allowed(_check_can_decide)
can_cancel = _allowed(_check_can_cancel)


def can_manage(actor: User, target: User) -> bool:
    """Whether ``actor`` may change ``target``'s roles, scope, activity or password."""
    try:
        _check_may_manage(actor, target)
    except AccessError:
        return False
    return actor.pk != target.pk


def assignable_groups() -> list[str]:
    return list(roles.ROLE_PERMISSIONS)


# --- changing users --------------------------------------------------------------------------


def _details(target: User, **more: Any) -> dict[str, Any]:
    details = {"target": target.username, "target_id": target.pk, **more}
    if target.extensions:  # who may read the event (audit.services.visible_events)
        details["target_extensions"] = target.extensions
    return details


def _set_state(user: User, state: AccessState) -> None:
    user.customer_id = state.customer_id
    user.extensions = state.extensions
    user.is_active = state.is_active
    user.save(update_fields=["customer_id", "extensions", "is_active"])
    user.groups.set(Group.objects.filter(name__in=state.groups))


def _validate_groups(groups: Iterable[str]) -> frozenset[str]:
    names = frozenset(groups)
    unknown = names - set(roles.ROLE_PERMISSIONS)
    if unknown:
        raise Invalid(_("Papel desconhecido: %(name)s.") % {"name": sorted(unknown)[0]}, "groups")
    return names


def _ask(
    *,
    actor: User,
    target: User,
    before: AccessState,
    after: AccessState,
    reason: str,
    request: HttpRequest | None,
    why: list[str],
) -> AccessChange:
    if AccessChange.objects.filter(
        target=target, status=Status.PENDING, expires_at__gt=timezone.now()
    ).exists():
        raise WrongState(
            _("Já existe uma mudança de acesso pendente para %(user)s: decida-a antes.")
            % {"user": target.username}
        )
    if not reason.strip():
        raise Invalid(_("Diga o motivo: outra pessoa vai aprovar esta mudança."), "reason")
    now = timezone.now()
    change = AccessChange.objects.create(
        target=target,
        requested_by=actor,
        requested_at=now,
        reason=reason.strip(),
        expires_at=now + dt.timedelta(hours=CHANGE_TTL_HOURS),
        before=before.as_json(),
        after=after.as_json(),
    )
    audit.record_event(
        action=Action.ACCESS_REQUESTED,
        request=request,
        actor=actor,
        customer_id=after.customer_id if after.customer_id is not None else before.customer_id,
        details=_details(
            target,
            change=change.pk,
            before=before.as_json(),
            after=after.as_json(),
            why=why,
            reason=reason.strip(),
        ),
    )
    return change


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    password: str,
    groups: Iterable[str],
    customer_id: int | None,
    extensions: str = "",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    reason: str = "",
    request: HttpRequest | None = None,
) -> ChangeResult:
    """Create a user, never with a privileged role (its grant needs the user's own password
    first). One limited to no subscriber is created unable to sign in until a second manager
    approves. The password is the creator's choice: the user chooses their own at first
    sign-in.
    """
    _check_manager(actor)
    username = username.strip()
    if not username:
        raise Invalid(_("Informe o nome de usuário."), "username")
    if User.objects.filter(username__iexact=username).exists():
        raise Invalid(_("Já existe um usuário com este nome."), "username")
    names = _validate_groups(groups)
    if roles.privileged_permissions(names):
        raise Invalid(
            _(
                "Crie o usuário sem papéis que aprovam exclusões ou gerem acessos: depois que "
                "ele escolher a própria senha, peça o papel (outro gestor aprova)."
            ),
            "groups",
        )
    extensions = _canonical(extensions)
    _check_scope_allowed(actor, customer_id, extensions)
    wanted = AccessState(names, customer_id, True, extensions)
    why = widening(None, wanted)
    user = User(
        username=username,
        first_name=first_name.strip()[:150],
        last_name=last_name.strip()[:150],
        email=email.strip()[:254],
        customer_id=customer_id,
        extensions=extensions,
        is_active=not why,
        must_change_password=True,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), "password") from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise Invalid(_("Já existe um usuário com este nome."), "username") from None
    user.groups.set(Group.objects.filter(name__in=names))
    created = state_of(user)
    audit.record_event(
        action=Action.USER_CREATED,
        request=request,
        actor=actor,
        customer_id=customer_id,
        details=_details(user, after=created.as_json(), waits_for_approval=bool(why)),
    )
    audit.record_event(
        action=Action.PASSWORD_SET,
        request=request,
        actor=actor,
        customer_id=customer_id,
        details=_details(user, by="manager"),
    )
    pending = None
    if why:
        pending = _ask(
            actor=actor,
            target=user,
            before=created,
            after=wanted,
            reason=reason,
            request=request,
            why=why,
        )
    return ChangeResult(user=user, pending=pending)


@transaction.atomic
def user_change(
    *,
    actor: User,
    target_id: int,
    groups: Iterable[str],
    customer_id: int | None,
    is_active: bool,
    first_name: str,
    last_name: str,
    email: str,
    extensions: str | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> ChangeResult:
    """Change a user's names and reach (``extensions`` None: as they are). What narrows
    applies now; if anything widens, the whole change of reach waits for a second manager
    (names still apply now)."""
    target = User.objects.select_for_update().get(pk=target_id)
    _check_may_manage(actor, target)
    names = _validate_groups(groups)
    before = state_of(target)
    extensions = before.extensions if extensions is None else _canonical(extensions)
    after = AccessState(names, customer_id, is_active, extensions)
    if after != before:
        if actor.pk == target.pk:
            raise NotAllowed(_("Ninguém muda os próprios papéis, assinante ou situação."))
        _check_scope_allowed(actor, customer_id, extensions)
        _check_separation(names)
    profile_before = {"first_name": target.first_name, "last_name": target.last_name}
    profile_before["email"] = target.email
    target.first_name = first_name.strip()[:150]
    target.last_name = last_name.strip()[:150]
    target.email = email.strip()[:254]
    profile_after = {"first_name": target.first_name, "last_name": target.last_name}
    profile_after["email"] = target.email
    target.save(update_fields=["first_name", "last_name", "email"])
    why = widening(before, after)
    changes: dict[str, Any] = {}
    if profile_after != profile_before:
        changes.update(profile_before=profile_before, profile_after=profile_after)
    if after != before and not why:
        _set_state(target, after)
        changes.update(before=before.as_json(), after=after.as_json())
    if changes:
        audit.record_event(
            action=Action.USER_CHANGED,
            request=request,
            actor=actor,
            customer_id=target.customer_id,
            details=_details(target, **changes),
        )
    pending = None
    if why:
        pending = _ask(
            actor=actor,
            target=target,
            before=before,
            after=after,
            reason=reason,
            request=request,
            why=why,
        )
    return ChangeResult(user=target, pending=pending)


@transaction.atomic
def password_reset(
    *, actor: User, target_id: int, password: str, request: HttpRequest | None = None
) -> ChangeResult:
    """A manager sets someone else's password; the user must choose their own at next sign-in.

    The manager knows that password, so a user who approves deletions or manages access
    loses those roles at once: otherwise one manager could sign in as an approver. Getting
    them back takes the user's own new password and a second manager's approval.
    """
    target = User.objects.select_for_update().get(pk=target_id)
    _check_may_manage(actor, target)
    if actor.pk == target.pk:
        raise NotAllowed(_("Para trocar a sua própria senha, use “Trocar minha senha”."))
    try:
        validate_password(password, target)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), "password") from None
    _void_pending(target, actor=actor, request=request)
    before = state_of(target)
    kept = frozenset(g for g in before.groups if not roles.privileged_permissions({g}))
    if kept != before.groups:
        after = AccessState(kept, before.customer_id, before.is_active, before.extensions)
        _set_state(target, after)
        audit.record_event(
            action=Action.USER_CHANGED,
            request=request,
            actor=actor,
            customer_id=target.customer_id,
            details=_details(
                target, before=before.as_json(), after=after.as_json(), why="password_reset"
            ),
        )
    target.set_password(password)
    target.must_change_password = True
    target.save(update_fields=["password", "must_change_password"])
    audit.record_event(
        action=Action.PASSWORD_SET,
        request=request,
        actor=actor,
        customer_id=target.customer_id,
        details=_details(target, by="manager"),
    )
    return ChangeResult(user=target)


def _void_pending(target: User, *, actor: User, request: HttpRequest | None) -> None:
    """A manager is setting ``target``'s password: what waits for a second manager was asked
    for a user only they could sign in as, which is no longer true. Approving it now would
    hand the reach to whoever set the password (they sign in first and choose "their own")."""
    for change in AccessChange.objects.select_for_update().filter(
        target=target, status=Status.PENDING
    ):
        change.status, change.decided_at = Status.STALE, timezone.now()
        change.save(update_fields=["status", "decided_at"])
        audit.record_event(
            action=Action.ACCESS_REJECTED,
            request=request,
            actor=actor,
            customer_id=target.customer_id,
            outcome="stale",
            details=_details(target, change=change.pk, why="password_reset"),
        )


@transaction.atomic
def password_change_own(
    *, user: User, old_password: str, new_password: str, request: HttpRequest | None
) -> None:
    """A user chooses their own password (required after someone else set it)."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.check_password(old_password):
        raise Invalid(_("A senha atual não confere."), "old_password")
    if old_password == new_password:
        raise Invalid(_("Escolha uma senha diferente da atual."), "new_password")
    try:
        validate_password(new_password, locked)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), "new_password") from None
    locked.set_password(new_password)
    locked.must_change_password = False
    locked.save(update_fields=["password", "must_change_password"])
    user.password, user.must_change_password = locked.password, False
    audit.record_event(
        action=Action.PASSWORD_SET,
        request=request,
        actor=locked,
        details=_details(locked, by="self"),
    )


# --- deciding --------------------------------------------------------------------------------


def _locked(change_id: int) -> AccessChange:
    return AccessChange.objects.select_for_update().select_related("target").get(pk=change_id)


def _expire_if_due(change: AccessChange, request: HttpRequest | None) -> bool:
    if change.status == Status.PENDING and timezone.now() >= change.expires_at:
        change.status, change.decided_at = Status.EXPIRED, timezone.now()
        change.save(update_fields=["status", "decided_at"])
        audit.record_event(
            action=Action.ACCESS_EXPIRED,
            request=request,
            customer_id=change.target.customer_id,
            details=_details(change.target, change=change.pk),
        )
        return True
    return False


def access_changes_expire_due() -> int:
    """Expire every pending change past its deadline; how many were expired."""
    expired = 0
    due = AccessChange.objects.filter(status=Status.PENDING, expires_at__lte=timezone.now())
    for change_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            if _expire_if_due(_locked(change_id), None):
                expired += 1
    return expired


def access_change_approve(
    *,
    change_id: int,
    actor: User,
    password: str = "",
    auth_age_seconds: float | None,
    request: HttpRequest | None = None,
) -> AccessChange:
    """A second manager approves: the change applies if the user is still as when asked."""
    with transaction.atomic():  # the expiry is kept even though the approval is refused
        expired = _expire_if_due(_locked(change_id), request)
    if expired:
        raise WrongState(_("Esta mudança expirou sem aprovação: peça de novo."))
    with transaction.atomic():
        change = _locked(change_id)
        _check_can_decide(change, actor)
        # Also for a change asked before the rule existed; rejecting it stays possible.
        _check_separation(AccessState.from_json(change.after).groups)
        _check_as_asked(change)
        _check_own_password(change)
        if needs_step_up(auth_age_seconds) and not (password and actor.check_password(password)):
            raise StepUpRequired(
                _("Você entrou há mais de %(minutes)s minutos: confirme sua senha.")
                % {"minutes": settings.DELETION_STEP_UP_MINUTES}
            )
        target = User.objects.select_for_update().get(pk=change.target_id)
        current = state_of(target)
        after = AccessState.from_json(change.after)
        if current != AccessState.from_json(change.before):
            change.status, change.decided_at = Status.STALE, timezone.now()
            change.save(update_fields=["status", "decided_at"])
            audit.record_event(
                action=Action.ACCESS_REJECTED,
                request=request,
                actor=actor,
                customer_id=target.customer_id,
                outcome="stale",
                details=_details(target, change=change.pk, now=current.as_json()),
            )
            stale = True
        else:
            stale = False
            _set_state(target, after)
            change.status, change.decided_by = Status.APPLIED, actor
            change.decided_at = timezone.now()
            change.save(update_fields=["status", "decided_by", "decided_at"])
            audit.record_event(
                action=Action.ACCESS_APPROVED,
                request=request,
                actor=actor,
                customer_id=after.customer_id,
                details=_details(
                    target,
                    change=change.pk,
                    requested_by=change.requested_by.username,
                    before=change.before,
                    after=change.after,
                ),
            )
    if stale:
        raise WrongState(
            _("O usuário mudou desde o pedido; nada foi aplicado. Peça de novo se ainda precisar.")
        )
    return change


@transaction.atomic
def access_change_reject(
    *, change_id: int, actor: User, reason: str, request: HttpRequest | None = None
) -> AccessChange:
    if not reason.strip():
        raise Invalid(_("Diga por que a mudança foi rejeitada."), "reason")
    change = _locked(change_id)
    _check_can_decide(change, actor)
    change.status, change.decided_by = Status.REJECTED, actor
    change.decided_at, change.decision_note = timezone.now(), reason.strip()
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit.record_event(
        action=Action.ACCESS_REJECTED,
        request=request,
        actor=actor,
        customer_id=change.target.customer_id,
        details=_details(change.target, change=change.pk, reason=reason.strip()),
    )
    return change


@transaction.atomic
def access_change_cancel(
    *, change_id: int, actor: User, request: HttpRequest | None = None
) -> AccessChange:
    change = _locked(change_id)
    _check_can_cancel(change, actor)
    change.status, change.decided_at = Status.CANCELLED, timezone.now()
    change.save(update_fields=["status", "decided_at"])
    audit.record_event(
        action=Action.ACCESS_CANCELLED,
        request=request,
        actor=actor,
        customer_id=change.target.customer_id,
        details=_details(change.target, change=change.pk),
    )
    return change
