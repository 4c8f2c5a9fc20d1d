"""Reads of the recording index: the search, and what the status page shows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from index import sync
from index.models import DayCoverage, IndexedRecording, SyncState
from index.numbers import normalise_query

SAO_PAULO = sync.SAO_PAULO
# sort name -> the ordering; record_id breaks ties so paging is stable.
SORTS: dict[str, tuple[str, ...]] = {
    "calldate": ("calldate", "record_id"),
    "-calldate": ("-calldate", "-record_id"),
    "duration": ("duration", "record_id"),
    "-duration": ("-duration", "-record_id"),
    "size": ("size", "record_id"),
    "-size": ("-size", "-record_id"),
}
DEFAULT_SORT = "-calldate"


def search(
    *,
    number: str = "",
    duration_min: int | None = None,
    duration_max: int | None = None,
    sort: str = DEFAULT_SORT,
    scope: int | None = None,
    date_ini: dt.date | None = None,
    date_end: dt.date | None = None,
) -> QuerySet[IndexedRecording]:
    """The present recordings that match, in ``sort`` order.

    ``number`` matches source, destination or caller id partially, typed any way
    (``(41) 98597-7963``, ``+55 41 98597-7963``, ``4115``); text without digits (``ramal``)
    matches the vendor's texts instead. ``scope`` is the subscriber a user is limited to.
    Raises ValueError for an unknown ``sort`` (the caller names the field in its 400).
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    rows = IndexedRecording.objects.filter(gone_at__isnull=True)
    if scope is not None:
        rows = rows.filter(customer_id=scope)
    if date_ini is not None:
        rows = rows.filter(call_day__gte=date_ini)
    if date_end is not None:
        rows = rows.filter(call_day__lte=date_end)
    if duration_min is not None:
        rows = rows.filter(duration__gte=duration_min)
    if duration_max is not None:
        rows = rows.filter(duration__lte=duration_max)
    typed = number.strip()
    if typed:
        wanted = normalise_query(typed)
        if wanted:
            # LIKE '%…%': served by the pg_trgm GIN index on PostgreSQL (3+ characters).
            rows = rows.filter(numbers__contains=wanted)
        else:
            rows = rows.filter(
                Q(source__icontains=typed)
                | Q(destination__icontains=typed)
                | Q(clid__icontains=typed)
            )
    return rows.order_by(*SORTS[sort])


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    coverage: DayCoverage | None


@dataclass(frozen=True)
class IndexStatus:
    state: SyncState
    days: list[DayRow]
    indexed: int
    covered_days: int
    lag: dt.timedelta | None  # since the start of the last complete run
    running: bool


def index_status() -> IndexStatus:
    """Everything the status page shows, in a handful of queries."""
    state = SyncState.objects.filter(pk=sync.STATE).first() or SyncState(pk=sync.STATE)
    plan = sync.window()
    coverage = {
        c.day: c
        for c in DayCoverage.objects.filter(
            customer_id=sync.scope_customer(), day__gte=plan[-1], day__lte=plan[0]
        )
    }
    now = timezone.now()
    totals = DayCoverage.objects.filter(
        customer_id=sync.scope_customer(), day__gte=plan[-1]
    ).aggregate(indexed=Sum("indexed_count"))
    return IndexStatus(
        state=state,
        days=[DayRow(day, coverage.get(day)) for day in plan],
        indexed=totals["indexed"] or 0,
        covered_days=sum(1 for c in coverage.values() if c.status == DayCoverage.Status.COMPLETE),
        lag=now - state.fresh_as_of if state.fresh_as_of else None,
        running=bool(state.holder and state.lease_until and state.lease_until > now),
    )
