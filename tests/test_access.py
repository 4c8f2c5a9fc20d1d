"""Access management against an insider: nobody widens anyone's reach alone, least of all
their own, and every change to a user is in the audit log with before and after."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from accounts import services as access
from accounts.models import AccessChange
from audit.models import AuditEvent
from deletions import services as deletions
from recordings.models import User
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

PASSWORD = "pw-for-tests"
NEW_PASSWORD = "um-cavalo-azul-2026"
SUPERVISORS, ADMINS, MANAGERS = "Supervisores", "Administradores", "Gestores de acesso"


@pytest.fixture
def managers(db: None) -> tuple[User, User]:
    return make_user("gustavo", MANAGERS), make_user("gabriela", MANAGERS)


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


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- the attack of the issue: Django's admin ------------------------------------------------------


def test_administrators_no_longer_manage_users(client: Client, db: None) -> None:
    admin = make_user("adao", ADMINS, is_staff=True)
    target = make_user("sara", SUPERVISORS)
    client.force_login(admin)
    assert client.get("/access/").status_code == 403
    assert client.get(f"/admin/recordings/user/{target.pk}/change/").status_code == 403
    response = client.post("/admin/recordings/user/add/", {"username": "alias"})
    assert response.status_code == 403
    assert not User.objects.filter(username="alias").exists()


def test_no_page_sets_superuser_not_even_a_superusers_admin(client: Client, db: None) -> None:
    root = User.objects.create_superuser("root", password=PASSWORD)
    target = make_user("sara", SUPERVISORS)
    client.force_login(root)
    page = client.get(f"/admin/recordings/user/{target.pk}/change/")
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()
    client.post(f"/admin/recordings/user/{target.pk}/change/", {"is_superuser": "on"})
    client.post(f"/access/users/{target.pk}/", {"is_superuser": "on", "groups": [SUPERVISORS]})
    target.refresh_from_db()
    assert not target.is_superuser
    assert client.get("/admin/auth/group/").status_code == 404, "roles are not edited there"


def test_an_access_manager_cannot_create_an_administrator_directly(
    client: Client, managers: tuple[User, User]
) -> None:
    client.force_login(managers[0])
    response = client.post(
        "/access/users/new",
        {"username": "alias", "password": NEW_PASSWORD, "groups": [ADMINS], "customer_id": ""},
    )
    assert response.status_code == 400
    assert "Crie o usuário sem papéis que aprovam exclusões" in response.content.decode()
    assert not User.objects.filter(username="alias").exists()


def test_the_second_identity_attack_ends_at_the_second_manager(
    client: Client, managers: tuple[User, User], sim: SimulatorProcess
) -> None:
    """A supervisor who is also an access manager makes an alias, tries to make it an
    approver and approve their own deletion: it stops where a second person must agree."""
    insider, other_manager = managers
    insider.groups.add(*User.objects.get(pk=make_user("tmp", SUPERVISORS).pk).groups.all())
    client.force_login(insider)
    client.post(
        "/access/users/new",
        {"username": "alias", "password": NEW_PASSWORD, "groups": [SUPERVISORS], "customer_id": 7},
    )
    alias = User.objects.get(username="alias")
    assert alias.must_change_password
    result = _change(insider, alias, groups=[ADMINS])
    assert result.pending is not None
    assert _groups(alias) == {SUPERVISORS}, "nothing granted yet"
    with pytest.raises(access.FourEyes):
        _approve(result.pending, insider)
    with pytest.raises(access.WrongState, match="escolher a própria senha"):
        _approve(result.pending, other_manager)
    deletion = deletions.deletion_request_create(
        actor=insider, reason="apagar rastros", ids=[sim.list("limit=1")["data"][0]["record_id"]]
    )
    with pytest.raises(deletions.NotAllowed):
        deletions.deletion_request_approve(
            deletion_id=deletion.pk, actor=alias, typed_count="1", auth_age_seconds=5.0
        )


# --- nobody changes their own reach -----------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"groups": [MANAGERS, ADMINS]},
        {"groups": []},
        {"customer_id": 3},
        {"is_active": False},
    ],
)
def test_nobody_changes_their_own_roles_scope_or_active_flag(
    managers: tuple[User, User], fields: dict[str, Any]
) -> None:
    me = managers[0]
    with pytest.raises(access.NotAllowed, match="próprios"):
        _change(me, me, **fields)
    assert _groups(me) == {MANAGERS}
    assert AccessChange.objects.count() == 0


def test_a_scoped_manager_cannot_clear_their_own_scope(db: None) -> None:
    me = make_user("gestor7", MANAGERS, customer_id=7)
    with pytest.raises(access.NotAllowed, match="próprios"):
        _change(me, me, customer_id=None)
    me.refresh_from_db()
    assert me.customer_id == 7


def test_a_manager_edits_their_own_name_but_not_their_roles_over_http(
    client: Client, managers: tuple[User, User]
) -> None:
    me = managers[0]
    client.force_login(me)
    client.post(
        f"/access/users/{me.pk}/",
        {"first_name": "Gus", "groups": [MANAGERS], "is_active": "on", "customer_id": ""},
    )
    me.refresh_from_db()
    assert me.first_name == "Gus"
    response = client.post(
        f"/access/users/{me.pk}/",
        {"first_name": "Gus", "groups": [MANAGERS, ADMINS], "is_active": "on"},
    )
    assert response.status_code == 400
    assert _groups(me) == {MANAGERS}


def test_the_approver_can_be_neither_the_requester_nor_the_user_changed(
    managers: tuple[User, User], db: None
) -> None:
    first, second = managers
    third = make_user("gilda", MANAGERS)
    sara = make_user("sara", SUPERVISORS)
    sara.must_change_password = False
    sara.save()
    # first asks for second, limited to subscriber 7, to reach every subscriber: second may
    # not approve it. (Not Administradores on top: nobody holds both, tests/test_redteam_*.)
    _change(first, second, customer_id=7)
    pending = _change(first, second, customer_id=None).pending
    assert pending is not None
    with pytest.raises(access.FourEyes, match="próprio acesso"):
        _approve(pending, second)
    assert not access.can_decide(pending, second)
    assert access.can_decide(pending, third)
    _approve(pending, third)
    assert User.objects.get(pk=second.pk).customer_id is None


# --- what widens waits; what narrows applies -------------------------------------------------


def test_widening_a_scope_waits_and_narrowing_applies_at_once(
    managers: tuple[User, User], db: None
) -> None:
    first, second = managers
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    for wider in (None, 3):
        result = _change(first, agent, customer_id=wider)
        assert result.pending is not None
        agent.refresh_from_db()
        assert agent.customer_id == 7
        access.access_change_cancel(change_id=result.pending.pk, actor=first)
    unscoped = make_user("geral", SUPERVISORS)
    assert _change(first, unscoped, customer_id=7).pending is None
    unscoped.refresh_from_db()
    assert unscoped.customer_id == 7
    assert _change(first, agent, groups=[], is_active=False).pending is None
    agent.refresh_from_db()
    assert (agent.is_active, _groups(agent)) == (False, set())
    reactivate = _change(second, agent, groups=[SUPERVISORS], is_active=True)
    assert reactivate.pending is None, "a scoped, unprivileged user comes back at once"


def test_reactivating_an_administrator_waits(managers: tuple[User, User], db: None) -> None:
    first, second = managers
    admin = make_user("adao", ADMINS)
    admin.must_change_password = False
    admin.save()
    assert _change(first, admin, is_active=False).pending is None
    pending = _change(first, admin, is_active=True).pending
    assert pending is not None
    admin.refresh_from_db()
    assert not admin.is_active
    _approve(pending, second)
    admin.refresh_from_db()
    assert admin.is_active


def test_a_new_user_for_every_subscriber_cannot_sign_in_until_approved(
    client: Client, managers: tuple[User, User]
) -> None:
    first, second = managers
    result = access.user_create(
        actor=first,
        username="geral",
        password=NEW_PASSWORD,
        groups=[SUPERVISORS],
        customer_id=None,
        reason="supervisão de todas as filiais",
    )
    assert result.pending is not None
    assert not client.login(username="geral", password=NEW_PASSWORD)
    _approve(result.pending, second)
    assert client.login(username="geral", password=NEW_PASSWORD)


def test_a_change_asks_for_a_reason(managers: tuple[User, User], db: None) -> None:
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    with pytest.raises(access.Invalid, match="motivo"):
        _change(managers[0], agent, customer_id=None, reason=" ")


# --- passwords --------------------------------------------------------------------------------


def test_a_password_set_by_a_manager_must_be_changed_at_next_sign_in(
    client: Client, managers: tuple[User, User]
) -> None:
    sara = make_user("sara", SUPERVISORS)
    access.password_reset(actor=managers[0], target_id=sara.pk, password=NEW_PASSWORD)
    assert client.login(username="sara", password=NEW_PASSWORD)
    response = client.get("/recordings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/password/?next=/recordings/")
    response = client.post(
        "/accounts/password/",
        {
            "old_password": NEW_PASSWORD,
            "new_password": "outra-senha-forte-99",
            "new_password2": "outra-senha-forte-99",
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/", "an outside next is ignored"
    sara.refresh_from_db()
    assert not sara.must_change_password
    assert [e.details["by"] for e in _events("password_set")] == ["manager", "self"]


def test_resetting_an_approvers_password_takes_the_role_until_a_second_manager_returns_it(
    client: Client, managers: tuple[User, User]
) -> None:
    first, second = managers
    admin = make_user("adao", ADMINS)
    access.password_reset(actor=first, target_id=admin.pk, password=NEW_PASSWORD)
    assert _groups(admin) == set(), "the manager knows the password: no approving with it"
    pending = _change(first, admin, groups=[ADMINS]).pending
    assert pending is not None
    with pytest.raises(access.WrongState, match="escolher a própria senha"):
        _approve(pending, second)
    admin.refresh_from_db()
    access.password_change_own(
        user=admin, old_password=NEW_PASSWORD, new_password="so-o-adao-sabe-77", request=None
    )
    _approve(pending, second)
    assert _groups(admin) == {ADMINS}


def test_a_manager_cannot_reset_their_own_password_through_the_access_pages(
    managers: tuple[User, User],
) -> None:
    with pytest.raises(access.NotAllowed):
        access.password_reset(actor=managers[0], target_id=managers[0].pk, password=NEW_PASSWORD)


def test_a_weak_password_is_refused_with_the_field_named(
    client: Client, managers: tuple[User, User]
) -> None:
    sara = make_user("sara", SUPERVISORS)
    client.force_login(managers[0])
    response = client.post(f"/access/users/{sara.pk}/password", {"password": "123"})
    assert response.status_code == 400
    assert response.context["password_form"].errors["password"]


# --- deciding -----------------------------------------------------------------------------------


def test_a_replayed_approval_does_nothing_more(client: Client, managers: tuple[User, User]) -> None:
    first, second = managers
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    pending = _change(first, agent, customer_id=None).pending
    assert pending is not None
    client.force_login(second)
    session = client.session
    session["auth_at"] = time.time()
    session.save()
    for _ in range(2):
        client.post(f"/access/changes/{pending.pk}/approve")
    assert len(_events("access_approved")) == 1
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (AccessChange.Status.APPLIED, second)


def test_approval_needs_a_recent_sign_in(client: Client, managers: tuple[User, User]) -> None:
    first, second = managers
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    pending = _change(first, agent, customer_id=None).pending
    assert pending is not None
    client.force_login(second)
    session = client.session
    session["auth_at"] = time.time() - 3600
    session.save()
    response = client.post(f"/access/changes/{pending.pk}/approve", {"password": "errada"})
    assert response.status_code == 400
    agent.refresh_from_db()
    assert agent.customer_id == 7
    client.post(f"/access/changes/{pending.pk}/approve", {"password": PASSWORD})
    agent.refresh_from_db()
    assert agent.customer_id is None


def test_an_expired_change_cannot_be_approved(
    managers: tuple[User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = managers
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    pending = _change(first, agent, customer_id=None).pending
    assert pending is not None
    later = timezone.now() + dt.timedelta(hours=25)
    monkeypatch.setattr(timezone, "now", lambda: later)  # the clock moves; nothing else can
    with pytest.raises(access.WrongState, match="expirou"):
        _approve(pending, second)
    pending.refresh_from_db()
    assert pending.status == AccessChange.Status.EXPIRED
    assert _events("access_expired")


def test_a_change_to_a_user_who_changed_meanwhile_is_not_applied(
    managers: tuple[User, User], db: None
) -> None:
    first, second = managers
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    pending = _change(first, agent, customer_id=None).pending
    assert pending is not None
    _change(second, agent, groups=[], customer_id=7)  # narrowed meanwhile
    with pytest.raises(access.WrongState, match="mudou desde o pedido"):
        _approve(pending, second)
    agent.refresh_from_db()
    assert agent.customer_id == 7


def test_a_scoped_manager_manages_only_their_subscriber(
    client: Client, managers: tuple[User, User]
) -> None:
    scoped = make_user("gestor7", MANAGERS, customer_id=7)
    other = make_user("agente3", SUPERVISORS, customer_id=3)
    client.force_login(scoped)
    assert client.get(f"/access/users/{other.pk}/").status_code == 404
    assert "agente3" not in client.get("/access/").content.decode()
    with pytest.raises(access.Invalid, match="assinante 7"):
        access.user_create(
            actor=scoped, username="x", password=NEW_PASSWORD, groups=[], customer_id=3
        )
    with pytest.raises(access.NotAllowed):
        _change(scoped, other, groups=[])


def test_the_database_refuses_an_applied_change_nobody_else_decided(
    managers: tuple[User, User], db: None
) -> None:
    first = managers[0]
    agent = make_user("agente", SUPERVISORS, customer_id=7)
    pending = _change(first, agent, customer_id=None).pending
    assert pending is not None
    for decider in (first, agent, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            AccessChange.objects.filter(pk=pending.pk).update(status="applied", decided_by=decider)


# --- the audit trail ---------------------------------------------------------------------------


def test_every_change_to_a_user_is_audited_with_before_and_after(
    client: Client, managers: tuple[User, User]
) -> None:
    first, second = managers
    result = access.user_create(
        actor=first, username="nova", password=NEW_PASSWORD, groups=[SUPERVISORS], customer_id=7
    )
    nova = result.user
    _change(first, nova, groups=[], first_name="Nova")
    nova.refresh_from_db()
    pending = _change(first, nova, groups=[SUPERVISORS], customer_id=None).pending
    assert pending is not None
    _approve(pending, second)
    access.password_reset(actor=second, target_id=nova.pk, password="mais-uma-senha-boa-1")
    actions = [
        e.action for e in AuditEvent.objects.filter(details__target_id=nova.pk).order_by("seq")
    ]
    assert actions == [
        "user_created",
        "password_set",
        "user_changed",
        "access_requested",
        "access_approved",
        "password_set",
    ]
    changed = _events("user_changed")[0].details
    assert changed["before"]["groups"] == [SUPERVISORS]
    assert changed["after"]["groups"] == []
    approved = _events("access_approved")[0]
    assert approved.actor == second
    assert approved.details["before"]["customer_id"] == 7
    assert approved.details["after"]["customer_id"] is None
    assert NEW_PASSWORD not in str(list(AuditEvent.objects.values_list("details", flat=True)))
    client.force_login(first)
    history = client.get(f"/access/users/{nova.pk}/").context["history"]
    assert history[0].action == "password_set"


def test_an_access_manager_lands_on_the_access_pages(
    client: Client, managers: tuple[User, User]
) -> None:
    client.force_login(managers[0])
    assert client.get("/")["Location"] == "/access/"
    client.force_login(make_user("sara", SUPERVISORS))
    assert client.get("/")["Location"] == "/recordings/"


def test_a_grant_waiting_for_the_users_own_password_can_still_be_rejected(
    managers: tuple[User, User], db: None
) -> None:
    first, second = managers
    sara = make_user("sara", SUPERVISORS)
    sara.must_change_password = True
    sara.save()
    pending = _change(first, sara, groups=[ADMINS]).pending
    assert pending is not None
    with pytest.raises(access.WrongState, match="escolher a própria senha"):
        _approve(pending, second)
    access.access_change_reject(change_id=pending.pk, actor=second, reason="não precisa")
    pending.refresh_from_db()
    assert pending.status == AccessChange.Status.REJECTED


def test_roles_are_named_in_the_readers_language(
    client: Client, managers: tuple[User, User]
) -> None:
    make_user("sara", "Supervisores")
    client.force_login(managers[0])
    assert "Supervisores" in client.get("/access/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/access/"})
    page = client.get("/access/").content.decode()
    assert "Supervisors" in page and "Access managers" in page
    assert "Supervisores" not in page and "Gestores de acesso" not in page
    form = client.get("/access/users/new").content.decode()
    assert "QA reviewers" in form and "Data protection officer (DPO)" in form
