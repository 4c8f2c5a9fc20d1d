"""The deletion workflow's rules, each enforced in the service layer, and its execution."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionItem, DeletionRequest
from recordings import vono
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

Status = DeletionRequest.Status
FRESH = 5.0  # seconds since sign-in: no step-up needed


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    return {
        "supervisor": make_user("sara", "Supervisores"),
        "admin": make_user("adao", "Administradores"),
        "admin2": make_user("alice", "Administradores"),
    }


def _ids(sim: SimulatorProcess, count: int, start: int = 0) -> list[int]:
    return [r["record_id"] for r in sim.list(f"limit={count}&start={start}")["data"]]


def _request(people: dict[str, Any], ids: list[int], who: str = "supervisor") -> DeletionRequest:
    return deletions.deletion_request_create(
        actor=people[who], reason="LGPD: pedido do titular", ids=ids
    )


def _approve(deletion: DeletionRequest, actor: Any, **options: Any) -> DeletionRequest:
    options.setdefault("typed_count", str(deletion.count))
    options.setdefault("auth_age_seconds", FRESH)
    return deletions.deletion_request_approve(deletion_id=deletion.pk, actor=actor, **options)


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def _still_there(sim: SimulatorProcess, record_id: int) -> bool:
    return bool(sim.list(f"id_record={record_id}")["total_records"])


# --- asking ---------------------------------------------------------------------------------


def test_request_keeps_a_snapshot(people: dict[str, Any], sim: SimulatorProcess) -> None:
    ids = _ids(sim, 3)
    deletion = _request(people, ids)
    assert deletion.status == Status.PENDING
    assert deletion.count == 3
    rows = sim.list("limit=3")["data"]
    assert deletion.snapshot["total_time"] == sum(r["duration"] for r in rows)
    assert deletion.snapshot["total_size"] == sum(vono.parse_size(r["size"]) for r in rows)
    assert [r["record_id"] for r in deletion.snapshot["rows"]] == sorted(ids)
    assert deletion.expires_at - deletion.requested_at == dt.timedelta(hours=24)
    assert _actions() == ["deletion_requested"]
    assert sim.stats()["delete_calls"] == []


def test_a_reason_is_required(people: dict[str, Any], sim: SimulatorProcess) -> None:
    with pytest.raises(deletions.NotAllowed, match="motivo"):
        deletions.deletion_request_create(actor=people["supervisor"], reason="  ", ids=_ids(sim, 1))


def test_qa_cannot_ask(db: None, sim: SimulatorProcess) -> None:
    qa = make_user("quesia", "Revisores de QA")
    with pytest.raises(deletions.NotAllowed):
        deletions.deletion_request_create(actor=qa, reason="x", ids=_ids(sim, 1))


def test_nobody_asks_to_delete_what_they_cannot_see(db: None, sim: SimulatorProcess) -> None:
    scoped = make_user("escopo", "Supervisores", customer_id=12)
    other = sim.list("limit=1", path="/3")["data"][0]["record_id"]
    with pytest.raises(deletions.NotAllowed, match=str(other)):
        deletions.deletion_request_create(actor=scoped, reason="x", ids=[other])


def test_a_scoped_filter_request_stays_in_its_scope(db: None, sim: SimulatorProcess) -> None:
    scoped = make_user("escopo", "Supervisores", customer_id=12)
    deletion = deletions.deletion_request_create(
        actor=scoped, reason="limpeza", filters=vono.RecordingFilter(customer_id=3)
    )
    assert deletion.customer_id == 12
    assert deletion.filters["customer_id"] == 12
    assert deletion.count == sim.list("limit=1", path="/12")["total_records"]


# --- approving: the rules -----------------------------------------------------------------------


def test_four_eyes_even_for_an_admin(people: dict[str, Any], sim: SimulatorProcess) -> None:
    deletion = _request(people, _ids(sim, 2), who="admin2")
    with pytest.raises(deletions.FourEyes):
        _approve(deletion, people["admin2"])
    deletion.refresh_from_db()
    assert deletion.status == Status.PENDING
    _approve(deletion, people["admin"])
    deletion.refresh_from_db()
    assert deletion.status == Status.APPROVED


def test_supervisors_cannot_approve(people: dict[str, Any], sim: SimulatorProcess) -> None:
    deletion = _request(people, _ids(sim, 1), who="admin")
    with pytest.raises(deletions.NotAllowed):
        _approve(deletion, people["supervisor"])


def test_typed_confirmation_must_be_the_count(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _request(people, _ids(sim, 3))
    for typed in ("", "2", "three", "33"):
        with pytest.raises(deletions.ConfirmationMismatch):
            _approve(deletion, people["admin"], typed_count=typed)
    _approve(deletion, people["admin"], typed_count=" 3 ")


def test_step_up_after_15_minutes(people: dict[str, Any], sim: SimulatorProcess) -> None:
    deletion = _request(people, _ids(sim, 1))
    admin = people["admin"]
    for age in (16 * 60.0, None):
        with pytest.raises(deletions.StepUpRequired):
            _approve(deletion, admin, auth_age_seconds=age)
    with pytest.raises(deletions.StepUpRequired):
        _approve(deletion, admin, auth_age_seconds=3600.0, password="wrong")
    _approve(deletion, admin, auth_age_seconds=3600.0, password="pw-for-tests")
    deletion.refresh_from_db()
    assert deletion.status == Status.APPROVED


def test_expired_requests_cannot_be_approved(
    people: dict[str, Any], sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    deletion = _request(people, _ids(sim, 1))
    later = timezone.now() + dt.timedelta(hours=24, minutes=1)
    # Moving the clock: 24 hours cannot pass for real in a test.
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(deletions.Expired):
        _approve(deletion, people["admin"])
    deletion.refresh_from_db()
    assert deletion.status == Status.EXPIRED
    assert _actions()[-1] == "deletion_expired"


def test_expire_due_sweeps_only_overdue(
    people: dict[str, Any], sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _request(people, _ids(sim, 1))
    later = timezone.now() + dt.timedelta(hours=23)
    monkeypatch.setattr(timezone, "now", lambda: later)
    new = _request(people, _ids(sim, 1, start=1))
    monkeypatch.setattr(timezone, "now", lambda: later + dt.timedelta(hours=2))
    assert deletions.deletion_requests_expire_due() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (Status.EXPIRED, Status.PENDING)


def test_fresh_count_mismatch_refuses_and_the_request_must_be_made_again(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    ids = _ids(sim, 3)
    deletion = _request(people, ids)
    sim.get(f"type=id&ids[]={ids[0]}", method="DELETE")  # someone deleted one meanwhile
    with pytest.raises(deletions.CountChanged, match="peça de novo"):
        _approve(deletion, people["admin"])
    deletion.refresh_from_db()
    assert deletion.status == Status.STALE
    assert not DeletionItem.objects.exists()
    with pytest.raises(deletions.WrongState):
        _approve(deletion, people["admin"])
    assert len(sim.stats()["delete_calls"]) == 1  # only the one made by "someone"


def test_a_filter_becomes_explicit_ids_at_approval(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    end = timezone.localdate() - dt.timedelta(days=2)
    start = end - dt.timedelta(days=4)  # five days: never without calls, weekends included
    filters = vono.RecordingFilter(date_ini=start, date_end=end, customer_id=7)
    deletion = deletions.deletion_request_create(
        actor=people["supervisor"], reason="teste", filters=filters
    )
    _approve(deletion, people["admin"])
    expected = [
        r["record_id"]
        for r in sim.list(f"date_ini={start}&date_end={end}&limit=500", path="/7")["data"]
    ]
    assert sorted(DeletionItem.objects.values_list("record_id", flat=True)) == sorted(expected)
    assert deletion.count == len(expected) > 0


def test_reject_with_a_reason(people: dict[str, Any], sim: SimulatorProcess) -> None:
    deletion = _request(people, _ids(sim, 1))
    with pytest.raises(deletions.NotAllowed):
        deletions.deletion_request_reject(deletion_id=deletion.pk, actor=people["admin"], reason="")
    deletions.deletion_request_reject(
        deletion_id=deletion.pk,
        actor=people["admin"],
        reason="gravação necessária para auditoria externa",
    )
    deletion.refresh_from_db()
    assert deletion.status == Status.REJECTED
    assert deletion.decided_by == people["admin"]
    with pytest.raises(deletions.WrongState):
        _approve(deletion, people["admin2"])


def test_only_the_requester_cancels_and_only_while_pending(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _request(people, _ids(sim, 1))
    with pytest.raises(deletions.NotAllowed):
        deletions.deletion_request_cancel(deletion_id=deletion.pk, actor=people["admin"])
    deletions.deletion_request_cancel(deletion_id=deletion.pk, actor=people["supervisor"])
    deletion.refresh_from_db()
    assert deletion.status == Status.CANCELLED
    with pytest.raises(deletions.WrongState):
        deletions.deletion_request_cancel(deletion_id=deletion.pk, actor=people["supervisor"])


# --- executing ----------------------------------------------------------------------------------


def test_execution_deletes_by_ids_in_chunks(
    people: dict[str, Any], sim: SimulatorProcess, settings: Any
) -> None:
    settings.DELETION_CHUNK_SIZE = 2
    ids = _ids(sim, 5)
    deletion = _request(people, ids)
    _approve(deletion, people["admin"])
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE
    assert sim.stats()["delete_calls"] == [sorted(ids)[0:2], sorted(ids)[2:4], sorted(ids)[4:]]
    assert not any(_still_there(sim, i) for i in ids)
    assert set(DeletionItem.objects.values_list("outcome", flat=True)) == {"deleted"}
    assert _actions() == [
        "deletion_requested",
        "deletion_approved",
        "deletion_started",
        "deletion_finished",
    ]


@pytest.mark.django_db(transaction=True)  # the worker closes connections between tasks
def test_the_worker_runs_the_queued_deletion(sim: SimulatorProcess, client: Client) -> None:
    from accounts.roles import ensure_groups

    ensure_groups()
    people = {
        "supervisor": make_user("sara", "Supervisores"),
        "admin": make_user("adao", "Administradores"),
    }
    ids = _ids(sim, 3)
    deletion = _request(people, ids)
    _approve(deletion, people["admin"])
    assert sim.stats()["delete_calls"] == [], "approval never deletes in the web request"
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    deletion.refresh_from_db()
    assert deletion.status == Status.DONE
    client.force_login(people["supervisor"])
    listed = client.get("/recordings/?date_ini=&date_end=&per_page=100")
    shown = [r.record_id for r in listed.context["page"].recordings]
    assert not set(ids) & set(shown)


def test_partial_failure_on_the_third_chunk(
    people: dict[str, Any], sim: SimulatorProcess, settings: Any
) -> None:
    settings.DELETION_CHUNK_SIZE = 2
    ids = sorted(_ids(sim, 6))
    deletion = _request(people, ids)
    _approve(deletion, people["admin"])
    sim.fault("status", status=500, target="delete", skip=2, times=1)
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.PARTIAL
    failed = dict(
        DeletionItem.objects.exclude(outcome="deleted").values_list("record_id", "outcome")
    )
    assert failed == {ids[4]: "failed", ids[5]: "failed"}
    assert "HTTP 500" in DeletionItem.objects.get(record_id=ids[4]).detail
    finished = AuditEvent.objects.filter(action="deletion_finished").get()
    assert finished.outcome == "partial"
    assert {d["id"] for d in finished.details["not_deleted"]} == {ids[4], ids[5]}

    deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin"])
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE
    stats = sim.stats()
    assert stats["requests"]["delete"] == 4  # three chunks, then the failed one again
    # The 500 came before the simulator deleted anything: each id was deleted once.
    assert stats["delete_calls"] == [ids[0:2], ids[2:4], ids[4:6]]
    assert stats["deleted"] == {str(i): 1 for i in ids}


def test_a_delete_time_out_leaves_unknown_ids_and_no_automatic_retry(
    people: dict[str, Any], sim: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_READ_TIMEOUT = 0.4
    settings.DELETION_CHUNK_SIZE = 2
    ids = sorted(_ids(sim, 4))
    deletion = _request(people, ids)
    _approve(deletion, people["admin"])
    sim.fault("latency", target="delete", seconds=1.0, times=1)
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.PARTIAL
    outcomes = dict(DeletionItem.objects.values_list("record_id", "outcome"))
    assert outcomes == {ids[0]: "unknown", ids[1]: "unknown", ids[2]: "deleted", ids[3]: "deleted"}
    assert sim.stats()["delete_calls"] == [ids[0:2], ids[2:4]], "the timed-out DELETE not resent"

    # A later run checks the unknown ids with a list call: the slow DELETE did happen.
    deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin"])
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE
    assert sim.stats()["delete_calls"] == [ids[0:2], ids[2:4]]
    assert "confirmed gone" in DeletionItem.objects.get(record_id=ids[0]).detail


def test_a_rerun_deletes_only_what_remains(
    people: dict[str, Any], sim: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_READ_TIMEOUT = 0.4
    ids = sorted(_ids(sim, 2))
    deletion = _request(people, ids)
    _approve(deletion, people["admin"])
    sim.fault("reset", target="delete", times=1)  # sent, no answer: unknown
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.FAILED
    assert set(DeletionItem.objects.values_list("outcome", flat=True)) == {"unknown"}
    # The reset came before the simulator deleted anything: both are still there.
    deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin"])
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE
    assert sim.stats()["delete_calls"] == [ids]


def test_a_second_execution_of_a_finished_request_does_nothing(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    deletion = _request(people, _ids(sim, 2))
    _approve(deletion, people["admin"])
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) is None
    assert len(sim.stats()["delete_calls"]) == 1


# --- exactly once, under concurrency (PostgreSQL) ------------------------------------------------

needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="row locks and concurrent transactions are PostgreSQL's; CI runs this there",
)


def _in_threads(count: int, work: Any) -> list[Any]:
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work()
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_approvals_and_executions_delete_each_id_once(
    sim: SimulatorProcess, settings: Any
) -> None:
    from accounts.roles import ensure_groups

    ensure_groups()
    settings.DELETION_CHUNK_SIZE = 3
    requester = make_user("sara", "Supervisores")
    approver = make_user("adao", "Administradores")
    ids = _ids(sim, 10)
    deletion = deletions.deletion_request_create(actor=requester, reason="x", ids=ids)

    approvals = _in_threads(
        50,
        lambda: deletions.deletion_request_approve(
            deletion_id=deletion.pk, actor=approver, typed_count="10", auth_age_seconds=FRESH
        ),
    )
    assert sum(1 for r in approvals if isinstance(r, DeletionRequest)) == 1
    assert all(isinstance(r, DeletionRequest | deletions.WrongState) for r in approvals)

    runs = _in_threads(50, lambda: deletions.deletion_request_execute(deletion_id=deletion.pk))
    assert runs.count(Status.DONE) == 1
    assert runs.count(None) == 49
    assert sim.stats()["deleted"] == {str(i): 1 for i in ids}
    assert sum(len(call) for call in sim.stats()["delete_calls"]) == 10


def test_two_approved_requests_naming_one_recording_delete_it_once(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    # Two people asked for overlapping recordings; both requests were approved before either
    # ran (on several instances, nothing orders them). The second run does not DELETE again.
    ids = _ids(sim, 3)
    first = _request(people, ids[:2])
    second = _request(people, ids[1:], who="admin2")
    _approve(first, people["admin"])
    _approve(second, people["admin"])
    assert deletions.deletion_request_execute(deletion_id=first.pk) == Status.DONE
    assert deletions.deletion_request_execute(deletion_id=second.pk) == Status.DONE
    assert sim.stats()["deleted"] == {str(i): 1 for i in ids}
    shared = DeletionItem.objects.get(request=second, record_id=ids[1])
    assert (shared.outcome, shared.detail) == ("absent", f"deleted by request #{first.pk}")


def test_an_older_deletion_does_not_stop_one_the_upstream_proves_still_needed(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    # The first request's DELETE was reported done, yet the recording is there when the second
    # request is approved: the approval's check is newer than that outcome, so it DELETEs.
    (record_id,) = _ids(sim, 1)
    first = _request(people, [record_id])
    _approve(first, people["admin"])
    deletions.deletion_request_execute(deletion_id=first.pk)
    sim.reset()  # the recording is back: a vendor that said "deleted" and did not
    second = _request(people, [record_id], who="admin2")
    _approve(second, people["admin"])
    assert deletions.deletion_request_execute(deletion_id=second.pk) == Status.DONE
    assert DeletionItem.objects.get(request=second).outcome == "deleted"
    assert sim.stats()["deleted"] == {str(record_id): 1}
    assert not _still_there(sim, record_id)


def test_a_recording_whose_delete_had_no_answer_elsewhere_is_not_deleted_again(
    people: dict[str, Any], sim: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_READ_TIMEOUT = 0.4
    ids = _ids(sim, 2)
    first = _request(people, ids[:1])
    second = _request(people, ids, who="admin2")
    _approve(first, people["admin"])
    _approve(second, people["admin"])
    sim.fault("latency", target="delete", seconds=1.0, times=1)
    deletions.deletion_request_execute(deletion_id=first.pk)
    assert DeletionItem.objects.get(request=first).outcome == "unknown"
    assert deletions.deletion_request_execute(deletion_id=second.pk) == Status.PARTIAL
    doubtful = DeletionItem.objects.get(request=second, record_id=ids[0])
    assert doubtful.outcome == "unknown"
    assert f"request #{first.pk}" in doubtful.detail
    assert sim.stats()["deleted"] == {str(i): 1 for i in ids}


@pytest.mark.parametrize("action", ["reject", "cancel"])
def test_rejecting_or_cancelling_an_overdue_request_expires_it(
    people: dict[str, Any], sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    deletion = _request(people, _ids(sim, 1))
    later = timezone.now() + dt.timedelta(hours=25)
    monkeypatch.setattr(timezone, "now", lambda: later)  # moving the clock, as above
    with pytest.raises(deletions.Expired):
        if action == "reject":
            deletions.deletion_request_reject(
                deletion_id=deletion.pk, actor=people["admin"], reason="tarde demais"
            )
        else:
            deletions.deletion_request_cancel(deletion_id=deletion.pk, actor=people["supervisor"])
    deletion.refresh_from_db()
    assert deletion.status == Status.EXPIRED


def test_a_run_whose_worker_died_can_be_resumed_after_a_while(
    people: dict[str, Any], sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = sorted(_ids(sim, 2))
    deletion = _request(people, ids)
    _approve(deletion, people["admin"])
    # The worker claimed the request, sent the DELETE, and died before hearing back.
    assert deletions._claim(deletion.pk)
    DeletionItem.objects.filter(request=deletion).update(outcome="sending")
    sim.get(f"type=id&ids[]={ids[0]}", method="DELETE")
    with pytest.raises(deletions.WrongState, match="em andamento"):
        deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin"])
    later = timezone.now() + dt.timedelta(minutes=31)
    monkeypatch.setattr(timezone, "now", lambda: later)  # a dead worker is silence over time
    deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin"])
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE
    assert sim.stats()["delete_calls"] == [[ids[0]], [ids[1]]], "only what was still there"
