"""The recording index kept in step with the simulator, on a real socket, with its faults."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from index import selectors, services, sync
from index.models import DayCoverage, IndexedRecording, SyncState
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

pytestmark = pytest.mark.django_db

DAYS = 4  # a short window keeps every test to a few dozen upstream calls


@pytest.fixture(autouse=True)
def _fast_small_window(settings: Any) -> None:
    settings.INDEX_DAYS = DAYS
    settings.INDEX_RECENT_DAYS = 1
    settings.INDEX_MAX_RPS = 1000
    settings.INDEX_BACKOFF_SECONDS = 30


def _upstream_ids(sim: SimulatorProcess, day: dt.date, customer: int | None = None) -> set[int]:
    ids: set[int] = set()
    while True:
        query = f"date_ini={day}&date_end={day}&limit=500&start={len(ids)}"
        data = sim.list(query, path=f"/{customer}" if customer else "")
        ids |= {r["record_id"] for r in data["data"]}
        if not data["data"] or len(ids) >= data["total_records"]:
            return ids


def _indexed_ids(day: dt.date) -> set[int]:
    return set(
        IndexedRecording.objects.filter(call_day=day, gone_at__isnull=True).values_list(
            "record_id", flat=True
        )
    )


def _assert_in_step(sim: SimulatorProcess, days: list[dt.date] | None = None) -> None:
    for day in days or sync.window():
        assert _indexed_ids(day) == _upstream_ids(sim, day), day


def _list_calls(sim: SimulatorProcess) -> int:
    return int(sim.stats()["requests"].get("list", 0))


def _delete_upstream(sim: SimulatorProcess, record_id: int) -> None:
    status, _, _ = sim.get(f"type=id&ids[]={record_id}", method="DELETE")
    assert status == 200


def _old_day_with_records(sim: SimulatorProcess) -> dt.date:
    for day in sync.window()[1:]:
        if _upstream_ids(sim, day):
            return day
    raise AssertionError("the demo data has no calls in the window's older days")


def test_first_sync_indexes_every_day_of_the_window(sim: SimulatorProcess) -> None:
    result = sync.sync_run()
    assert result.status == "done"
    assert result.days_read == DAYS
    _assert_in_step(sim)
    coverage = {c.day: c for c in DayCoverage.objects.all()}
    for day in sync.window():
        assert coverage[day].status == DayCoverage.Status.COMPLETE
        assert coverage[day].upstream_count == coverage[day].indexed_count
        assert coverage[day].last_full_read is not None
    row = IndexedRecording.objects.order_by("-calldate").first()
    assert row is not None
    upstream = sim.list(f"id_record={row.record_id}")["data"][0]
    assert (
        row.calldate.astimezone(sync.SAO_PAULO).strftime("%Y-%m-%d %H:%M:%S")
        == (upstream["calldate"])
    )
    assert row.source == upstream["source"] and row.size_text == upstream["size"]
    assert row.first_seen == row.last_seen
    state = SyncState.objects.get()
    assert state.phase == "done" and state.holder == "" and state.fresh_as_of is not None


def test_a_second_run_only_counts_old_days_that_did_not_change(sim: SimulatorProcess) -> None:
    sync.sync_run()
    before = _list_calls(sim)
    result = sync.sync_run()
    assert result.status == "done"
    assert result.days_read == 1, "only the recent day is re-read"
    assert result.days_checked == DAYS - 1
    assert _list_calls(sim) - before == (DAYS - 1) + 1


def test_new_calls_arriving_are_indexed_by_the_next_run(sim: SimulatorProcess) -> None:
    sync.sync_run()
    first_seen = dict(IndexedRecording.objects.values_list("record_id", "first_seen"))
    now = timezone.now().astimezone(sync.SAO_PAULO).replace(tzinfo=None, microsecond=0)
    new = sim.add_recording(
        calldate=now.isoformat(), source="+55 (41) 98597-7963", destination="4115", duration=42
    )
    sync.sync_run()
    row = IndexedRecording.objects.get(record_id=new["record_id"])
    assert row.gone_at is None and row.duration == 42
    assert list(selectors.search(number="41 98597-7963")) == [row]
    kept = dict(
        IndexedRecording.objects.filter(record_id__in=first_seen).values_list(
            "record_id", "first_seen"
        )
    )
    assert kept == first_seen, "a refresh keeps when a recording was first seen"


def test_hostile_upstream_texts_are_stored_safely(sim: SimulatorProcess) -> None:
    now = timezone.now().astimezone(sync.SAO_PAULO).replace(tzinfo=None, microsecond=0)
    odd = sim.add_recording(
        calldate=now.isoformat(),
        source="41\x0098597" + "9" * 200,
        destination="<b>4115</b>",
        duration=3,
    )
    assert sync.sync_run().status == "done"
    row = IndexedRecording.objects.get(record_id=odd["record_id"])
    # The client turns control characters into spaces; the index never stores a NUL either.
    assert "\x00" not in row.source and row.source.startswith("41 98597")
    assert len(row.source) <= 80 and row.numbers.startswith("4198597")
    assert row.destination == "<b>4115</b>"
    assert selectors.search(number="4115").filter(record_id=row.record_id).exists()


def test_calls_deleted_upstream_are_marked_vanished(sim: SimulatorProcess) -> None:
    sync.sync_run()
    today, old = sync.window()[0], _old_day_with_records(sim)
    gone = [min(_upstream_ids(sim, old))]
    if _upstream_ids(sim, today):
        gone.append(min(_upstream_ids(sim, today)))
    for record_id in gone:
        _delete_upstream(sim, record_id)
    result = sync.sync_run()
    assert result.days_read == 2 if len(gone) == 2 else result.days_read >= 1
    for record_id in gone:
        row = IndexedRecording.objects.get(record_id=record_id)
        assert row.gone_how == IndexedRecording.GoneHow.VANISHED and row.gone_at is not None
        assert not selectors.search().filter(record_id=record_id).exists()
    _assert_in_step(sim)


def test_a_late_arrival_in_an_old_day_is_caught_by_the_count(sim: SimulatorProcess) -> None:
    sync.sync_run()
    old = sync.window()[-1]
    late = sim.add_recording(calldate=f"{old}T10:11:12", source="2003", duration=61)
    result = sync.sync_run()
    assert result.days_read == 2  # the recent day, and the old day whose count changed
    assert IndexedRecording.objects.get(record_id=late["record_id"]).call_day == old
    coverage = DayCoverage.objects.get(day=old)
    assert coverage.status == DayCoverage.Status.COMPLETE
    assert coverage.indexed_count == coverage.upstream_count == len(_upstream_ids(sim, old))


def test_a_capped_limit_still_reads_every_record(sim: SimulatorProcess, settings: Any) -> None:
    sim.configure(max_limit=7)
    settings.INDEX_PAGE_LIMIT = 500
    settings.INDEX_DAYS = 2
    result = sync.sync_run()
    assert result.status == "done"
    biggest = max(len(_upstream_ids(sim, d)) for d in sync.window())
    assert biggest > 7, "the test needs a day longer than the cap"
    assert result.requests > 2
    _assert_in_step(sim)


def test_an_upstream_fault_mid_day_backs_off_and_marks_nothing_gone(
    sim: SimulatorProcess, settings: Any
) -> None:
    settings.INDEX_PAGE_LIMIT = 10
    sync.sync_run()
    # New days' worth of data is not needed: a full re-read that breaks on its third page.
    sim.fault("status", status=500, target="list", skip=2, times=1)
    result = sync.sync_run(full=True)
    assert result.status == "failed"
    assert "HTTP 500" in result.errors[0]
    assert not IndexedRecording.objects.filter(gone_at__isnull=False).exists()
    state = SyncState.objects.get()
    assert state.failures == 1 and state.retry_after is not None
    assert state.retry_after > timezone.now() + dt.timedelta(seconds=20)
    assert "HTTP 500" in state.errors[0]["message"] and state.holder == ""
    assert DayCoverage.objects.filter(status=DayCoverage.Status.ERROR).count() == 1

    calls = _list_calls(sim)
    assert sync.sync_run().status == "backoff"
    assert _list_calls(sim) == calls, "a run in backoff does not call the upstream"
    assert sync.sync_run(force=True).status == "done"
    assert SyncState.objects.get().failures == 0
    _assert_in_step(sim)


def test_backoff_doubles_with_each_failure(sim: SimulatorProcess, settings: Any) -> None:
    settings.INDEX_BACKOFF_SECONDS = 10
    sim.fault("malformed", target="list")
    waits = []
    for _ in range(3):
        started = timezone.now()
        assert sync.sync_run(force=True).status == "failed"
        retry_after = SyncState.objects.get().retry_after
        assert retry_after is not None
        waits.append(round((retry_after - started).total_seconds()))
    assert waits == [10, 20, 40]
    assert not IndexedRecording.objects.exists()


def test_a_crash_mid_sync_resumes_from_the_days_already_read(
    sim: SimulatorProcess, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.INDEX_PAGE_LIMIT = 10
    real_upsert = sync.upsert_page
    pages = {"n": 0}

    def dies_on_the_fifth_page(recordings: Any, now: Any) -> None:
        # The process being killed cannot be produced inside the test process: SystemExit
        # unwinds like a kill would stop it, leaving the lease held and the run half done.
        pages["n"] += 1
        if pages["n"] == 5:
            raise SystemExit("killed")
        real_upsert(recordings, now)

    monkeypatch.setattr(sync, "upsert_page", dies_on_the_fifth_page)
    with pytest.raises(SystemExit):
        sync.sync_run()
    monkeypatch.setattr(sync, "upsert_page", real_upsert)
    assert SyncState.objects.get().holder != "", "a killed worker does not give its lease back"
    assert sync.sync_run().status == "busy", "nobody overlaps a lease that has not expired"

    # The lease expires (time passing, stood in for by moving the expiry back).
    SyncState.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    completed = set(
        DayCoverage.objects.filter(status=DayCoverage.Status.COMPLETE).values_list("day", flat=True)
    )
    result = sync.sync_run()
    assert result.status == "done"
    assert result.days_read == DAYS - len(completed - {sync.window()[0]})
    _assert_in_step(sim)


def test_the_lease_admits_one_holder_and_passes_on_when_it_expires(db: None) -> None:
    first, second = sync.Lease("worker-a"), sync.Lease("worker-b")
    assert first.acquire()
    assert not second.acquire()
    first.renew()
    SyncState.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert second.acquire()
    with pytest.raises(sync.LeaseLost):
        first.renew()
    first.release()  # too late: releasing someone else's lease does nothing
    assert SyncState.objects.get().holder == "worker-b"


needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="concurrent transactions in threads are PostgreSQL's; CI runs this there",
)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_run_one_sync(sim: SimulatorProcess) -> None:
    sim.fault("latency", target="list", seconds=0.05)
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def worker(n: int) -> None:
        try:
            barrier.wait()
            results[n] = sync.sync_run().status
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["busy", "done"]
    assert _list_calls(sim) == DAYS, "one run's calls: one read per day, nothing twice"
    _assert_in_step(sim)


def test_vono_customer_id_limits_the_index_to_that_subscriber(
    sim: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_CUSTOMER_ID = 7
    assert sync.sync_run().status == "done"
    assert set(IndexedRecording.objects.values_list("customer_id", flat=True)) == {7}
    assert set(DayCoverage.objects.values_list("customer_id", flat=True)) == {7}
    for day in sync.window():
        assert _indexed_ids(day) == _upstream_ids(sim, day, customer=7)


def test_recordings_deleted_through_the_portal_leave_the_answers(sim: SimulatorProcess) -> None:
    sync.sync_run()
    record_id = IndexedRecording.objects.values_list("record_id", flat=True).first()
    assert services.recordings_mark_deleted(record_ids=[record_id]) == 1
    row = IndexedRecording.objects.get(record_id=record_id)
    assert row.gone_how == IndexedRecording.GoneHow.DELETED
    assert not selectors.search().filter(record_id=record_id).exists()


def test_rate_limiter_spaces_requests_evenly() -> None:
    clock = {"now": 100.0}
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock["now"] += seconds

    limiter = sync.RateLimiter(4, clock=lambda: clock["now"], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    clock["now"] += 10  # idle time is not saved up into a burst
    limiter.wait()
    limiter.wait()
    assert slept[-1] == 0.25


# --- the periodic task on the existing worker --------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes connections between tasks
def test_the_worker_runs_the_sync_and_queues_the_next_one(
    sim: SimulatorProcess, settings: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.INDEX_SYNC_MINUTES = 5
    call_command("sync_recordings", "--enqueue", stdout=io.StringIO())
    call_command("sync_recordings", "--enqueue", stdout=io.StringIO())
    assert DBTaskResult.objects.filter(task_path="index.tasks.sync_index").count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    _assert_in_step(sim)
    tasks = DBTaskResult.objects.filter(task_path="index.tasks.sync_index")
    assert tasks.filter(status="SUCCESSFUL").count() == 1
    waiting = tasks.get(status="READY")
    due = waiting.run_after - timezone.now()
    assert dt.timedelta(minutes=4) < due <= dt.timedelta(minutes=5)
    assert SyncState.objects.get().scheduled_for == waiting.run_after


def test_sync_recordings_command_reports_and_fails_on_upstream_errors(
    sim: SimulatorProcess,
) -> None:
    from django.core.management.base import CommandError

    sim.fault("status", status=500, target="list")
    with pytest.raises(CommandError, match="failed"):
        call_command(
            "sync_recordings",
            "--days",
            "2",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    sim.clear_faults()
    with pytest.raises(CommandError, match="backoff"):
        call_command("sync_recordings", "--days", "2", stdout=io.StringIO())
    call_command("sync_recordings", "--days", "2", "--force", stdout=io.StringIO())
    _assert_in_step(sim, sync.window(2))


# --- the status page ---------------------------------------------------------------------


def test_admin_sees_coverage_and_asks_for_a_sync(
    sim: SimulatorProcess, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    sync.sync_run()
    sim.fault("status", status=500, target="list")
    sync.sync_run(force=True)
    admin = make_user("adm", "Administradores")
    client.force_login(admin)
    page = client.get("/index/")
    assert page.status_code == 200
    text = page.content.decode()
    assert sync.window()[-1].strftime("%d/%m/%Y") in text
    assert "HTTP 500" in text, "the last errors are shown"
    status = page.context["status"]
    assert status.covered_days >= DAYS - 1 and status.lag is not None

    partial = client.get("/index/", headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<section id="index-progress"'), "htmx gets the partial"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/index/sync")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.INDEX_SYNC_REQUESTED)
    assert event.actor == admin
    assert DBTaskResult.objects.filter(task_path="index.tasks.sync_index_now").exists()


def test_the_status_speaks_the_readers_language(sim: SimulatorProcess, client: Client) -> None:
    sync.sync_run()
    client.force_login(make_user("adm", "Administradores"))
    page = client.get("/index/").content.decode()
    assert "concluída" in page and ">done<" not in page, "the run's phase, in Portuguese"
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", page), "dd/mm/aaaa HH:MM"

    client.post("/i18n/setlang/", {"language": "en", "next": "/index/"})
    page = client.get("/index/").content.decode()
    assert ">done<" in page
    # English dates are ISO, 24-hour, as everywhere else: never "12/01/2026 1:17 a.m.".
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d<", page)
    assert not re.search(r"[ap]\.m\.", page)


def test_supervisor_cannot_ask_for_a_sync(client: Client, db: None) -> None:
    client.force_login(make_user("sup", "Supervisores"))
    assert client.post("/index/sync").status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.INDEX_SYNC_REQUESTED).exists()
