"""The account seal (accounts.seal) against someone who holds only the database: each attack
is raw SQL, as a DBA would write it, and none of them signs anyone in or grants anything.
The app's own changes keep every user working."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client

from accounts import seal
from accounts import services as access
from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionRequest
from recordings.models import User
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

PASSWORD = "pw-for-tests"
KNOWN = "senha-que-o-dba-conhece"
SUPERVISORS, ADMINS, MANAGERS = "Supervisores", "Administradores", "Gestores de acesso"
APPROVE = "recordings.approve_deletion"


def _sql(statement: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


def _group_id(name: str) -> int:
    return Group.objects.get(name=name).pk


def _refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="access_denied", outcome="refused"))


def _signs_in(username: str, password: str) -> bool:
    return Client().login(username=username, password=password)


# --- what the app writes is sealed ---------------------------------------------------------


def test_every_user_the_app_creates_is_sealed_with_the_current_key(db: None, settings: Any) -> None:
    user = make_user("sara", SUPERVISORS, customer_id=7)
    stored = _fresh(user)
    key_id, _, mac = stored.seal.rpartition(":")
    assert (key_id, len(mac)) == (settings.AUDIT_HMAC_KEY_ID, 64)
    assert seal.is_valid(stored)
    assert seal.stored_is_valid(User, user.pk)
    assert _signs_in("sara", PASSWORD)


def test_an_empty_seal_is_invalid(db: None) -> None:
    user = make_user("sara", SUPERVISORS)
    _sql("UPDATE recordings_user SET seal = '' WHERE id = %s", [user.pk])
    assert not seal.is_valid(_fresh(user))
    assert not _signs_in("sara", PASSWORD)


# --- 1. passwords and new rows ------------------------------------------------------------


def test_an_overwritten_password_hash_signs_nobody_in_and_is_audited(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    make_user("adao", ADMINS)
    _sql(
        "UPDATE recordings_user SET password = %s WHERE username = 'adao'",
        [make_password(KNOWN)],
    )
    client = Client()
    with caplog.at_level(logging.ERROR, logger="accounts.seal"):
        response = client.post("/accounts/login/", {"username": "adao", "password": KNOWN})
    assert response.status_code == 200, "the form again, no session"
    assert "_auth_user_id" not in client.session
    assert client.get("/recordings/").status_code == 302
    [refused] = _refusals()
    assert refused.details["why"] == "account seal"
    assert refused.actor_username == "adao"
    assert any("account seal" in r.getMessage() for r in caplog.records)
    assert not any(KNOWN in r.getMessage() for r in caplog.records)


def test_a_user_row_inserted_by_sql_cannot_sign_in_even_with_a_copied_seal(db: None) -> None:
    real = make_user("sara", SUPERVISORS)
    for username, copied in (("intruso", ""), ("intruso2", _fresh(real).seal)):
        _sql(
            "INSERT INTO recordings_user (password, is_superuser, username, first_name,"
            " last_name, email, is_staff, is_active, date_joined, must_change_password, seal)"
            " VALUES (%s, FALSE, %s, '', '', '', FALSE, TRUE, CURRENT_TIMESTAMP, FALSE, %s)",
            [make_password(KNOWN), username, copied],
        )
        assert not _signs_in(username, KNOWN)
    assert len(_refusals()) == 2


# --- 2. groups, permissions, superuser, scope, activity -----------------------------------


def test_a_group_added_by_sql_grants_nothing_and_the_session_ends(
    db: None, sim: SimulatorProcess
) -> None:
    requester = make_user("sara", SUPERVISORS)
    dba = make_user("dba", SUPERVISORS)
    deletion = deletions.deletion_request_create(
        actor=requester,
        reason="LGPD: pedido do titular",
        ids=[sim.list("limit=1")["data"][0]["record_id"]],
    )
    client = Client()
    client.force_login(dba)
    _sql(
        "INSERT INTO recordings_user_groups (user_id, group_id) VALUES (%s, %s)",
        [dba.pk, _group_id(ADMINS)],
    )
    stored = _fresh(dba)
    assert ADMINS in set(stored.groups.values_list("name", flat=True)), "the row is there"
    assert not stored.has_perm(APPROVE)
    assert stored.get_all_permissions() == set()
    response = client.post(
        f"/deletions/{deletion.pk}/approve", {"typed_count": str(deletion.count)}
    )
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert DeletionRequest.objects.get(pk=deletion.pk).status == DeletionRequest.Status.PENDING
    with pytest.raises(deletions.DeletionError):
        deletions.deletion_request_approve(
            deletion_id=deletion.pk,
            actor=stored,
            typed_count=str(deletion.count),
            auth_age_seconds=5.0,
        )
    assert not _signs_in("dba", PASSWORD)


def test_a_permission_given_by_sql_grants_nothing(db: None) -> None:
    from django.contrib.auth.models import Permission

    user = make_user("dba", SUPERVISORS)
    approve = Permission.objects.get(codename="approve_deletion")
    _sql(
        "INSERT INTO recordings_user_user_permissions (user_id, permission_id) VALUES (%s, %s)",
        [user.pk, approve.pk],
    )
    stored = _fresh(user)
    assert not stored.has_perm(APPROVE)
    assert not stored.has_perm("recordings.view_recording"), "not even what the role held"


def test_a_permission_given_to_a_role_by_sql_grants_nothing(db: None) -> None:
    from django.contrib.auth.models import Permission

    user = make_user("dba", SUPERVISORS)
    admin = make_user("chefe", ADMINS)
    approve = Permission.objects.get(codename="approve_deletion")
    # No user's row changes: the role itself is given the permission in the database.
    _sql(
        "INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (%s, %s)",
        [_group_id(SUPERVISORS), approve.pk],
    )
    stored = _fresh(user)
    assert stored.has_perm("recordings.view_recording"), "the role still holds what it holds"
    assert not stored.has_perm(APPROVE)
    assert _fresh(admin).has_perm(APPROVE), "a role that does hold it keeps it"
    client = Client()
    client.force_login(stored)
    assert client.get("/deletions/").status_code == 200
    assert not client.get("/deletions/").context["perms"]["recordings"]["approve_deletion"]


def test_superuser_set_by_sql_holds_nothing(db: None) -> None:
    user = make_user("dba", SUPERVISORS)
    _sql("UPDATE recordings_user SET is_superuser = TRUE WHERE id = %s", [user.pk])
    stored = _fresh(user)
    assert stored.is_superuser
    assert not stored.has_perm(APPROVE)
    assert not stored.has_module_perms("recordings")
    assert not _signs_in("dba", PASSWORD)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE recordings_user SET customer_id = NULL WHERE id = %s",
        "UPDATE recordings_user SET extensions = '' WHERE id = %s",
        "UPDATE recordings_user SET is_staff = TRUE WHERE id = %s",
        "UPDATE recordings_user SET username = 'outro' WHERE id = %s",
        "UPDATE recordings_user SET must_change_password = TRUE WHERE id = %s",
    ],
)
def test_a_widened_scope_holds_no_permission(db: None, statement: str) -> None:
    user = make_user("equipe", SUPERVISORS, customer_id=7, extensions="2003, 4101-4110")
    assert _fresh(user).has_perm("recordings.view_recording")
    _sql(statement, [user.pk])
    stored = _fresh(user)
    assert stored.get_all_permissions() == set()
    assert not stored.has_perm("recordings.view_recording")
    assert not _signs_in(stored.username, PASSWORD)


def test_a_user_reactivated_by_sql_cannot_sign_in(db: None) -> None:
    user = make_user("ex", SUPERVISORS)
    user.is_active = False
    user.save()
    assert not _signs_in("ex", PASSWORD)
    _sql("UPDATE recordings_user SET is_active = TRUE WHERE id = %s", [user.pk])
    assert not _signs_in("ex", PASSWORD)
    assert not _fresh(user).has_perm("recordings.view_recording")


# --- the app's changes: resealed; a tampered account: refused, never re-blessed --------------


def test_the_apps_own_changes_keep_the_user_working(db: None) -> None:
    user = User.objects.create_user("nova", password=PASSWORD)
    assert _signs_in("nova", PASSWORD)
    user.set_password("outra-senha-boa")
    user.save()
    assert _signs_in("nova", "outra-senha-boa")
    user.groups.add(Group.objects.get(name=ADMINS))
    assert _fresh(user).has_perm(APPROVE)
    user.groups.remove(Group.objects.get(name=ADMINS))
    assert not _fresh(user).has_perm(APPROVE)
    Group.objects.get(name=SUPERVISORS).user_set.add(user)  # from the group's side
    assert _fresh(user).has_perm("recordings.view_recording")
    user.groups.clear()
    user.customer_id, user.extensions = 7, "2003"
    user.save(update_fields=["customer_id", "extensions"])
    assert seal.is_valid(_fresh(user))
    assert _signs_in("nova", "outra-senha-boa")


def test_deleting_a_group_reseals_its_members(db: None) -> None:
    group = Group.objects.create(name="Temporário")
    user = make_user("sara", SUPERVISORS)
    user.groups.add(group)
    group.delete()
    assert seal.is_valid(_fresh(user))


def test_the_access_management_flow_keeps_users_working(db: None) -> None:
    first, second = make_user("gustavo", MANAGERS), make_user("gabriela", MANAGERS)
    result = access.user_create(
        actor=first,
        username="geral",
        password="um-cavalo-azul-2026",
        groups=[SUPERVISORS],
        customer_id=None,
        reason="supervisão de todas as filiais",
    )
    assert result.pending is not None
    access.access_change_approve(change_id=result.pending.pk, actor=second, auth_age_seconds=5.0)
    assert _signs_in("geral", "um-cavalo-azul-2026")
    access.password_reset(actor=first, target_id=result.user.pk, password="outra-senha-de-2026")
    target = _fresh(result.user)
    access.password_change_own(
        user=target,
        old_password="outra-senha-de-2026",
        new_password="minha-propria-senha-26",
        request=None,
    )
    assert _signs_in("geral", "minha-propria-senha-26")
    assert _fresh(result.user).has_perm("recordings.view_recording")


def test_seed_demo_users_can_sign_in(db: None, settings: Any) -> None:
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # again: kept, still sealed
    for username in ("admin", "equipe", "access"):
        assert _signs_in(username, "vono-demo")
    assert _fresh(User.objects.get(username="equipe")).has_perm("recordings.view_recording")


def test_an_app_save_of_a_tampered_user_raises_instead_of_resealing(db: None) -> None:
    user = make_user("dba", SUPERVISORS)
    _sql(
        "INSERT INTO recordings_user_groups (user_id, group_id) VALUES (%s, %s)",
        [user.pk, _group_id(ADMINS)],
    )
    stored = _fresh(user)
    managers = Group.objects.get(name=MANAGERS)
    with pytest.raises(seal.TamperedAccount), transaction.atomic():
        stored.save()
    with pytest.raises(seal.TamperedAccount), transaction.atomic():
        stored.groups.add(managers)
    with pytest.raises(seal.TamperedAccount), transaction.atomic():
        managers.user_set.add(stored)
    with pytest.raises(seal.TamperedAccount), transaction.atomic():
        access.password_change_own(
            user=stored, old_password=PASSWORD, new_password="nova-senha-boa-26", request=None
        )
    assert MANAGERS not in set(stored.groups.values_list("name", flat=True))
    stored.save(update_fields=["last_login"])  # update_last_login: no reseal, no laundering
    assert not seal.stored_is_valid(User, user.pk)
    assert not _fresh(user).has_perm("recordings.view_recording")


def test_a_seal_made_with_a_retired_key_still_verifies(db: None, settings: Any) -> None:
    user = make_user("sara", SUPERVISORS)
    old = _fresh(user).seal
    assert old.startswith(f"{settings.AUDIT_HMAC_KEY_ID}:")
    settings.AUDIT_HMAC_OLD_KEYS = {settings.AUDIT_HMAC_KEY_ID: settings.AUDIT_HMAC_KEY}
    settings.AUDIT_HMAC_KEY, settings.AUDIT_HMAC_KEY_ID = "a-new-audit-key-for-tests", "k2"
    assert seal.is_valid(_fresh(user))
    assert _signs_in("sara", PASSWORD)
    user.set_password("outra-senha-boa")
    user.save()
    assert _fresh(user).seal.startswith("k2:"), "each reseal uses the current key"
    settings.AUDIT_HMAC_OLD_KEYS = {}
    assert seal.is_valid(_fresh(user))
    _sql("UPDATE recordings_user SET seal = %s WHERE id = %s", [old, user.pk])
    assert not seal.is_valid(_fresh(user)), "an old seal of another state, and its key gone"


def test_reseal_all_seals_every_row_as_stored(db: None) -> None:
    user = make_user("sara", SUPERVISORS)
    _sql("UPDATE recordings_user SET seal = '' WHERE id = %s", [user.pk])
    assert seal.reseal_all(User) == 1
    assert _signs_in("sara", PASSWORD)


def test_account_seals_names_the_tampered_and_rekeys_the_rest(db: None, settings: Any) -> None:
    from django.core.management.base import CommandError

    make_user("sara", SUPERVISORS)
    dba = make_user("dba", SUPERVISORS)
    call_command("account_seals", verbosity=0)
    settings.AUDIT_HMAC_OLD_KEYS = {settings.AUDIT_HMAC_KEY_ID: settings.AUDIT_HMAC_KEY}
    settings.AUDIT_HMAC_KEY, settings.AUDIT_HMAC_KEY_ID = "a-new-audit-key-for-tests", "k2"
    _sql("UPDATE recordings_user SET is_superuser = TRUE WHERE id = %s", [dba.pk])
    with pytest.raises(CommandError, match=r"1 user.*: dba"):
        call_command("account_seals", "--rekey", verbosity=0)
    assert User.objects.get(username="sara").seal.startswith("k2:")
    settings.AUDIT_HMAC_OLD_KEYS = {}
    assert _signs_in("sara", PASSWORD)
    assert not _signs_in("dba", PASSWORD)


def test_a_superuser_made_on_the_server_is_sealed_and_holds_everything(db: None) -> None:
    call_command("createsuperuser", "--noinput", username="root", email="r@example.com")
    root = User.objects.get(username="root")
    root.set_password("senha-do-servidor-1")
    root.save()
    assert _signs_in("root", "senha-do-servidor-1")
    assert _fresh(root).has_perm(APPROVE)
    _sql("UPDATE recordings_user SET customer_id = 7 WHERE id = %s", [root.pk])
    assert not _fresh(root).has_perm(APPROVE), "even a superuser, once their row is edited"
