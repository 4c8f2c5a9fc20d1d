"""Managing extension scopes with four eyes: narrowing applies at once, widening or clearing
waits for a second manager, and a manager limited to extensions manages only within them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts import services as access
from accounts.models import AccessChange
from audit.models import AuditEvent
from recordings.models import User
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SUPERVISORS, MANAGERS = "Supervisores", "Gestores de acesso"


@pytest.fixture
def managers(db: None) -> tuple[User, User]:
    return make_user("gustavo", MANAGERS), make_user("gabriela", MANAGERS)


def _change(actor: User, target: User, **fields: Any) -> access.ChangeResult:
    state = access.state_of(target)
    values: dict[str, Any] = {
        "groups": sorted(state.groups),
        "customer_id": state.customer_id,
        "extensions": state.extensions,
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


def _reload(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-seq")[0]


def test_limiting_to_extensions_applies_at_once(managers: tuple[User, User]) -> None:
    target = make_user("sara", SUPERVISORS)
    result = _change(managers[0], target, extensions=" 4111-4120, 4101-4110 ")
    assert result.pending is None
    assert _reload(target).extensions == "4101-4120"
    event = _last("user_changed")
    assert event.details["before"]["extensions"] == ""
    assert event.details["after"]["extensions"] == "4101-4120"


@pytest.mark.parametrize(
    ("before", "after", "waits"),
    [
        ("4101-4120", "4105-4110", False),  # narrower
        ("4101-4120", "4101-4110, 4115", False),
        ("4101-4120", "4101-4121", True),  # one more extension
        ("4101-4120", "2003", True),  # another team
        ("4101-4120", "", True),  # cleared: every extension
        ("", "4101", False),  # from everything to one extension
    ],
)
def test_widening_or_clearing_extensions_waits_for_a_second_manager(
    managers: tuple[User, User], before: str, after: str, waits: bool
) -> None:
    target = make_user("sara", SUPERVISORS, customer_id=21, extensions=before)
    result = _change(managers[0], target, extensions=after)
    assert (result.pending is not None) == waits
    if not waits:
        assert _reload(target).extensions == after
        return
    assert _reload(target).extensions == before  # nothing applied yet
    assert result.pending is not None
    assert result.pending.before["extensions"] == before
    assert result.pending.after["extensions"] == after
    requested = _last("access_requested")
    assert requested.details["why"] == ["wider_scope"]
    with pytest.raises(access.FourEyes):
        _approve(result.pending, managers[0])
    _approve(result.pending, managers[1])
    assert _reload(target).extensions == after
    approved = _last("access_approved")
    assert approved.details["before"]["extensions"] == before
    assert approved.details["after"]["extensions"] == after


def test_a_pending_change_goes_stale_when_the_extensions_change_meanwhile(
    managers: tuple[User, User],
) -> None:
    target = make_user("sara", SUPERVISORS, extensions="4101-4110")
    pending = _change(managers[0], target, extensions="4101-4120").pending
    assert pending is not None
    _change(managers[1], _reload(target), extensions="4101")  # narrowed at once
    with pytest.raises(access.WrongState):
        _approve(pending, managers[1])
    assert _reload(target).extensions == "4101"


def test_bad_extensions_are_refused_naming_the_field(managers: tuple[User, User]) -> None:
    target = make_user("sara", SUPERVISORS)
    with pytest.raises(access.Invalid) as caught:
        _change(managers[0], target, extensions="4120-4101")
    assert caught.value.field == "extensions"
    client = Client()
    client.force_login(managers[0])
    response = client.post(
        f"/access/users/{target.pk}/",
        {"groups": [SUPERVISORS], "is_active": "on", "extensions": "4101-41200"},
    )
    assert response.status_code == 400
    assert "4101-41200" in response.context["form"].errors["extensions"][0]
    assert _reload(target).extensions == ""


def test_the_page_stores_the_canonical_text(managers: tuple[User, User]) -> None:
    target = make_user("sara", SUPERVISORS)
    client = Client()
    client.force_login(managers[0])
    response = client.post(
        f"/access/users/{target.pk}/",
        {"groups": [SUPERVISORS], "is_active": "on", "extensions": "4111-4120; 4101 - 4110 2003"},
    )
    assert response.status_code == 302
    assert _reload(target).extensions == "2003, 4101-4120"
    home = client.get("/access/").content.decode()
    assert "2003, 4101-4120" in home


# --- a manager limited to extensions ------------------------------------------------------


@pytest.fixture
def team_manager(db: None) -> User:
    return make_user("lider", MANAGERS, extensions="4101-4120")


def test_a_team_manager_sees_and_manages_only_users_within(
    team_manager: User, managers: tuple[User, User]
) -> None:
    inside = make_user("dentro", SUPERVISORS, extensions="4105-4110")
    inside_21 = make_user("dentro21", SUPERVISORS, customer_id=21, extensions="4101")
    wider = make_user("maior", SUPERVISORS, extensions="4101-4130")
    subscriber = make_user("assinante", SUPERVISORS, customer_id=21)
    everyone = make_user("todos", SUPERVISORS)
    client = Client()
    client.force_login(team_manager)
    listed = {u.username for u in client.get("/access/").context["users"]}
    assert listed == {"dentro", "dentro21", "lider"}  # themselves too, to read, not to change
    for outside in (wider, subscriber, everyone):
        assert client.get(f"/access/users/{outside.pk}/").status_code == 404
        assert not access.can_manage(team_manager, outside)
        with pytest.raises(access.NotAllowed):
            _change(team_manager, outside, extensions="4101")
    assert access.can_manage(team_manager, inside)
    assert access.can_manage(team_manager, inside_21)


def test_a_team_manager_gives_no_extension_beyond_theirs(
    team_manager: User, managers: tuple[User, User]
) -> None:
    inside = make_user("dentro", SUPERVISORS, extensions="4105-4110")
    with pytest.raises(access.Invalid) as caught:
        _change(team_manager, inside, extensions="4105-4125")
    assert caught.value.field == "extensions"
    with pytest.raises(access.Invalid):
        _change(team_manager, inside, extensions="")  # clearing: every extension
    assert _change(team_manager, inside, extensions="4105").pending is None


def test_a_team_manager_cannot_approve_beyond_their_team(
    team_manager: User, managers: tuple[User, User]
) -> None:
    inside = make_user("dentro", SUPERVISORS, extensions="4105-4110")
    pending = _change(managers[0], inside, extensions="4101-4130").pending
    assert pending is not None
    assert not access.can_decide(pending, team_manager)
    with pytest.raises(access.NotAllowed):
        _approve(pending, team_manager)
    within = make_user("dentro2", SUPERVISORS, extensions="4105")
    pending_within = _change(managers[0], within, extensions="4101-4120").pending
    assert pending_within is not None
    assert access.can_decide(pending_within, team_manager)
    _approve(pending_within, team_manager)
    assert _reload(within).extensions == "4101-4120"


def test_a_team_manager_creates_users_within_their_team(team_manager: User) -> None:
    created = access.user_create(
        actor=team_manager,
        username="novo",
        password="um-cavalo-azul-2026",
        groups=[SUPERVISORS],
        customer_id=21,
        extensions="4101-4105",
    )
    assert created.pending is None and created.user.is_active
    # Without a subscriber, a new user waits for a second manager, extensions or not.
    waiting = access.user_create(
        actor=team_manager,
        username="novo2",
        password="um-cavalo-azul-2026",
        groups=[SUPERVISORS],
        customer_id=None,
        extensions="4101-4105",
        reason="equipe nova",
    )
    assert waiting.pending is not None and not waiting.user.is_active
    with pytest.raises(access.Invalid):
        access.user_create(
            actor=team_manager,
            username="novo3",
            password="um-cavalo-azul-2026",
            groups=[SUPERVISORS],
            customer_id=21,
            extensions="2003",
        )


def test_the_change_page_shows_extensions_before_and_after(managers: tuple[User, User]) -> None:
    target = make_user("sara", SUPERVISORS, extensions="4101")
    pending = _change(managers[0], target, extensions="4101-4120").pending
    assert pending is not None
    client = Client()
    client.force_login(managers[1])
    page = client.get(f"/access/changes/{pending.pk}/").content.decode()
    assert "4101-4120" in page and ">4101<" in page
