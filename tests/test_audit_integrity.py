"""Someone who holds only the database cannot rewrite what happened: the chain is keyed with
a secret outside the database, signed checkpoints outside it say how far it went, and the
append-only triggers obey no session setting. ``audit_verify`` reads one snapshot, so it never
cries wolf while the app writes."""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from audit import chain
from audit import services as audit
from audit.checks import audit_table_owner
from audit.models import AuditChainHead, AuditEvent
from tests.conftest import make_user

needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="roles and triggers are PostgreSQL's; CI runs this there",
)
APP_ROLE = "vonoportal_app_test"


def _verify() -> str:
    try:
        call_command("audit_verify", stdout=open("/dev/null", "w"))  # noqa: SIM115
    except CommandError as exc:
        return str(exc)
    return "intact"


@pytest.fixture
def events(db: None, django_capture_on_commit_callbacks: Any) -> list[AuditEvent]:
    # The test's transaction never commits: run the after-commit checkpoints as if it had.
    with django_capture_on_commit_callbacks(execute=True):
        written = [
            audit.record_event(action=audit.Action.PLAY, record_ids=[n], details={"n": n})
            for n in range(1, 51)
        ]
    assert _verify() == "intact"
    return written


def _as_owner(sql: str, params: list[Any]) -> None:
    """Run SQL with every trigger off, as the table's owner or a DBA could."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # superuser only
        cursor.execute(sql, params)


def _rechain_from(start: int, mac: Any) -> None:
    """Recompute every MAC from event ``start`` on with ``mac``, and move the head: the
    attacker's repair after an edit."""
    previous = AuditEvent.objects.get(seq=start - 1).hash if start > 1 else chain.GENESIS
    for event in AuditEvent.objects.filter(seq__gte=start).order_by("seq"):
        event.prev_hash = previous
        event.hash = mac(event)
        _as_owner(
            "UPDATE recordings_auditevent SET prev_hash = %s, hash = %s, key_id = %s WHERE id = %s",
            [event.prev_hash, event.hash, event.key_id, event.pk],
        )
        previous = event.hash
    _as_owner("UPDATE recordings_auditchainhead SET hash = %s WHERE id = 1", [previous])


def _edit_event_30() -> AuditEvent:
    victim = AuditEvent.objects.get(seq=30)
    victim.details = {"n": 30, "note": "nothing to see"}
    _as_owner(
        "UPDATE recordings_auditevent SET details = %s WHERE id = %s",
        [json.dumps(victim.details), victim.pk],
    )
    return victim


def test_an_edit_rechained_without_the_key_is_detected(events: list[AuditEvent]) -> None:
    _edit_event_30()

    def guessed_key(event: AuditEvent) -> str:  # the project's own function, any other key
        event.key_id = "t1"
        message = f"{event.prev_hash}\n{chain.canonical_content(event)}".encode()
        import hmac

        return hmac.new(b"a guessed key", message, hashlib.sha256).hexdigest()

    _rechain_from(30, guessed_key)
    assert _verify().startswith("audit chain broken at event #30")


def test_an_edit_rechained_as_the_old_unkeyed_chain_is_detected(events: list[AuditEvent]) -> None:
    _edit_event_30()

    def unkeyed(event: AuditEvent) -> str:
        event.key_id = chain.LEGACY_KEY_ID
        return chain.event_mac(event)  # plain SHA-256, as before keys existed

    _rechain_from(30, unkeyed)
    assert "event #30" in _verify()


def test_an_edit_rechained_with_the_key_is_still_caught_by_the_checkpoints(
    events: list[AuditEvent],
) -> None:
    """Even a thief of the key who edits the past cannot match the checkpoints already out."""
    _edit_event_30()
    _rechain_from(30, chain.event_mac)
    assert "differs from its signed checkpoint" in _verify()


def test_deleting_the_newest_events_and_moving_the_head_back_is_detected(
    events: list[AuditEvent],
) -> None:
    keep = events[44]
    _as_owner("DELETE FROM recordings_auditevent WHERE seq > %s", [keep.seq])
    _as_owner(
        "UPDATE recordings_auditchainhead SET seq = %s, hash = %s WHERE id = 1",
        [keep.seq, keep.hash],
    )
    message = _verify()
    assert "events #46 to #50 are missing: a signed checkpoint saw #50" in message


def test_a_forged_checkpoint_is_detected(events: list[AuditEvent], settings: Any) -> None:
    path = next(settings.AUDIT_CHECKPOINT_DIR.glob("checkpoints-*.jsonl"))
    line = json.loads(path.read_text().splitlines()[-1])
    line.update(seq=10**6)
    with path.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    assert "forged" in _verify()


