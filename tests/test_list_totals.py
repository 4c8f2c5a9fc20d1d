"""The list's totals: counted over the rows, or summed from the reports' rollups for whole
days, the same figures either way (on PostgreSQL, where the rollups are kept)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from index import selectors, services, sync
from index.models import DayCoverage, SyncState
from recordings import listing, vono
from recordings.scope import Scope, parse_extensions
from tests.conftest import make_recording

SP = sync.SAO_PAULO
DAY = timezone.localdate() - dt.timedelta(days=5)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SP)


@pytest.fixture
def calls(db: None) -> None:
    monday, tuesday = DAY, DAY + dt.timedelta(days=1)
    sync.upsert_page(
        [
            make_recording(1, _at(monday, 0, 0), duration=20),
            make_recording(2, _at(monday, 9, 30), duration=45, size=None),  # an unreadable size
            make_recording(3, _at(monday, 23, 59), duration=400, customer_id=7),  # Tuesday in UTC
            make_recording(4, _at(tuesday, 0, 0), duration=1900, customer_id=7, source="2001"),
            make_recording(5, _at(tuesday, 14), duration=90, customer_id=None),
            make_recording(
                6, _at(monday - dt.timedelta(days=1), 23, 59), duration=5
            ),  # the day before
            make_recording(7, _at(tuesday, 8), duration=33, size=5_000_000_000),  # beyond 32 bits
        ],
        timezone.now(),
    )
    services.recordings_mark_deleted(record_ids=[7])  # gone: counted nowhere
    # Every day of the cases complete and fresh: the index answers them.
    now = timezone.now()
    for back in range(20):
        DayCoverage.objects.create(
            day=timezone.localdate() - dt.timedelta(days=back),
            customer_id=sync.scope_customer(),
            status=DayCoverage.Status.COMPLETE,
            last_checked=now,
        )
    SyncState.objects.update_or_create(pk=sync.STATE, defaults={"fresh_as_of": now})


def _search(**fields: object) -> listing.ListSearch:
    asked = fields.pop("asked_customer", None)
    return listing.ListSearch(
        filters=vono.RecordingFilter(**fields),  # type: ignore[arg-type]
        asked_customer=asked,  # type: ignore[arg-type]
    )


def _counted(search: listing.ListSearch, scope: Scope | None) -> tuple[int, int, int]:
    page = selectors.page_of(listing.rows(search, scope=scope), start=0, count=1)
    return page.total_records, page.total_time, page.total_size


def _listed(search: listing.ListSearch, scope: Scope | None) -> tuple[int, int, int]:
    page = listing.list_page(search, scope=scope, start=0, count=1).page
    return page.total_records, page.total_time, page.total_size


CASES = [
    (dict(date_ini=DAY, date_end=DAY), None, (3, 465, 2000)),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1)), None, (5, 2455, 4000)),
    (dict(date_ini=DAY), None, (5, 2455, 4000)),
    (dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1)), Scope(7), (2, 2300, 2000)),
    (dict(date_ini=DAY, date_end=DAY, asked_customer=3), None, (2, 65, 1000)),
    (dict(date_ini=DAY, date_end=DAY, asked_customer=3), Scope(7), (0, 0, 0)),
    (
        dict(date_ini=DAY - dt.timedelta(days=9), date_end=DAY - dt.timedelta(days=2)),
        None,
        (0, 0, 0),
    ),
    # Not whole days, or not by subscriber alone: counted over the rows.
    (dict(date_ini=DAY, date_end=DAY, time_ini=dt.time(9)), None, (2, 445, 1000)),
    (dict(date_ini=DAY, date_end=DAY, id_record=3), None, (1, 400, 1000)),
    (
        dict(date_ini=DAY, date_end=DAY + dt.timedelta(days=1)),
        Scope(None, parse_extensions("2001")),
        (1, 1900, 1000),
    ),
]


@pytest.mark.parametrize(("fields", "scope", "expected"), CASES)
def test_the_totals_are_the_rows_figures(
    calls: None, fields: dict[str, object], scope: Scope | None, expected: tuple[int, int, int]
) -> None:
    search = _search(**fields)
    assert _counted(search, scope) == expected
    assert _listed(search, scope) == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollups are PostgreSQL's")
def test_whole_days_are_summed_from_the_rollups_and_follow_every_change(calls: None) -> None:
    search = _search(date_ini=DAY, date_end=DAY + dt.timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        assert _listed(search, None) == (5, 2455, 4000)
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "reports_hourcount" in sql
    assert 'COUNT("index_indexedrecording"' not in sql
    # A re-read with another duration and size, a deletion, a late arrival: still the rows'.
    sync.upsert_page(
        [
            make_recording(2, _at(DAY, 9, 30), duration=50, size=300),
            make_recording(8, _at(DAY, 12)),
        ],
        timezone.now(),
    )
    services.recordings_mark_deleted(record_ids=[1])
    assert _listed(search, None) == _counted(search, None) == (5, 2500, 4300)
