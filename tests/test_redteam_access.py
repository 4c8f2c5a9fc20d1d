"""Red team on access management: attacks that went through on the first cut of four eyes.

Each test is the attack, run through the real stack; it failed before the fix next to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from accounts import services as access
from accounts.models import AccessChange
from audit import services as audit
from audit.models import AuditEvent
from deletions import services as deletions
from recordings.models import User
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

SUPERVISORS, ADMINS, MANAGERS = "Supervisores", "Administradores", "Gestores de acesso"
TEMPORARY = "senha-temporaria-2026"
CHOSEN = "minha-senha-secreta-2026"


def _change(actor: User, target: User, **fields: Any) -> access.ChangeResult:
    state = access.state_of(target)
    values: dict[str, Any] = {
        "groups": sorted(state.groups),
        "customer_id": state.customer_id,
        "is_active": state.is_active,
        "first_name": target.first_name,
        "last_name": target.last_name,
        "email": target.email,
        "reason": "pedido do coordenador",
    }
    values.update(fields)
    return access.user_change(actor=actor, target_id=target.pk, **values)


def _approve(change: AccessChange, actor: User) -> AccessChange:
    return access.access_change_approve(change_id=change.pk, actor=actor, auth_age_seconds=5.0)


def _groups(user: User) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


def _take_over(client: Client, username: str) -> None:
    """Sign in with the password a manager set, and choose "the user's own" password."""
    assert client.login(username=username, password=TEMPORARY)
    response = client.post(
        "/accounts/password/",
        {"old_password": TEMPORARY, "new_password": CHOSEN, "new_password2": CHOSEN},
    )
    assert response.status_code == 302
    client.logout()


@pytest.fixture(autouse=True)
def _portuguese() -> Iterator[None]:
    """The messages matched below are the source language's, whatever ran before."""
    with translation.override("pt-br"):
        yield


@pytest.fixture
def managers(db: None) -> tuple[User, User]:
    return make_user("gustavo", MANAGERS), make_user("gabriela", MANAGERS)


def test_nobody_holds_deletion_approval_and_access_management_together(
    client: Client, managers: tuple[User, User], sim: SimulatorProcess
) -> None:
    """Before: a second manager approved "boss" for Administradores on top of Gestores de
    acesso, and from then on boss alone deleted recordings: reset a supervisor's password
    (applies at once), sign in as them, ask for a deletion, approve it as boss."""
    first, second = managers
    boss = make_user("boss", MANAGERS)
    with pytest.raises(access.Invalid, match="ao mesmo tempo") as refused:
        _change(first, boss, groups=[MANAGERS, ADMINS])
    assert refused.value.field == "groups"
    assert AccessChange.objects.count() == 0
    # Nor the other way round, an administrator made an access manager.
    admin = make_user("adao", ADMINS)
    with pytest.raises(access.Invalid, match="ao mesmo tempo"):
        _change(first, admin, groups=[ADMINS, MANAGERS])
    # A change asked for before this rule existed is not approved either.
    legacy = AccessChange.objects.create(
        target=boss,
        requested_by=first,
        requested_at=boss.date_joined,
        reason="antigo",
        expires_at=boss.date_joined.replace(year=boss.date_joined.year + 1),
        before=access.state_of(boss).as_json(),
        after={"groups": [ADMINS, MANAGERS], "customer_id": None, "is_active": True},
    )
    with pytest.raises(access.Invalid, match="ao mesmo tempo"):
        _approve(legacy, second)
    assert _groups(boss) == {MANAGERS}
    access.access_change_reject(change_id=legacy.pk, actor=second, reason="papéis exclusivos")
    # The rest of the attack: the approval that would have followed is refused.
    sara = make_user("sara", SUPERVISORS)
    access.password_reset(actor=boss, target_id=sara.pk, password=TEMPORARY)
    _take_over(client, "sara")
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    deletion = deletions.deletion_request_create(
        actor=User.objects.get(pk=sara.pk), reason="limpeza", ids=[record_id]
    )
    with pytest.raises(deletions.NotAllowed):
        deletions.deletion_request_approve(
            deletion_id=deletion.pk,
            actor=User.objects.get(pk=boss.pk),
            typed_count="1",
            auth_age_seconds=5.0,
        )


def test_a_password_reset_voids_the_grant_waiting_for_that_user(
    client: Client, managers: tuple[User, User]
) -> None:
    """Before: a manager asked for Administradores for a colleague who had chosen her own
    password, then reset it, signed in as her and chose a new one; the second manager's
    approval then made an approver whose password only the first manager knew."""
    first, second = managers
    ana = make_user("ana", SUPERVISORS)
    pending = _change(first, ana, groups=[ADMINS]).pending
    assert pending is not None
    access.password_reset(actor=first, target_id=ana.pk, password=TEMPORARY)
    pending.refresh_from_db()
    assert pending.status == AccessChange.Status.STALE
    voided = AuditEvent.objects.get(action=audit.Action.ACCESS_REJECTED)
    assert (voided.outcome, voided.details["why"]) == ("stale", "password_reset")
    assert voided.actor_username == "gustavo"
    _take_over(client, "ana")
    with pytest.raises(access.WrongState):
        _approve(pending, second)
    assert _groups(ana) == {SUPERVISORS}
    assert not access.can_decide(pending, second)


def test_a_password_reset_voids_a_wider_scope_waiting_for_that_user(
    managers: tuple[User, User],
) -> None:
    first, second = managers
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    pending = _change(first, agent, customer_id=None).pending
    assert pending is not None
    access.password_reset(actor=first, target_id=agent.pk, password=TEMPORARY)
    with pytest.raises(access.WrongState):
        _approve(pending, second)
    assert User.objects.get(pk=agent.pk).customer_id == 7


def test_a_scoped_manager_does_not_read_a_users_history_from_another_subscriber(
    client: Client, managers: tuple[User, User]
) -> None:
    """Before: /access/users/<pk>/ listed every event about the user, whatever subscriber it
    belonged to: a manager of subscriber 7 read what subscriber 3's managers did and why."""
    first, second = managers
    moved = make_user("movido", SUPERVISORS, customer_id=3)
    _change(first, moved, first_name="Segredo", email="x@assinante3.example")
    pending = _change(first, moved, customer_id=7, reason="transferido").pending
    assert pending is not None
    _approve(pending, second)
    scoped = make_user("gestor7", MANAGERS, customer_id=7)
    client.force_login(scoped)
    page = client.get(f"/access/users/{moved.pk}/")
    assert page.status_code == 200
    history = list(page.context["history"])
    assert history, "subscriber 7's own events about the user are shown"
    assert all(e.customer_id == 7 or e.actor_id == scoped.pk for e in history)
    assert "assinante3.example" not in page.content.decode()
    client.force_login(first)
    everything = client.get(f"/access/users/{moved.pk}/").content.decode()
    assert "assinante3.example" in everything, "an unscoped manager still sees it all"
