"""Reads of the recording index: the search, and what the status page shows."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual, Regex
from django.utils import timezone

from index import sync
from index.models import DayCoverage, IndexedRecording, SyncState
from index.numbers import normalise_query, query_grams
from recordings import vono
from recordings.scope import ExtensionRange, ExtensionSet, Scope
from recordings.vono import LookupWindow

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
    scope: Scope | int | None = None,
    date_ini: dt.date | None = None,
    date_end: dt.date | None = None,
    for_count: bool = False,
) -> QuerySet[IndexedRecording]:
    """The present recordings that match, in ``sort`` order.

    ``number`` matches source, destination or caller id partially, typed any way
    (``(41) 98597-7963``, ``+55 41 98597-7963``, ``4115``); text without digits (``ramal``)
    matches the vendor's texts instead. ``scope`` is the user's reach
    (``recordings.access.scope_of``): a subscriber, a set of extensions, or both; a bare
    int is a subscriber. Raises ValueError for an unknown ``sort`` (the caller names the
    field in its 400). ``for_count``: the rows will only be counted (``count_up_to``), not
    paged in order.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    rows = IndexedRecording.objects.filter(gone_at__isnull=True).filter(scope_q(scope))
    # The window's days (São Paulo's, as call_day holds them) as moments: the date order's
    # index then starts at the window's end instead of walking every later call (a day three
    # weeks back read 220,000 rows for its first page at 1,000,000 rows). Not call_day as
    # well: the planner takes the two for independent and misjudges the rows (bench/README.md).
    if date_ini is not None:
        rows = rows.filter(calldate__gte=dt.datetime.combine(date_ini, dt.time(), SAO_PAULO))
    if date_end is not None:
        after = dt.datetime.combine(date_end + dt.timedelta(days=1), dt.time(), SAO_PAULO)
        rows = rows.filter(calldate__lt=after)
    if duration_min is not None:
        rows = rows.filter(duration__gte=duration_min)
    if duration_max is not None:
        rows = rows.filter(duration__lte=duration_max)
    typed = number.strip()
    if typed:
        wanted = normalise_query(typed)
        if wanted:
            # LIKE '%…%' decides. On PostgreSQL, the rows holding every run of four digits of
            # the fragment come first from their GIN index (migration 0003) when the fragment
            # has several runs (five digits or more), or when rows are only counted. A lone
            # run (an extension) is in thousands of rows: walking the date order finds a page
            # of them sooner than fetching them all.
            runs = query_grams(wanted)
            if runs and (len(runs) > 1 or for_count) and connection.vendor == "postgresql":
                rows = rows.filter(number_grams__contains=runs)
            rows = rows.filter(numbers__contains=wanted)
        else:
            rows = rows.filter(
                Q(source__icontains=typed)
                | Q(destination__icontains=typed)
                | Q(clid__icontains=typed)
            )
    return rows.order_by(*SORTS[sort])


# A search matching more than this says "more than 1.000": counting every row of a broad
# fragment (an extension is in thousands of calls) reads each of them (bench/README.md).
COUNT_CAP = 1000


