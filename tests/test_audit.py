"""The audit log: what is recorded, append-only in PostgreSQL, and its hash chain."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from audit import services as audit
from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionRequest
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="triggers and concurrent transactions are PostgreSQL's; CI runs this there",
)


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


# --- what is recorded ------------------------------------------------------------------------


def test_sign_in_failure_and_sign_out_are_recorded(client: Client, db: None) -> None:
    make_user("maria", "Supervisores")
    client.post(
        "/accounts/login/",
        {"username": "maria", "password": "nope"},
        HTTP_USER_AGENT="Chrome/150",
        REMOTE_ADDR="10.1.2.3",
    )
    client.post("/accounts/login/", {"username": "maria", "password": "pw-for-tests"})
    client.post("/accounts/logout/")
    assert _actions() == ["login_failed", "login", "logout"]
    failed = AuditEvent.objects.get(action="login_failed")
    assert failed.details == {"username": "maria"}
    assert (failed.ip, failed.user_agent, failed.outcome) == ("10.1.2.3", "Chrome/150", "refused")
    assert AuditEvent.objects.get(action="login").actor_username == "maria"


def test_searches_exports_and_denials_are_recorded(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    supervisor_client.get("/recordings/?date_ini=2026-11-01&date_end=2026-11-02&customer_id=7")
    b"".join(
        supervisor_client.get(
            "/recordings/export.csv?date_ini=2026-11-01&date_end=2026-11-02"
        ).streaming_content
    )
    supervisor_client.get("/audit/")
    search, export, denied = AuditEvent.objects.exclude(action="login").order_by("seq")
    assert search.action == "search"
    assert search.details["date_ini"] == "2026-11-01"
    assert search.customer_id == 7
    assert export.action == "export"
    assert export.details["rows"] > 0
    assert denied.action == "access_denied"
    assert denied.details == {"path": "/audit/", "method": "GET"}
    assert all(len(e.request_id) == 32 for e in (search, export, denied))


def test_events_roll_back_with_the_change_they_record(db: None) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record_event(action=audit.Action.EXPORT, details={"x": 1})
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()
    audit.record_event(action=audit.Action.EXPORT, details={"x": 2})
    assert AuditEvent.objects.get().seq == 1, "the chain continues where it was"


def test_details_never_hold_the_vono_credentials(db: None) -> None:
    from tests import environment

    event = audit.record_event(
        action=audit.Action.EXPORT,
        details={"url": f"https://pbx/api/recording/{environment.TOKEN}/{environment.KEY}"},
    )
    assert event.details["url"] == "https://pbx/api/recording/********/********"


def test_the_admin_shows_audit_events_read_only(client: Client, db: None) -> None:
    audit.record_event(action=audit.Action.EXPORT)
    admin = make_user("chefe", "Administradores", is_superuser=True, is_staff=True)
    client.force_login(admin)
    event = AuditEvent.objects.get(action="export")
    page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    assert client.get("/admin/audit/auditevent/add/").status_code == 403


# --- the viewer --------------------------------------------------------------------------------


def test_viewer_filters_pages_and_exports(client: Client, db: None) -> None:
    admin = make_user("chefe", "Administradores")
    for n in range(60):
        audit.record_event(
            action=audit.Action.PLAY if n % 2 else audit.Action.DOWNLOAD,
            actor=admin,
            record_ids=[1000 + n],
        )
    client.force_login(admin)
    page = client.get("/audit/?action=play")
    assert page.context["page"].paginator.count == 30
    assert client.get("/audit/?record_id=1007").context["page"].paginator.count == 1
    assert client.get("/audit/?record_id=100").context["page"].paginator.count == 0
    # 60 events and the sign-in itself
    assert client.get("/audit/?actor=chef").context["page"].paginator.count == 61
    second = client.get("/audit/?page=2")
    assert len(second.context["page"].object_list) == 11
    rows = b"".join(client.get("/audit/export.csv?action=download").streaming_content)
    lines = rows.decode("utf-8-sig").splitlines()
    assert len(lines) == 31
    assert lines[0].startswith("Sequência;Quando (horário de Brasília);Usuário;Ação;Código da ação")


def test_viewer_explains_a_bad_period(client: Client, db: None) -> None:
    client.force_login(make_user("chefe", "Administradores"))
    response = client.get("/audit/?date_ini=2026-11-10&date_end=2026-11-01")
    assert "A data final é anterior à data inicial." in response.content.decode()


# --- the chain ---------------------------------------------------------------------------------


def _events(count: int) -> list[AuditEvent]:
    return [
        audit.record_event(action=audit.Action.PLAY, record_ids=[n], details={"n": n})
        for n in range(count)
    ]


def _tamper(sql: str, params: list[Any]) -> None:
    """Change rows as someone with the database owner's powers would (triggers bypassed)."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SET LOCAL session_replication_role = replica")  # superuser only
            c.execute(sql, params)
    else:
        with connection.cursor() as c:
            c.execute(sql, params)


def _verify() -> str:
    try:
        call_command("audit_verify", stdout=open("/dev/null", "w"))  # noqa: SIM115
    except CommandError as exc:
        return str(exc)
    return "intact"


@pytest.fixture
def thousand(db: None, django_capture_on_commit_callbacks: Any) -> list[AuditEvent]:
    # The test's transaction never commits: run the after-commit checkpoints as if it had.
    with django_capture_on_commit_callbacks(execute=True):
        events = _events(1000)
    assert _verify() == "intact"
    return events


