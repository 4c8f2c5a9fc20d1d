"""The LGPD access report: every recording that involves one phone number, and every access to
those recordings the audit log knows of.

Exact accesses are the audit events that name the recordings (plays, downloads, deletions by
chosen ids, their approval and execution). Exports and deletions asked "by filter" record the
filter, not the ids: a recording is listed under them when that filter covered it and it
existed at that moment, and the report says the inclusion is inferred.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from deletions.models import DeletionItem
from index import selectors as index_selectors
from index.models import IndexedRecording
from index.numbers import normalise
from recordings import access
from recordings.models import User

MIN_DIGITS = 3
MAX_DIGITS = 20
# Filter-carrying events: an export, a deletion asked for a whole filter.
FILTER_ACTIONS = (AuditEvent.Action.EXPORT, AuditEvent.Action.DELETION_REQUESTED)
# Filter fields the report knows how to check; an event whose filter holds any other with a
# value is listed as "may have included" (never silently left out).
KNOWN_FILTER_FIELDS = {
    "date_ini",
    "date_end",
    "time_ini",
    "time_end",
    "id_record",
    "customer_id",
    "number",
    "extension",
    "duration_min",
    "duration_max",
    "sort",
    # what the event says about itself, not about which recordings it held
    "rows",
    "page",
    "per_page",
    "source",
    "partial",
    "stale",
    "scope_extensions",
}


class Direction:
    FROM = "from"  # the number called
    TO = "to"  # the number was called
    CLID = "clid"  # only the caller id shows it


@dataclass(frozen=True)
class RecordingEntry:
    recording: IndexedRecording
    direction: str
    deletions: list[DeletionItem]  # the requests that deleted it (or found it gone)


@dataclass(frozen=True)
class AccessEntry:
    event: AuditEvent
    record_ids: list[int]  # the report's recordings this event concerns
    inferred: bool  # by the event's filter, not by ids the event names
    uncertain: bool = False  # the filter has fields the report cannot check


@dataclass(frozen=True)
class AccessReport:
    number: str  # normalised digits
    recordings: list[RecordingEntry]
    accesses: list[AccessEntry]
    produced_at: dt.datetime = field(default_factory=timezone.now)

    @property
    def record_ids(self) -> list[int]:
        return [entry.recording.record_id for entry in self.recordings]


def wanted_number(typed: str) -> str | None:
    """The number a report is about, as the index stores it, or None when it is no number."""
    number = normalise(typed)
    return number if MIN_DIGITS <= len(number) <= MAX_DIGITS else None


def involving(number: str, *, scope: Any) -> QuerySet[IndexedRecording]:
    """Every indexed recording where ``number`` is the source, the destination or the caller
    id, deleted ones included, within the reader's scope; newest first."""
    rows = IndexedRecording.objects.filter(
        Q(numbers__contains=number) & Q(numbers__regex=rf"(^| ){number}( |$)")
    )
    return _within(rows, scope).order_by("-calldate", "-record_id")


def _within(rows: QuerySet[IndexedRecording], scope: Any) -> QuerySet[IndexedRecording]:
    """``rows`` within what ``recordings.access.scope_of`` says a user may see: a subscriber
    id, or a scope object (subscriber and extension set) that the index reads itself."""
    return rows.filter(index_selectors.scope_q(scope))


def access_report(*, user: User, number: str) -> AccessReport:
    """The report for ``number`` (normalised digits) as ``user`` may read it."""
    recordings = list(involving(number, scope=access.scope_of(user)))
    ids = [r.record_id for r in recordings]
    deletions: dict[int, list[DeletionItem]] = defaultdict(list)
    items = DeletionItem.objects.select_related(
        "request", "request__requested_by", "request__decided_by"
    ).filter(record_id__in=ids)
    for item in items.order_by("updated_at"):
        deletions[item.record_id].append(item)
    entries = [
        RecordingEntry(r, _direction(r, number), deletions.get(r.record_id, [])) for r in recordings
    ]
    accesses = _named_accesses(user, ids) + _filter_accesses(user, recordings)
    accesses.sort(key=lambda a: a.event.seq, reverse=True)
    return AccessReport(number=number, recordings=entries, accesses=accesses)


def _direction(recording: IndexedRecording, number: str) -> str:
    if normalise(recording.source) == number:
        return Direction.FROM
    if normalise(recording.destination) == number:
        return Direction.TO
    return Direction.CLID