def count_up_to(rows: QuerySet[IndexedRecording], cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many ``rows`` there are, counting no further than ``cap``; and whether there are
    more than that."""
    counted = rows.order_by()[: cap + 1].count()
    return min(counted, cap), counted > cap


def _range_q(field: str, extension: ExtensionRange) -> Q:
    column = Lower(field)  # extensions are stored lower-case, compared without case
    if extension.width == 0:
        return Q(Exact(column, extension.prefix))
    # Same prefix and digit count at both ends: text order is number order, once the regex
    # has made sure the value is exactly the prefix and that many digits.
    pattern = f"^{extension.prefix}[0-9]{{{extension.width}}}$"
    low = f"{extension.prefix}{extension.low:0{extension.width}d}"
    high = f"{extension.prefix}{extension.high:0{extension.width}d}"
    if low == high:
        return Q(Exact(column, low))
    return Q(GreaterThanOrEqual(column, low), LessThanOrEqual(column, high), Regex(column, pattern))


def scope_q(scope: Scope | int | None) -> Q:
    """The index rows within ``scope``: its subscriber, and a source or destination in its
    extension set. An empty Q for no limit."""
    if scope is None:
        return Q()
    if isinstance(scope, int):
        scope = Scope(customer_id=scope)
    condition = Q()
    if scope.customer_id is not None:
        condition &= Q(customer_id=scope.customer_id)
    if scope.extensions is not None:
        condition &= extensions_q(scope.extensions, "source", "destination")
    return condition


def extensions_q(extensions: ExtensionSet, *fields: str) -> Q:
    """Rows where any of ``fields`` holds an extension of the set (compared as
    ``recordings.scope`` does: lower-case, exact digits)."""
    condition = Q(pk__in=[])  # an empty set matches nothing
    for extension in extensions.ranges:
        for field in fields:
            condition |= _range_q(field, extension)
    return condition


def visible_ids(scope: Scope, record_ids: list[int], *, include_gone: bool = False) -> set[int]:
    """Which of ``record_ids`` the index knows within ``scope``. An id the index does not
    know is not among them: for a user limited to extensions it is hidden (404), as the
    upstream cannot say whose extension a call it has not listed belongs to."""
    rows = IndexedRecording.objects.filter(record_id__in=record_ids).filter(scope_q(scope))
    if not include_gone:
        rows = rows.filter(gone_at__isnull=True)
    return set(rows.values_list("record_id", flat=True))


def filtered(filters: vono.RecordingFilter, scope: Scope) -> QuerySet[IndexedRecording]:
    """The present rows matching an upstream-style filter (dates and times joined into one
    continuous range, as the upstream reads them; an id) within ``scope``, newest first."""
    rows = search(scope=scope, date_ini=filters.date_ini, date_end=filters.date_end)
    if filters.customer_id is not None:
        rows = rows.filter(customer_id=filters.customer_id)
    if filters.id_record is not None:
        rows = rows.filter(record_id=filters.id_record)
    if filters.date_ini is not None and filters.time_ini is not None:
        start = dt.datetime.combine(filters.date_ini, filters.time_ini, tzinfo=SAO_PAULO)
        rows = rows.filter(calldate__gte=start)
    if filters.date_end is not None:
        end_time = filters.time_end or dt.time(23, 59, 59)
        end = dt.datetime.combine(filters.date_end, end_time, tzinfo=SAO_PAULO)
        rows = rows.filter(calldate__lt=end + dt.timedelta(seconds=1))
    return rows


def filtered_page(
    filters: vono.RecordingFilter, scope: Scope, *, start: int, count: int
) -> vono.RecordingPage:
    """One page of ``filtered``, with the totals of everything that matched, in the shape
    of an upstream page."""
    rows = filtered(filters, scope)
    totals = rows.aggregate(n=Count("record_id"), time=Sum("duration"), size=Sum("size"))
    unknown_size = rows.filter(size__isnull=True).exists()
    total_time = int(totals["time"] or 0)
    minutes, seconds = divmod(total_time, 60)
    hours, minutes = divmod(minutes, 60)
    return vono.RecordingPage(
        recordings=tuple(as_recording(r) for r in rows[start : start + count]),
        total_records=int(totals["n"] or 0),
        total_time=total_time,
        total_time_text=f"{hours}:{minutes:02d}:{seconds:02d}",
        total_size=None if unknown_size else int(totals["size"] or 0),
        total_size_text="",
        limit=count,
        offset=start,
    )


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


def recordings_by_id(
    record_ids: Iterable[int], *, customer_id: int | None
) -> dict[int, vono.Recording]:
    """The recordings Vono holds now among ``record_ids`` (within ``customer_id``), by id.

    Asked of the upstream, never answered from the index: the index only says when each was
    made, so ids close in time are checked with one listing (``lookup_windows``); the rest
    one by one, VONO_LOOKUP_CONCURRENCY at a time.
    """
    ids = sorted({int(i) for i in record_ids})
    return vono.get_client().get_recordings(
        ids,
        customer_id=customer_id,
        concurrency=settings.VONO_LOOKUP_CONCURRENCY,
        windows=lookup_windows(ids, customer_id=customer_id, page_limit=settings.VONO_PAGE_LIMIT),
        page_size=settings.VONO_PAGE_LIMIT,
    )


def lookup_windows(
    record_ids: Iterable[int], *, customer_id: int | None, page_limit: int
) -> list[LookupWindow]:
    """Where the index says these recordings were made, as windows of one day to list.

    A window spans recordings that lie close together in time, and holds at most
    ``page_limit`` recordings by the index's count (one list call), so a batch costs about
    one call per cluster instead of one per id. Ids the index does not know are left out
    (looked up one by one). The index only places ids: the upstream's listing still decides
    what exists, and an id missing from its window is looked up by id before it is called
    missing.
    """
    wanted = sorted({int(i) for i in record_ids})
    by_day: dict[dt.date, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for start in range(0, len(wanted), 900):  # SQLite's bound on query parameters
        for record_id, calldate in IndexedRecording.objects.filter(
            record_id__in=wanted[start : start + 900]
        ).values_list("record_id", "calldate"):
            local = calldate.astimezone(SAO_PAULO).replace(microsecond=0)
            by_day[local.date()].append((local, record_id))
    if not by_day:
        return []
    present = IndexedRecording.objects.filter(gone_at__isnull=True)
    if customer_id is not None:
        present = present.filter(customer_id=customer_id)
    day_counts = dict(
        present.filter(call_day__in=list(by_day))
        .values("call_day")
        .annotate(n=Count("record_id"))
        .values_list("call_day", "n")
    )
    windows: list[LookupWindow] = []
    for day, calls in sorted(by_day.items()):
        calls.sort()
        if day_counts.get(day, 0) <= page_limit:
            windows.append(_window(day, calls))
            continue
        # A busy day: split it where the recordings in between would exceed a page.
        moments = [
            m.astimezone(SAO_PAULO).replace(microsecond=0)
            for m in present.filter(
                call_day=day, calldate__gte=calls[0][0], calldate__lt=calls[-1][0] + _SECOND
            )
            .order_by("calldate")
            .values_list("calldate", flat=True)
        ]
        first = 0
        for n in range(1, len(calls) + 1):
            if n == len(calls) or (
                bisect_right(moments, calls[n][0]) - bisect_left(moments, calls[first][0])
                > page_limit
            ):
                windows.append(_window(day, calls[first:n]))
                first = n
    return windows


_SECOND = dt.timedelta(seconds=1)


def _window(day: dt.date, calls: list[tuple[dt.datetime, int]]) -> LookupWindow:
    return LookupWindow(
        day=day,
        time_ini=calls[0][0].time(),
        time_end=calls[-1][0].time(),
        record_ids=tuple(record_id for _, record_id in calls),
    )


# --- what the recordings list asks of the index ----------------------------------------------


def narrow(
    rows: QuerySet[IndexedRecording],
    *,
    starts: dt.datetime | None = None,
    ends: dt.datetime | None = None,
    record_id: int | None = None,
    customer_id: int | None = None,
    extension: str = "",
) -> QuerySet[IndexedRecording]:
    """``search``'s answer narrowed by the list's other filters: a continuous time range
    (both ends included, to the second, as the upstream does), one id, one subscriber asked
    for by a user who may see them all, and an extension that is the call's source or
    destination (compared as digits, so ``sup9001`` and ``9001`` are the same extension)."""
    if starts is not None:
        rows = rows.filter(calldate__gte=starts)
    if ends is not None:
        rows = rows.filter(calldate__lt=ends + dt.timedelta(seconds=1))
    if record_id is not None:
        rows = rows.filter(record_id=record_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    wanted = normalise_query(extension)
    if wanted:
        # ``numbers`` is "source destination clid" (digits, one space apart): the source is
        # the first token, and only the destination is ever enclosed by two spaces.
        rows = rows.filter(Q(numbers__startswith=f"{wanted} ") | Q(numbers__contains=f" {wanted} "))
    return rows


@dataclass(frozen=True)
class WindowCoverage:
    """How much of a date window the index holds completely, and as of when."""

    days_asked: int
    days_indexed: int
    unbounded: bool  # no start date: the window reaches back past anything indexed
    as_of: dt.datetime | None  # the last complete sync (or, before one, the oldest day read)

    @property
    def complete(self) -> bool:
        return not self.unbounded and self.days_indexed >= self.days_asked

    def stale(self, now: dt.datetime | None = None) -> bool:
        limit = dt.timedelta(minutes=settings.INDEX_STALE_MINUTES)
        return self.as_of is None or (now or timezone.now()) - self.as_of > limit


def window_coverage(date_ini: dt.date | None, date_end: dt.date | None) -> WindowCoverage:
    """Whether every day from ``date_ini`` to ``date_end`` (today when open) is indexed."""
    today = sync.today_local()
    end = min(date_end or today, today)  # days to come hold no calls yet
    # A day that left the sync's window is no longer kept in step: it does not count.
    first = max(date_ini or dt.date.min, today - dt.timedelta(days=settings.INDEX_DAYS - 1))
    days = DayCoverage.objects.filter(
        customer_id=sync.scope_customer(),
        status=DayCoverage.Status.COMPLETE,
        day__gte=first,
        day__lte=end,
    )
    found = days.aggregate(n=Count("pk"), oldest=Min("last_checked"))
    state = SyncState.objects.filter(pk=sync.STATE).only("fresh_as_of").first()
    fresh = state.fresh_as_of if state else None
    asked = max(0, (end - date_ini).days + 1) if date_ini is not None else found["n"]
    return WindowCoverage(
        days_asked=asked,
        days_indexed=found["n"],
        unbounded=date_ini is None,
        as_of=fresh or found["oldest"],
    )


def as_recording(row: IndexedRecording) -> vono.Recording:
    """An index row as the upstream's typed recording, so every page and file shows both alike."""
    return vono.Recording(
        record_id=row.record_id,
        customer_id=row.customer_id,
        calldate=row.calldate.astimezone(SAO_PAULO),
        clid=row.clid,
        source=row.source,
        destination=row.destination,
        duration=row.duration,
        duration_text=row.duration_text,
        size=row.size,
        size_text=row.size_text,
    )


_RECORDING_FIELDS = (
    "record_id",
    "customer_id",
    "calldate",
    "clid",
    "source",
    "destination",
    "duration",
    "duration_text",
    "size",
    "size_text",
)


def _recording(
    record_id: int,
    customer_id: int | None,
    calldate: dt.datetime,
    clid: str,
    source: str,
    destination: str,
    duration: int,
    duration_text: str,
    size: int | None,
    size_text: str,
) -> vono.Recording:
    """``as_recording`` from the columns of ``_RECORDING_FIELDS``, in that order."""
    return vono.Recording(
        record_id=record_id,
        customer_id=customer_id,
        calldate=calldate.astimezone(SAO_PAULO),
        clid=clid,
        source=source,
        destination=destination,
        duration=duration,
        duration_text=duration_text,
        size=size,
        size_text=size_text,
    )


def page_of(
    rows: QuerySet[IndexedRecording],
    *,
    start: int,
    count: int,
    totals: tuple[int, int, int] | None = None,
) -> vono.RecordingPage:
    """Rows ``start`` to ``start + count`` of ``rows``, with the totals of all of them:
    counted here, or ``totals`` (calls, seconds, bytes) when the caller has them already."""
    if totals is None:
        # An unknown size (the vendor's text was unreadable) counts as nothing in the total.
        found = rows.order_by().aggregate(n=Count("pk"), time=Sum("duration"), size=Sum("size"))
        totals = (found["n"], found["time"] or 0, found["size"] or 0)
    # Plain tuples, not model instances: a hundred of them cost a millisecond less.
    page = rows[start : start + count].values_list(*_RECORDING_FIELDS)
    return vono.RecordingPage(
        recordings=tuple(_recording(*values) for values in page),
        total_records=totals[0],
        total_time=totals[1],
        total_time_text="",
        total_size=totals[2],
        total_size_text="",
        limit=count,
        offset=start,
    )
