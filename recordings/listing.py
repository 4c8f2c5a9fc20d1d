"""The recordings list's answer: from the index when it holds the asked window, else live.

Vono filters only by date, time, id and subscriber, and lists newest first. The index
answers every filter and order, but only for the days it holds completely (DayCoverage),
and only as fresh as its last sync. So, for one search:

- a window the index holds, synced within INDEX_STALE_MINUTES: the index answers, and the
  page shows its age;
- otherwise, a search Vono can do itself (dates, times, id, subscriber): Vono answers live,
  and the page says why;
- otherwise (a number, an extension, durations or another order): the index answers with
  what it holds, and the page says the answer covers only the indexed days, or is old.

A supervisor is never shown a partial or stale answer without being told. The page, its CSV
and a deletion "of this filter" all go through ``plan`` and ``rows``: the same rows.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from index import selectors
from index.models import IndexedRecording
from index.selectors import WindowCoverage
from recordings import vono
from reports import selectors as report_selectors

DEFAULT_SORT = selectors.DEFAULT_SORT


@dataclass(frozen=True)
class ListSearch:
    """The list's filters: the upstream's own, and those only the index can answer."""

    filters: vono.RecordingFilter
    number: str = ""
    extension: str = ""
    duration_min: int | None = None
    duration_max: int | None = None
    sort: str = DEFAULT_SORT
    asked_customer: int | None = None  # a subscriber asked for by a user who sees them all
    # QA's evaluation filter (qa.forms.evaluation_filter): a Q on the index's record_id, and
    # the values asked, as stored with an audit event.
    evaluation: Q | None = field(default=None, compare=False)
    evaluation_asked: dict[str, str] = field(default_factory=dict)

    @property
    def index_only(self) -> bool:
        """Whether any part of this search is beyond what the upstream can do."""
        return bool(
            self.number
            or self.extension
            or self.duration_min is not None
            or self.duration_max is not None
            or self.sort != DEFAULT_SORT
            or self.evaluation is not None
        )

    def as_json(self) -> dict[str, Any]:
        """The search as an audit event or a deletion request stores it."""
        return {
            **self.filters.as_json(),
            "number": self.number,
            "extension": self.extension,
            "duration_min": self.duration_min,
            "duration_max": self.duration_max,
            "sort": self.sort,
            **self.evaluation_asked,
        }


class Source(enum.StrEnum):
    INDEX = "index"
    LIVE = "live"


@dataclass(frozen=True)
class Plan:
    """Who answers a search, and what the page must say about the answer."""

    source: Source
    coverage: WindowCoverage
    stale: bool  # the index's last complete sync is older than INDEX_STALE_MINUTES

    @property
    def partial(self) -> bool:
        """An index answer for a window the index holds only in part."""
        return self.source == Source.INDEX and not self.coverage.complete

    @property
    def as_of(self) -> dt.datetime | None:
        return self.coverage.as_of

    @property
    def age_minutes(self) -> int | None:
        """Whole minutes since the index was last known complete (the page's badge)."""
        if self.coverage.as_of is None:
            return None
        return max(0, int((timezone.now() - self.coverage.as_of).total_seconds() // 60))


def upstream_can_scope(scope: Any) -> bool:
    """Whether the upstream can apply ``scope`` by itself. A subscriber (or none) it can, as
    a path segment. A scope that also names extensions (``getattr``: the value stays opaque
    here) it cannot: listing it live would show other teams' calls, so only the index may
    answer it."""
    return getattr(scope, "extensions", None) is None


def needs_index(search: ListSearch, scope: Any) -> bool:
    """Whether only the index can answer ``search`` for a user of ``scope``."""
    return search.index_only or not upstream_can_scope(scope)


def plan(search: ListSearch, scope: Any = None) -> Plan:
    """Decide who answers ``search`` for a user of ``scope`` (see the module's docstring)."""
    coverage = selectors.window_coverage(search.filters.date_ini, search.filters.date_end)
    stale = coverage.stale()
    if (coverage.complete and not stale) or needs_index(search, scope):
        return Plan(Source.INDEX, coverage, stale)
    return Plan(Source.LIVE, coverage, stale)


def _moment(day: dt.date | None, time: dt.time | None) -> dt.datetime | None:
    if day is None or time is None:
        return None  # a whole day: the day bounds already hold it
    return dt.datetime.combine(day, time, tzinfo=selectors.SAO_PAULO)


def rows(search: ListSearch, *, scope: Any) -> QuerySet[IndexedRecording]:
    """The index's answer to ``search``, in its order. ``scope`` is the user's, as
    ``recordings.access.scope_of`` gives it: passed to the index as it is."""
    f = search.filters
    found = selectors.search(
        number=search.number,
        duration_min=search.duration_min,
        duration_max=search.duration_max,
        sort=search.sort,
        scope=scope,
        date_ini=f.date_ini,
        date_end=f.date_end,
    )
    if search.evaluation is not None:
        found = found.filter(search.evaluation)
    return selectors.narrow(
        found,
        starts=_moment(f.date_ini, f.time_ini),
        ends=_moment(f.date_end, f.time_end),
        record_id=f.id_record,
        customer_id=search.asked_customer,
        extension=search.extension,
    )


@dataclass(frozen=True)
class Answer:
    page: vono.RecordingPage
    plan: Plan = field(repr=False)


def list_page(search: ListSearch, *, scope: Any, start: int, count: int) -> Answer:
    """Rows ``start`` to ``start + count`` of the answer, with its totals.

    Raises vono.VonoError when the answer is live and the upstream fails.
    """
    chosen = plan(search, scope)
    if chosen.source == Source.INDEX:
        page = selectors.page_of(
            rows(search, scope=scope),
            start=start,
            count=count,
            totals=_whole_day_totals(search, scope),
        )
    else:
        page = vono.get_client().list_window(search.filters, start=start, count=count)
    return Answer(page, chosen)


def _whole_day_totals(search: ListSearch, scope: Any) -> tuple[int, int, int] | None:
    """The totals of a search of whole days by subscriber only, from the reports' rollups;
    None for any other search (the rows are counted)."""
    f = search.filters
    narrowed = (
        search.number
        or search.extension
        or search.duration_min is not None
        or search.duration_max is not None
        or search.evaluation is not None
        or f.time_ini is not None
        or f.time_end is not None
        or f.id_record is not None
    )
    if narrowed or f.date_ini is None or not upstream_can_scope(scope):
        return None
    return report_selectors.whole_day_totals(
        date_ini=f.date_ini,
        date_end=f.date_end,
        customers=(report_selectors.subscriber_of(scope), search.asked_customer),
    )


def index_recordings(search: ListSearch, *, scope: Any) -> Iterator[vono.Recording]:
    """Every recording of an index answer, read in chunks (constant memory)."""
    for row in rows(search, scope=scope).iterator(chunk_size=500):
        yield selectors.as_recording(row)


def matching_ids(search: ListSearch, *, scope: Any) -> list[int]:
    """The ids of every recording the index matches, in the answer's order."""
    return list(rows(search, scope=scope).values_list("record_id", flat=True))