def test_checkpoints_are_logged_for_a_siem(
    db: None, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        event = audit.record_event(action=audit.Action.SEARCH)
    lines = [r.getMessage() for r in caplog.records if r.name == "audit.checkpoint"]
    assert len(lines) == 1
    logged = json.loads(lines[0].removeprefix("audit checkpoint "))
    assert (logged["seq"], logged["hash"]) == (event.seq, event.hash)
    assert chain.Checkpoint(**logged).is_authentic()


def test_a_rotated_key_verifies_old_events_while_it_is_kept(
    events: list[AuditEvent], settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    old_key = settings.AUDIT_HMAC_KEY
    settings.AUDIT_HMAC_KEY, settings.AUDIT_HMAC_KEY_ID = "a brand new key", "t2"
    settings.AUDIT_HMAC_OLD_KEYS = {"t1": old_key}
    with django_capture_on_commit_callbacks(execute=True):
        newer = audit.record_event(action=audit.Action.SEARCH)
    assert newer.key_id == "t2"
    assert _verify() == "intact"
    settings.AUDIT_HMAC_OLD_KEYS = {}
    assert "unknown key 't1'" in _verify() or "forged" in _verify()


def test_nul_bytes_and_secrets_in_what_a_client_sends_never_lose_the_event(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # its checkpoint too
        event = audit.record_event(
            action=audit.Action.ACCESS_DENIED,
            details={"customer_id": "\x00", "path\x00": "/x\x00"},
            outcome="denied\x00",
        )
    event.refresh_from_db()
    assert event.details == {"customer_id": "", "path": "/x"}
    assert _verify() == "intact"


# --- a consistent snapshot ----------------------------------------------------------------------


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_verify_while_the_app_writes_raises_no_false_alarm(settings: Any) -> None:
    for n in range(20):
        audit.record_event(action=audit.Action.PLAY, record_ids=[n])
    stop = threading.Event()

    def write() -> None:
        try:
            while not stop.is_set():
                audit.record_event(action=audit.Action.SEARCH)
        finally:
            connection.close()

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    try:
        results = [audit.verify_chain() for _ in range(5)]
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert [r.broken for r in results] == [None] * 5
    assert results[-1].checked > 20
    assert results[-1].checkpoints >= 20, "checkpoints were written after each commit"


# --- the database role ---------------------------------------------------------------------------


def _app_role() -> None:
    """A role like production's: it does not own the audit table (and here even holds
    UPDATE, DELETE and TRUNCATE, to show the triggers are what refuses)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DO $$ BEGIN CREATE ROLE {APP_ROLE} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE recordings_auditevent SET outcome = 'forged'",
        "DELETE FROM recordings_auditevent",
        "TRUNCATE recordings_auditevent",
        "UPDATE recordings_auditchainhead SET seq = 1",
        "DELETE FROM recordings_auditchainhead",
    ],
)
def test_a_non_owner_role_cannot_switch_the_guard_off_with_a_session_setting(
    events: list[AuditEvent], sql: str
) -> None:
    _app_role()
    ignore = (
        "{pgtrigger_append_only_update_ee435,pgtrigger_append_only_delete_de961,"
        "pgtrigger_append_only_truncate_a38bb,audit_append_only,audit_append_only_truncate,"
        "audit_head_forward_only}"
    )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        cursor.execute("SET LOCAL pgtrigger.ignore = %s", [ignore])
        cursor.execute(sql)
    assert AuditEvent.objects.count() == 50


@needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE recordings_auditevent DISABLE TRIGGER audit_append_only",
        "DROP TRIGGER audit_append_only ON recordings_auditevent",
        "SET LOCAL session_replication_role = replica",
    ],
)
def test_a_non_owner_role_cannot_remove_the_triggers(events: list[AuditEvent], sql: str) -> None:
    _app_role()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        cursor.execute(sql)


@needs_postgres
def test_the_app_role_writes_events_with_insert_and_select_only(events: list[AuditEvent]) -> None:
    _app_role()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON recordings_auditevent FROM {APP_ROLE}")
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        event = audit.record_event(action=audit.Action.SEARCH)
        assert audit_table_owner() == [], "a non-owner with INSERT and SELECT: no warning"
    assert event.seq == 51


@needs_postgres
def test_the_deploy_check_warns_when_the_app_owns_the_audit_table(db: None) -> None:
    warnings = audit_table_owner()  # the suite connects as the owner (a superuser)
    assert [w.id for w in warnings] == ["audit.W001"]


# --- who sees which events ---------------------------------------------------------------------


def test_a_scoped_admin_sees_only_their_subscribers_and_their_own_events(
    client: Client, db: None
) -> None:
    scoped = make_user("chefe7", "Administradores", customer_id=7)
    colleague = make_user("colega7", "Supervisores", customer_id=7)
    outsider = make_user("outro3", "Supervisores", customer_id=3)
    audit.record_event(action=audit.Action.EXPORT, actor=outsider, details={"ip": "x"})
    audit.record_event(action=audit.Action.PLAY, actor=colleague, record_ids=[7001])
    audit.record_event(action=audit.Action.PLAY, customer_id=3, record_ids=[3001])
    audit.record_event(action=audit.Action.PLAY, customer_id=7, record_ids=[7002])
    audit.record_event(action=audit.Action.DOWNLOAD, actor=scoped, customer_id=3)
    client.force_login(scoped)
    page = client.get("/audit/")
    seen = {(e.actor_username, e.action) for e in page.context["page"].object_list}
    assert ("outro3", "export") not in seen
    assert ("", "play") in seen  # the subscriber 7 play without an actor
    assert ("colega7", "play") in seen
    assert ("chefe7", "download") in seen, "their own events, whatever the subscriber"
    assert 3001 not in {i for e in page.context["page"].object_list for i in e.record_ids}
    csv = b"".join(client.get("/audit/export.csv").streaming_content).decode("utf-8-sig")
    assert "outro3" not in csv
    assert "3001" not in csv
    assert "7002" in csv


def test_an_unscoped_admin_sees_every_event(client: Client, db: None) -> None:
    audit.record_event(action=audit.Action.PLAY, customer_id=3, record_ids=[3001])
    client.force_login(make_user("geral", "Administradores"))
    assert "3001" in b"".join(client.get("/audit/export.csv").streaming_content).decode()


def test_the_head_never_moves_back_on_postgres_even_for_the_app(events: list[AuditEvent]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the head's trigger is PostgreSQL's")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditChainHead.objects.filter(pk=1).update(seq=10, hash=events[9].hash)
