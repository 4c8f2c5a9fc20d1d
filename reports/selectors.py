"""The charts' figures: a handful of aggregate queries over the recording index.

Every figure is counted by the database (``values`` + ``annotate``); Python only reshapes
the aggregated rows (at most days x subscribers of them), never the recordings themselves.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, ExtractHour, ExtractWeekDay, Length
from django.utils.translation import gettext as _

from index import selectors as index_selectors
from index.models import IndexedRecording
from index.numbers import normalise, query_grams
from reports.forms import ReportFilter
from reports.models import NO_CUSTOMER, DurationCount, ExtensionCount, HourCount

# Duration classes, in seconds: [start, end) each; the last is open.
DURATION_EDGES = (0, 30, 60, 120, 300, 600, 1200, 1800)
TOP_EXTENSIONS = 20
# Beyond this many subscribers in the period, the smaller ones share one stack: "outros".
MAX_STACKS = 8
# Django's ExtractWeekDay: 1 = Sunday ... 7 = Saturday. The heatmap reads Monday first.
WEEKDAYS = (2, 3, 4, 5, 6, 7, 1)
PARTS = ("totals", "daily", "heatmap", "durations", "extensions", "storage")

# The extension of a call is its shorter end: an agent's extension against a customer's
# phone number whichever way the call went. (A call between two extensions counts once, for
# its source.)
EXTENSION = Case(
    When(
        Q(source__gt="") & Q(destination__gt="") & Q(destination_len__lt=F("source_len")),
        then=F("destination"),
    ),
    default=F("source"),
)


def matching(filters: ReportFilter, *, scope: Any) -> QuerySet[IndexedRecording]:
    """The present recordings the charts count: the list's search with the same scope, plus
    the subscriber and the extension, unordered (aggregates need no order)."""
    rows = index_selectors.search(
        number=filters.number,
        scope=scope,
        date_ini=filters.date_ini,
        date_end=filters.date_end,
        for_count=True,  # aggregated, never paged: the number's runs of digits narrow first
    ).order_by()
    if filters.customer_id is not None:
        rows = rows.filter(customer_id=filters.customer_id)
    wanted = normalise(filters.extension)
    runs = query_grams(wanted) if wanted else []
    if runs and connection.vendor == "postgresql":
        # The runs of four digits the index keeps (its GIN index) narrow first, as its search
        # does; the LIKE below decides.
        rows = rows.filter(number_grams__contains=runs)
    if wanted:
        # As the list reads ``extension``: the call's source or destination, as digits.
        # ``numbers`` is "source destination clid": the source is its first token, and only
        # the destination is ever enclosed by two spaces.
        rows = rows.filter(Q(numbers__startswith=f"{wanted} ") | Q(numbers__contains=f" {wanted} "))
    return rows


@dataclass(frozen=True)
class Series:
    label: str
    customer_id: int | None
    values: list[int]


@dataclass(frozen=True)
class DailyChart:
    days: list[dt.date]
    series: list[Series]  # one per subscriber (stacked), "outros" last
    totals: list[int]


@dataclass(frozen=True)
class HeatmapChart:
    weekdays: tuple[int, ...]  # ExtractWeekDay numbers, Monday first
    hours: range
    counts: dict[tuple[int, int], int]  # (weekday, hour) -> calls
    peak: int

    def rows(self) -> list[tuple[int, list[tuple[int, int, int]]]]:
        """Per weekday: (hour, calls, shade 0-5) for each hour, for the table."""
        out = []
        for weekday in self.weekdays:
            cells = []
            for hour in self.hours:
                calls = self.counts.get((weekday, hour), 0)
                shade = 0 if not calls else 1 + (4 * calls) // max(self.peak, 1)
                cells.append((hour, calls, min(shade, 5)))
            out.append((weekday, cells))
        return out


@dataclass(frozen=True)
class DurationClass:
    start: int
    end: int | None  # exclusive; None: open
    calls: int


@dataclass(frozen=True)
class ExtensionRow:
    extension: str
    calls: int
    seconds: int


@dataclass(frozen=True)
class StorageRow:
    day: dt.date
    bytes: int
    cumulative: int


@dataclass(frozen=True)
class Report:
    filters: ReportFilter
    calls: int
    seconds: int
    bytes: int
    daily: DailyChart
    heatmap: HeatmapChart
    durations: list[DurationClass]
    top_by_calls: list[ExtensionRow]
    top_by_minutes: list[ExtensionRow]
    storage: list[StorageRow] = field(default_factory=list)


def report(
    filters: ReportFilter,
    *,
    scope: Any,
    parts: frozenset[str] = frozenset(PARTS),
    rollups: bool | None = None,
) -> Report:
    """Every chart's figures for ``filters`` within ``scope``, in at most five aggregate
    queries; ``parts`` names the charts wanted (one CSV needs one chart), the rest are empty.

    On PostgreSQL, a filter by period and subscriber only is counted from the rollups the
    triggers keep (``reports.models``), a few thousand rows for a year; a number, an
    extension or a scope other than one subscriber is counted on the index itself.
    ``rollups`` forces one way (tests and the benchmark compare them).
    """
    use_rollups = _rollups_serve(filters, scope) if rollups is None else rollups
    source: _Figures = (
        _RollupFigures(filters, scope) if use_rollups else _IndexFigures(filters, scope)
    )
    per_day = source.per_day() if parts & {"daily", "storage", "totals"} else []
    days = _days(filters, [r["call_day"] for r in per_day])
    wants_extensions = "extensions" in parts
    return Report(
        filters=filters,
        calls=sum(r["calls"] for r in per_day),
        seconds=sum(r["seconds"] or 0 for r in per_day),
        bytes=sum(r["bytes"] or 0 for r in per_day),
        daily=_daily(days, per_day),
        heatmap=_heatmap(source.hour_cells() if "heatmap" in parts else []),
        durations=_durations(source.duration_counts()) if "durations" in parts else [],
        top_by_calls=_ranked(source.extensions("-calls")) if wants_extensions else [],
        top_by_minutes=_ranked(source.extensions("-seconds")) if wants_extensions else [],
        storage=_storage(days, per_day),
    )


def subscriber_of(scope: Any) -> int | None:
    """The one subscriber a scope (``recordings.access.scope_of``) limits to, if any."""
    if scope is None or isinstance(scope, int):
        return scope
    customer_id: int | None = scope.customer_id
    return customer_id


def whole_day_totals(
    *, date_ini: dt.date, date_end: dt.date | None, customers: tuple[int | None, ...] = ()
) -> tuple[int, int, int] | None:
    """Calls, seconds and bytes of the present recordings of whole days, from the rollups:
    a few hundred rows summed instead of every recording of the window counted. ``customers``:
    each one given (not None) must match. None where the rollups are not kept (SQLite).

    Counted as the list counts: an unknown size adds nothing. The triggers keep the rollups
    in the index row's own transaction, so the figures are never older than the rows.
    """
    if connection.vendor != "postgresql" or any(c is not None and c < 0 for c in customers):
        return None  # no rollups; or a "subscriber" that would read the rollups' NO_CUSTOMER
    rows = HourCount.objects.filter(day__gte=date_ini)
    if date_end is not None:
        rows = rows.filter(day__lte=date_end)
    for customer in customers:
        if customer is not None:
            rows = rows.filter(customer_id=customer)
    found = rows.aggregate(calls=Sum("calls"), seconds=Sum("seconds"), bytes=Sum("bytes"))
    return (found["calls"] or 0, found["seconds"] or 0, found["bytes"] or 0)


def _rollups_serve(filters: ReportFilter, scope: Any) -> bool:
    # The rollups know subscribers, not which extensions a team may see.
    by_subscriber_only = getattr(scope, "extensions", None) is None
    return (
        connection.vendor == "postgresql"
        and not filters.number
        and not filters.extension
        and by_subscriber_only
    )


class _Figures(Protocol):
    """The aggregated rows every chart is drawn from, whichever table they are counted on
    (the index itself, or the PostgreSQL rollups)."""

    def per_day(self) -> list[dict[str, Any]]:  # call_day, customer_id, calls, seconds, bytes
        ...

    def hour_cells(self) -> list[dict[str, Any]]:  # weekday, hour, calls
        ...

    def duration_counts(self) -> dict[int, int]:  # class number -> calls
        ...

    def extensions(self, order: str) -> list[dict[str, Any]]:  # extension, calls, seconds
        ...


class _IndexFigures(_Figures):
    def __init__(self, filters: ReportFilter, scope: Any) -> None:
        self.rows = matching(filters, scope=scope)

    def per_day(self) -> list[dict[str, Any]]:
        return [
            dict(row)
            for row in self.rows.values("call_day", "customer_id")
            .annotate(calls=Count("pk"), seconds=Sum("duration"), bytes=Coalesce(Sum("size"), 0))
            .order_by("call_day", "customer_id")
        ]

    def hour_cells(self) -> list[dict[str, Any]]:
        return [
            dict(row)
            for row in self.rows.annotate(
                weekday=ExtractWeekDay("call_day"),
                hour=ExtractHour("calldate", tzinfo=index_selectors.SAO_PAULO),
            )
            .values("weekday", "hour")
            .annotate(calls=Count("pk"))
            .order_by()
        ]

    def duration_counts(self) -> dict[int, int]:
        bucket = Case(
            *(When(duration__lt=end, then=Value(n)) for n, end in enumerate(DURATION_EDGES[1:])),
            default=Value(len(DURATION_EDGES) - 1),
            output_field=IntegerField(),
        )
        return {
            r["bucket"]: r["calls"]
            for r in self.rows.annotate(bucket=bucket).values("bucket").annotate(calls=Count("pk"))
        }

    def extensions(self, order: str) -> list[dict[str, Any]]:
        return [
            dict(row)
            for row in self.rows.annotate(
                source_len=Length("source"), destination_len=Length("destination")
            )
            .annotate(extension=EXTENSION)
            .exclude(extension="")
            .values("extension")
            .annotate(calls=Count("pk"), seconds=Sum("duration"))
            .order_by(order, "extension")[:TOP_EXTENSIONS]
        ]


class _RollupFigures(_Figures):
    def __init__(self, filters: ReportFilter, scope: Any) -> None:
        self.filters, self.scope = filters, scope

    def _of(self, model: type[HourCount | DurationCount | ExtensionCount]) -> QuerySet[Any]:
        rows = model.objects.all()
        if self.filters.date_ini is not None:
            rows = rows.filter(day__gte=self.filters.date_ini)
        if self.filters.date_end is not None:
            rows = rows.filter(day__lte=self.filters.date_end)
        for customer in (subscriber_of(self.scope), self.filters.customer_id):
            if customer is not None:
                rows = rows.filter(customer_id=customer)
        return rows.order_by()

    def per_day(self) -> list[dict[str, Any]]:
        rows = (
            self._of(HourCount)
            .values("day", "customer_id")
            .annotate(
                total_calls=Sum("calls"), total_seconds=Sum("seconds"), total_bytes=Sum("bytes")
            )
            .filter(total_calls__gt=0)
            .order_by("day", "customer_id")
        )
        return [
            {
                "call_day": r["day"],
                "customer_id": None if r["customer_id"] == NO_CUSTOMER else r["customer_id"],
                "calls": r["total_calls"],
                "seconds": r["total_seconds"],
                "bytes": r["total_bytes"],
            }
            for r in rows
        ]

    def hour_cells(self) -> list[dict[str, Any]]:
        rows = (
            self._of(HourCount)
            .annotate(weekday=ExtractWeekDay("day"))
            .values("weekday", "hour")
            .annotate(total_calls=Sum("calls"))
            .filter(total_calls__gt=0)
        )
        return [
            {"weekday": r["weekday"], "hour": r["hour"], "calls": r["total_calls"]} for r in rows
        ]

    def duration_counts(self) -> dict[int, int]:
        rows = self._of(DurationCount).values("bucket").annotate(total_calls=Sum("calls"))
        return {r["bucket"]: r["total_calls"] for r in rows if r["total_calls"]}

    def extensions(self, order: str) -> list[dict[str, Any]]:
        rows = (
            self._of(ExtensionCount)
            .values("extension")
            .annotate(total_calls=Sum("calls"), total_seconds=Sum("seconds"))
            .filter(total_calls__gt=0)
            .order_by(order.replace("-", "-total_"), "extension")[:TOP_EXTENSIONS]
        )
        return [
            {"extension": r["extension"], "calls": r["total_calls"], "seconds": r["total_seconds"]}
            for r in rows
        ]


def _days(filters: ReportFilter, seen: list[dt.date]) -> list[dt.date]:
    """Every day of the period, those without calls too (an open bound: the data's edge)."""
    first = filters.date_ini or (min(seen) if seen else None)
    last = filters.date_end or (max(seen) if seen else None)
    if first is None or last is None or last < first:
        return []
    if seen:  # an open or far bound: no thousand empty years
        first, last = max(first, min(seen)), min(last, max(seen))
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _daily(days: list[dt.date], per_day: list[dict[str, Any]]) -> DailyChart:
    by_customer: dict[int | None, int] = defaultdict(int)
    for row in per_day:
        by_customer[row["customer_id"]] += row["calls"]
    ranked = sorted(by_customer, key=lambda c: (-by_customer[c], c is None, c or 0))
    shown = ranked if len(ranked) <= MAX_STACKS else ranked[: MAX_STACKS - 1]
    position = {day: n for n, day in enumerate(days)}
    values: dict[int | str | None, list[int]] = {c: [0] * len(days) for c in shown}
    if len(shown) < len(ranked):
        values["others"] = [0] * len(days)
    for row in per_day:
        key = row["customer_id"] if row["customer_id"] in shown else "others"
        values[key][position[row["call_day"]]] += row["calls"]
    series = [Series(_customer_label(c), c, values[c]) for c in shown]
    if "others" in values:
        series.append(Series(str(_("outros assinantes")), None, values["others"]))
    totals = [sum(s.values[n] for s in series) for n in range(len(days))]
    return DailyChart(days=days, series=series, totals=totals)


def _customer_label(customer_id: int | None) -> str:
    if customer_id is None:
        return str(_("sem assinante"))
    return str(_("Assinante %(id)s") % {"id": customer_id})


def _heatmap(cells: list[dict[str, Any]]) -> HeatmapChart:
    counts = {(c["weekday"], c["hour"]): c["calls"] for c in cells}
    return HeatmapChart(
        weekdays=WEEKDAYS, hours=range(24), counts=counts, peak=max(counts.values(), default=0)
    )


def _durations(counts: dict[int, int]) -> list[DurationClass]:
    ends: list[int | None] = [*DURATION_EDGES[1:], None]
    return [
        DurationClass(start, end, counts.get(n, 0))
        for n, (start, end) in enumerate(zip(DURATION_EDGES, ends, strict=True))
    ]


def _ranked(rows: list[dict[str, Any]]) -> list[ExtensionRow]:
    return [ExtensionRow(r["extension"], r["calls"], r["seconds"] or 0) for r in rows]


def _storage(days: list[dt.date], per_day: list[dict[str, Any]]) -> list[StorageRow]:
    daily: dict[dt.date, int] = defaultdict(int)
    for row in per_day:
        daily[row["call_day"]] += row["bytes"]
    out, total = [], 0
    for day in days:
        total += daily.get(day, 0)
        out.append(StorageRow(day, daily.get(day, 0), total))
    return out
