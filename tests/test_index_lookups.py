"""Checking explicit ids through the index's call times: one listing per window of time,
not one call per id, and still the upstream's answer (issue 9 §5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from deletions import services as deletions
from index import selectors, sync
from index.models import IndexedRecording
from recordings import vono
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

pytestmark = pytest.mark.django_db


def _index_everything(client: vono.VonoClient) -> list[vono.Recording]:
    """The simulator's recordings, newest first, all in the index (as a full sync leaves it)."""
    recordings = list(client.iter_recordings(vono.RecordingFilter()))
    for start in range(0, len(recordings), 500):
        sync.upsert_page(recordings[start : start + 500], timezone.now())
    return recordings


def _list_calls(sim: SimulatorProcess) -> int:
    return int(sim.stats()["requests"].get("list", 0))


@pytest.fixture
def indexed(client_vono: vono.VonoClient, sim: SimulatorProcess) -> list[vono.Recording]:
    recordings = _index_everything(client_vono)
    sim.reset()  # empty counters: what the tests count is the check alone
    return recordings


def test_ids_close_in_time_are_checked_with_one_listing_per_day(
    indexed: list[vono.Recording], sim: SimulatorProcess
) -> None:
    chosen = indexed[:200]
    days = {r.calldate.date() for r in chosen}
    found = selectors.recordings_by_id([r.record_id for r in chosen], customer_id=None)
    assert found == {r.record_id: r for r in chosen}
    assert _list_calls(sim) == len(days) < len(chosen) / 10


def test_an_id_gone_upstream_is_missing_though_the_index_still_has_it(
    indexed: list[vono.Recording], sim: SimulatorProcess
) -> None:
    gone, kept = indexed[3], indexed[4]
    assert sim.get(f"type=id&ids[]={gone.record_id}", method="DELETE")[0] == 200
    found = selectors.recordings_by_id([gone.record_id, kept.record_id], customer_id=None)
    assert set(found) == {kept.record_id}


def test_ids_the_index_does_not_know_are_looked_up_one_by_one(
    indexed: list[vono.Recording], sim: SimulatorProcess
) -> None:
    late = sim.add_recording(duration=40, calldate="2026-01-02T09:00:00")
    found = selectors.recordings_by_id(
        [late["record_id"], indexed[0].record_id, 99_999_999], customer_id=None
    )
    assert set(found) == {late["record_id"], indexed[0].record_id}
    assert _list_calls(sim) == 3  # the window, then the two unknown ids


def test_an_index_that_misplaces_a_recording_costs_a_call_not_a_wrong_answer(
    indexed: list[vono.Recording], sim: SimulatorProcess
) -> None:
    record = indexed[0]
    IndexedRecording.objects.filter(pk=record.record_id).update(
        calldate=record.calldate - dt.timedelta(days=3)
    )
    assert selectors.recordings_by_id([record.record_id], customer_id=None) == {
        record.record_id: record
    }


def test_the_subscriber_scope_holds_inside_a_window(
    indexed: list[vono.Recording], sim: SimulatorProcess
) -> None:
    day = indexed[0].calldate.date()
    same_day = [r for r in indexed if r.calldate.date() == day]
    scope = same_day[0].customer_id
    assert scope is not None
    assert {r.customer_id for r in same_day} != {scope}, "the day has other subscribers' calls"
    found = selectors.recordings_by_id([r.record_id for r in same_day], customer_id=scope)
    assert found == {r.record_id: r for r in same_day if r.customer_id == scope}


def test_a_busy_day_is_split_into_windows_of_one_page(
    indexed: list[vono.Recording], sim: SimulatorProcess
) -> None:
    day = indexed[0].calldate.date()
    same_day = [r for r in indexed if r.calldate.date() == day]
    assert len(same_day) >= 20
    ids = [r.record_id for r in same_day]
    windows = selectors.lookup_windows(ids, customer_id=None, page_limit=5)
    assert sorted(i for w in windows for i in w.record_ids) == sorted(ids)
    assert len(windows) == -(-len(ids) // 5)
    for window in windows:
        inside = [
            r
            for r in indexed
            if r.calldate.date() == day and window.time_ini <= r.calldate.time() <= window.time_end
        ]
        assert len(inside) <= 5
    assert selectors.recordings_by_id(ids, customer_id=None).keys() == set(ids)


def test_a_deletion_request_is_checked_by_windows_at_creation_opening_and_approval(
    indexed: list[vono.Recording], sim: SimulatorProcess, client: Any
) -> None:
    requester = make_user("sara", "Supervisores")
    approver = make_user("adao", "Administradores")
    chosen = indexed[:120]
    days = len({r.calldate.date() for r in chosen})
    deletion = deletions.deletion_request_create(
        actor=requester, reason="LGPD", ids=[r.record_id for r in chosen]
    )
    assert _list_calls(sim) == days
    client.force_login(approver)
    assert client.get(f"/deletions/{deletion.pk}/").status_code == 200
    assert _list_calls(sim) == 2 * days
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=approver, typed_count="120", auth_age_seconds=5.0
    )
    assert _list_calls(sim) == 3 * days
    deletion.refresh_from_db()
    assert deletion.items.count() == 120
