"""A deletion needs two people, whatever one insider tries: the service, the pages and the
database each refuse a request that nobody else approved."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionItem, DeletionRequest
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

Status = DeletionRequest.Status
FRESH = 5.0

needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="the triggers are PostgreSQL's; CI runs this there",
)


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    return {
        "supervisor": make_user("sara", "Supervisores"),
        "admin": make_user("adao", "Administradores"),
        "admin2": make_user("alice", "Administradores"),
    }


def _ids(sim: SimulatorProcess, count: int) -> list[int]:
    return [r["record_id"] for r in sim.list(f"limit={count}")["data"]]


def _actions() -> list[str]:
    events = AuditEvent.objects.filter(action__startswith="deletion_").order_by("seq")
    return list(events.values_list("action", flat=True))


def _finished_partially(people: dict[str, Any], sim: SimulatorProcess) -> DeletionRequest:
    deletion = deletions.deletion_request_create(
        actor=people["admin"], reason="LGPD", ids=_ids(sim, 2)
    )
    deletions.deletion_request_approve(
        deletion_id=deletion.pk,
        actor=people["admin2"],
        typed_count="2",
        auth_age_seconds=FRESH,
    )
    sim.fault("status", status=500, target="delete", times=1)
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.FAILED
    deletion.refresh_from_db()
    return deletion


# --- retry is not a way around approval -------------------------------------------------------


def test_retry_of_a_pending_request_is_refused_over_http(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    deletion = deletions.deletion_request_create(
        actor=people["admin"], reason="minha", ids=_ids(sim, 1)
    )
    client.force_login(people["admin"])
    response = client.post(f"/deletions/{deletion.pk}/retry", follow=True)
    assert "concluída em parte ou que falhou" in response.content.decode()
    deletion.refresh_from_db()
    assert deletion.status == Status.PENDING
    assert deletion.decided_by is None
    assert _actions() == ["deletion_requested"]
    assert sim.stats()["delete_calls"] == []


@pytest.mark.parametrize("status", [Status.PENDING, Status.DONE, Status.REJECTED])
def test_retry_moves_only_partial_failed_or_stuck(
    people: dict[str, Any], sim: SimulatorProcess, status: str
) -> None:
    deletion = deletions.deletion_request_create(
        actor=people["supervisor"], reason="x", ids=_ids(sim, 1)
    )
    if status == Status.REJECTED:
        deletions.deletion_request_reject(
            deletion_id=deletion.pk, actor=people["admin"], reason="n"
        )
    elif status == Status.DONE:
        deletions.deletion_request_approve(
            deletion_id=deletion.pk, actor=people["admin"], typed_count="1", auth_age_seconds=FRESH
        )
        deletions.deletion_request_execute(deletion_id=deletion.pk)
    deletion.refresh_from_db()
    assert deletion.status == status
    assert not deletions.can_retry(deletion, people["admin2"])
    with pytest.raises(deletions.WrongState):
        deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin2"])


def test_the_requester_cannot_run_their_own_request_again(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _finished_partially(people, sim)
    assert not deletions.can_retry(deletion, people["admin"])
    with pytest.raises(deletions.FourEyes):
        deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin"])
    assert deletions.can_retry(deletion, people["admin2"])
    deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin2"])
    assert _actions()[-1] == "deletion_retried"
    deletion.refresh_from_db()
    assert deletion.decided_by == people["admin2"], "the approver stays the approver"


def test_the_pages_ask_the_service_who_may_do_what(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    deletion = _finished_partially(people, sim)
    client.force_login(people["admin"])  # the requester
    assert client.get(f"/deletions/{deletion.pk}/").context["can_retry"] is False
    client.force_login(people["admin2"])
    assert client.get(f"/deletions/{deletion.pk}/").context["can_retry"] is True


# --- a stale request: nobody decided it -------------------------------------------------------


def test_a_stale_request_is_its_own_event_says_why_and_can_be_asked_again(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    ids = _ids(sim, 3)
    deletion = deletions.deletion_request_create(
        actor=people["supervisor"], reason="titular pediu", ids=ids
    )
    sim.get(f"type=id&ids[]={ids[0]}", method="DELETE")
    client.force_login(people["admin"])
    client.post(f"/deletions/{deletion.pk}/approve", {"typed_count": "3"}, REMOTE_ADDR="10.0.0.1")
    deletion.refresh_from_db()
    assert (deletion.status, deletion.decided_by, deletion.fresh_count) == (Status.STALE, None, 2)
    assert _actions() == ["deletion_requested", "deletion_stale"]
    client.force_login(people["supervisor"])
    page = client.get(f"/deletions/{deletion.pk}/").content.decode()
    assert "Decidido por" not in page
    assert "o Vono tinha 2 gravações para este pedido, e o pedido tinha 3" in page
    assert "Pedir de novo" in page
    again = client.get(
        f"/deletions/new?{client.get(f'/deletions/{deletion.pk}/').context['ask_again']}"
    )
    assert again.context["ids"] == sorted(ids)
    assert again.context["reason"] == "titular pediu"


# --- one pending request per set of recordings --------------------------------------------------


def test_a_duplicate_pending_request_is_refused_with_a_link_to_the_first(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    ids = _ids(sim, 2)
    client.force_login(people["supervisor"])
    body = {"ids": [str(i) for i in ids], "reason": "LGPD"}
    first = client.post("/deletions/new", body)
    assert first.status_code == 302
    replay = client.post("/deletions/new", body)  # a double click, or a replayed POST
    existing = DeletionRequest.objects.get()
    assert f"/deletions/{existing.pk}/" in replay.content.decode()
    assert "Já existe um pedido aguardando aprovação" in replay.content.decode()
    assert DeletionRequest.objects.count() == 1
    assert _actions() == ["deletion_requested"]


# --- step-up keeps what was typed -------------------------------------------------------------


def test_a_wrong_step_up_password_keeps_the_typed_count(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    deletion = deletions.deletion_request_create(
        actor=people["supervisor"], reason="x", ids=_ids(sim, 2)
    )
    client.force_login(people["admin"])
    session = client.session
    session["auth_at"] = time.time() - 3600  # signed in an hour ago: step-up is due
    session.save()
    response = client.post(
        f"/deletions/{deletion.pk}/approve", {"typed_count": "2", "password": "errada"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="2"' in page
    assert "confirme sua senha" in page
    deletion.refresh_from_db()
    assert deletion.status == Status.PENDING


# --- the database: four eyes even for a direct SQL session ------------------------------------


def _pending(people: dict[str, Any], sim: SimulatorProcess) -> DeletionRequest:
    return deletions.deletion_request_create(
        actor=people["supervisor"], reason="x", ids=_ids(sim, 1)
    )


def test_the_database_refuses_an_approval_nobody_decided(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _pending(people, sim)
    with pytest.raises(DatabaseError), transaction.atomic():  # the trigger, or the CHECK
        DeletionRequest.objects.filter(pk=deletion.pk).update(status=Status.APPROVED)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "recordings_deletionrequest")
    assert constraints["executed_only_when_decided_by_another"]["check"]


def test_the_database_refuses_a_self_approval(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _pending(people, sim)
    with pytest.raises(DatabaseError), transaction.atomic():
        DeletionRequest.objects.filter(pk=deletion.pk).update(
            status=Status.APPROVED, decided_by=people["supervisor"], decided_at=timezone.now()
        )


@needs_postgres
def test_a_session_setting_does_not_switch_the_guards_off(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _pending(people, sim)
    ignore = (
        "{pgtrigger_status_transitions_8ef62,deletion_request_guard,"
        "pgtrigger_append_only_update_ee435}"
    )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL pgtrigger.ignore = %s", [ignore])
        cursor.execute(
            "UPDATE recordings_deletionrequest SET status = 'running' WHERE id = %s",
            [deletion.pk],
        )


@needs_postgres
def test_the_database_keeps_what_an_approved_request_asked_for(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _pending(people, sim)
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=people["admin"], typed_count="1", auth_age_seconds=FRESH
    )
    others = _ids(sim, 5)[2:]
    attacks = [
        (
            "UPDATE recordings_deletionrequest SET filters = %s WHERE id = %s",
            [f'{{"ids": {others}}}', deletion.pk],
        ),
        (
            "UPDATE recordings_deletionrequest SET decided_by_id = requested_by_id WHERE id = %s",
            [deletion.pk],
        ),
        (
            "INSERT INTO recordings_deletionitem"
            " (request_id, record_id, outcome, detail, updated_at)"
            " VALUES (%s, %s, 'pending', '', now())",
            [deletion.pk, others[0]],
        ),
        (
            "UPDATE recordings_deletionitem SET record_id = %s WHERE request_id = %s",
            [others[1], deletion.pk],
        ),
        ("DELETE FROM recordings_deletionrequest WHERE id = %s", [deletion.pk]),
    ]
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    for sql, params in attacks:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    assert list(DeletionItem.objects.values_list("record_id", flat=True)) == deletion.filters["ids"]


def test_ask_again_refills_a_whole_filter_request(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    import datetime as dt

    from recordings import vono

    # A day and hours holding at least two of subscriber 7's calls: the simulator's calls
    # are drawn relative to today, so fixed hours can hold none.
    first = timezone.localdate() - dt.timedelta(days=9)
    last = timezone.localdate() - dt.timedelta(days=3)
    calls: dict[str, list[dt.time]] = {}
    for row in sim.list(f"date_ini={first}&date_end={last}&limit=500", path="/7")["data"]:
        stamp = dt.datetime.fromisoformat(row["calldate"])
        calls.setdefault(stamp.date().isoformat(), []).append(stamp.time())
    when, times = next((d, sorted(t)) for d, t in sorted(calls.items()) if len(t) >= 2)
    day = dt.date.fromisoformat(when)
    hours = dt.time(times[0].hour), dt.time(times[-1].hour, 59, 59)
    filters = vono.RecordingFilter(
        date_ini=day, date_end=day, time_ini=hours[0], time_end=hours[1], customer_id=7
    )
    deletion = deletions.deletion_request_create(
        actor=people["supervisor"], reason="fim do contrato", filters=filters
    )
    one = sim.list(
        f"date_ini={day}&date_end={day}&time_ini={hours[0]}&time_end={hours[1]}&limit=1",
        path="/7",
    )["data"][0]["record_id"]
    sim.get(f"type=id&ids[]={one}", method="DELETE")
    with pytest.raises(deletions.CountChanged):
        deletions.deletion_request_approve(
            deletion_id=deletion.pk,
            actor=people["admin"],
            typed_count=str(deletion.count),
            auth_age_seconds=FRESH,
        )
    client.force_login(people["supervisor"])
    query = client.get(f"/deletions/{deletion.pk}/").context["ask_again"]
    again = client.get(f"/deletions/new?{query}")
    assert again.context["whole_filter"] is True
    assert again.context["filters"] == filters
    assert again.context["preview"].count == deletion.count - 1