def test_a_clean_chain_verifies(thousand: list[AuditEvent], capsys: Any) -> None:
    call_command("audit_verify")
    assert (
        "audit chain intact: 1000 event(s) verified, 1000 signed checkpoint(s) matched"
        in capsys.readouterr().out
    )


def test_a_changed_event_is_named(thousand: list[AuditEvent]) -> None:
    victim = thousand[499]
    _tamper(
        "UPDATE recordings_auditevent SET actor_username = %s WHERE id = %s",
        ["intruder", victim.pk],
    )
    assert _verify().startswith(
        f"audit chain broken at event #500 (id {victim.pk}): content does not match its MAC"
    )


def test_a_deleted_event_is_named(thousand: list[AuditEvent]) -> None:
    _tamper("DELETE FROM recordings_auditevent WHERE id = %s", [thousand[499].pk])
    assert _verify().startswith(
        f"audit chain broken at event #500 (id {thousand[500].pk}): event #500 is missing"
    )


def test_reordered_events_are_named(thousand: list[AuditEvent]) -> None:
    first, second = thousand[499], thousand[500]
    _tamper("UPDATE recordings_auditevent SET seq = %s WHERE id = %s", [10**12, first.pk])
    _tamper("UPDATE recordings_auditevent SET seq = %s WHERE id = %s", [500, second.pk])
    _tamper("UPDATE recordings_auditevent SET seq = %s WHERE id = %s", [501, first.pk])
    assert _verify().startswith(f"audit chain broken at event #500 (id {second.pk})")


def test_events_written_together_chain_as_one_by_one(
    db: None, django_capture_on_commit_callbacks: Any, settings: Any, tmp_path: Any
) -> None:
    from audit import chain

    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path)
    settings.AUDIT_CHECKPOINT_EVERY = 5
    with django_capture_on_commit_callbacks(execute=True):
        audit.record_event(action=audit.Action.LOGIN, details={"n": 0})  # seq 1
        assert audit.record_events(action=audit.Action.DOWNLOAD, entries=[]) == []
        written = audit.record_events(
            action=audit.Action.DOWNLOAD,
            entries=[([10 + n], 7, {"zip": "a.zip", "n": n}) for n in range(6)],  # seq 2-7
        )
        audit.record_event(action=audit.Action.LOGOUT)  # seq 8
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, 9))
    assert [e.record_ids for e in events[1:7]] == [[10 + n] for n in range(6)]
    assert [e.details["n"] for e in events[1:7]] == list(range(6))
    assert {e.customer_id for e in events[1:7]} == {7}
    for before, event in itertools.pairwise(events):
        assert event.prev_hash == before.hash
        assert event.hash == chain.event_mac(event)
    assert [e.pk for e in written] == [e.pk for e in events[1:7]]
    # The batch reached seq 5: signed once, at its end (7), which vouches for 2 to 6 too.
    signed, _ = chain.read_checkpoints()
    assert [c.seq for c in signed] == [7]
    assert _verify() == "intact"


def test_the_newest_event_deleted_is_noticed(thousand: list[AuditEvent]) -> None:
    _tamper("DELETE FROM recordings_auditevent WHERE id = %s", [thousand[-1].pk])
    assert "events #1000 to #1000 are missing: a signed checkpoint saw #1000" in _verify()


# --- append-only, in the database (PostgreSQL) ----------------------------------------------------


@needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE recordings_auditevent SET outcome = 'forged'",
        "DELETE FROM recordings_auditevent",
        "TRUNCATE recordings_auditevent",
    ],
)
def test_the_database_refuses_to_change_audit_rows(db: None, sql: str) -> None:
    _events(3)
    with connection.cursor() as cursor:
        # The test's own transaction still holds deferred foreign-key checks, which alone
        # would make PostgreSQL refuse a TRUNCATE; settle them so the trigger is what answers.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match=r"append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.count() == 3


@needs_postgres
def test_the_database_refuses_an_illegal_status_change(db: None, sim: SimulatorProcess) -> None:
    requester = make_user("sara", "Supervisores")
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    deletion = deletions.deletion_request_create(actor=requester, reason="x", ids=[record_id])
    for illegal in ("done", "running", "approved_typo"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE recordings_deletionrequest SET status = %s WHERE id = %s",
                [illegal, deletion.pk],
            )
    with connection.cursor() as cursor:  # a legal move goes through
        cursor.execute(
            "UPDATE recordings_deletionrequest SET status = 'cancelled' WHERE id = %s",
            [deletion.pk],
        )
    deletion.refresh_from_db()
    assert deletion.status == DeletionRequest.Status.CANCELLED


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_fork_the_chain() -> None:
    barrier = threading.Barrier(20)

    def write() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                audit.record_event(action=audit.Action.PLAY)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 201)
    )
    assert audit.verify_chain().broken is None


def test_details_read_as_text() -> None:
    from recordings.templatetags.recordings_tags import details_text

    assert details_text(
        {"request": 1, "reason": "LGPD", "filters": {"ids": [1, 2]}, "empty": None, "none": ""}
    ) == ('request=1 · reason=LGPD · filters={"ids": [1, 2]}')
    assert details_text({}) == ""