def _named_accesses(user: User, ids: list[int]) -> list[AccessEntry]:
    """Events naming any of ``ids``, within what the reader may see of the audit log."""
    if not ids:
        return []
    wanted = set(ids)
    events = audit.visible_events(user).filter(_names_any(ids))
    return [
        AccessEntry(event, sorted(wanted.intersection(event.record_ids)), inferred=False)
        for event in events
    ]


def _names_any(ids: list[int]) -> RawSQL:
    """The event's ``record_ids`` (a JSON array) holds one of ``ids``: done by the database,
    which Django's ``contains`` lookup cannot do on SQLite."""
    # Constant SQL, the ids bound as parameters (the table name is the model's db_table).
    if connection.vendor == "postgresql":
        return RawSQL(
            '"recordings_auditevent"."record_ids" @> ANY(%s::jsonb[])',
            ([json.dumps([i]) for i in ids],),
            output_field=BooleanField(),
        )
    return RawSQL(
        'EXISTS (SELECT 1 FROM json_each("recordings_auditevent"."record_ids") AS e '
        "WHERE e.value IN (SELECT value FROM json_each(%s)))",
        (json.dumps(ids),),
        output_field=BooleanField(),
    )


def _filter_accesses(user: User, recordings: list[IndexedRecording]) -> list[AccessEntry]:
    """Exports and deletions by filter whose filter covered some of ``recordings`` while they
    existed. Python checks each such event's filter against each recording: the events are
    the few that came after the oldest recording, not the index's rows."""
    if not recordings:
        return []
    oldest = min(r.calldate for r in recordings)
    events = audit.visible_events(user).filter(action__in=FILTER_ACTIONS, created_at__gte=oldest)
    out = []
    for event in events:
        filters = _event_filter(event)
        if filters is None:
            continue
        unknown = any(
            value not in (None, "")
            for key, value in filters.items()
            if key not in KNOWN_FILTER_FIELDS
        )
        covered = [
            r.record_id
            for r in recordings
            if r.calldate <= event.created_at
            and (r.gone_at is None or r.gone_at > event.created_at)
            and _covers(filters, r)
        ]
        if covered:
            out.append(AccessEntry(event, covered, inferred=True, uncertain=unknown))
    return out


def _event_filter(event: AuditEvent) -> dict[str, Any] | None:
    details = event.details if isinstance(event.details, dict) else {}
    if event.action == AuditEvent.Action.EXPORT:
        return details
    if event.action == AuditEvent.Action.DELETION_REQUESTED and not event.record_ids:
        filters = details.get("filters")
        return filters if isinstance(filters, dict) and "ids" not in filters else None
    return None


def _covers(filters: dict[str, Any], recording: IndexedRecording) -> bool:
    """Whether a list filter as audited (``RecordingFilter.as_json`` and the index's own
    fields) selects ``recording``. A value the report cannot read counts as covering: the
    report errs towards listing an access, never towards hiding one."""
    local = timezone.localtime(recording.calldate)
    start = _moment(filters.get("date_ini"), filters.get("time_ini"), dt.time.min)
    end = _moment(filters.get("date_end"), filters.get("time_end"), dt.time.max)
    naive = local.replace(tzinfo=None)
    if start is not None and naive < start:
        return False
    if end is not None and naive > end:
        return False
    for key, actual in (("customer_id", recording.customer_id), ("id_record", recording.record_id)):
        expected = _int(filters.get(key))
        if expected is not None and expected != actual:
            return False
    low, high = _int(filters.get("duration_min")), _int(filters.get("duration_max"))
    if low is not None and recording.duration < low:
        return False
    if high is not None and recording.duration > high:
        return False
    for key in ("number", "extension"):
        typed = filters.get(key)
        if isinstance(typed, str) and typed.strip():
            wanted = normalise(typed)
            if wanted and wanted not in recording.numbers:
                return False
    return True


def _moment(day: Any, time: Any, default: dt.time) -> dt.datetime | None:
    try:
        date = dt.date.fromisoformat(day) if isinstance(day, str) and day else None
        clock = dt.time.fromisoformat(time) if isinstance(time, str) and time else default
    except ValueError:
        return None
    return dt.datetime.combine(date, clock) if date else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None
