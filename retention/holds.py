"""Legal holds as deletion sees them: which recordings are held, and by which hold.

The rule "a hold covers this recording" lives here, twice over the same criteria: as a
predicate for a recording read from Vono (what a deletion request and the worker check) and
as a query over the recording index (what a retention run leaves out). Both are tested
against each other. This module imports nothing from deletions, so the deletion engine can
ask it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent
from index.models import IndexedRecording
from index.numbers import normalise
from index.sync import SAO_PAULO
from recordings import vono
from retention.models import LegalHold
from retention.proof import authentic


@dataclass(frozen=True, slots=True)
class Held:
    """One recording a hold covers (for messages and per-id outcomes)."""

    record_id: int
    hold_id: int


def today_in_sao_paulo() -> dt.date:
    """The day a hold's end date is read against: its last day counts until midnight there."""
    return timezone.now().astimezone(SAO_PAULO).date()


def holds_in_force(*, strict: bool = False) -> list[LegalHold]:
    """The holds that block deletion today: not lifted, and not past their end date.

    ``strict`` (the deletion worker) also believes the audit log over the database: every
    hold an authentic ``hold_placed`` event placed blocks, on the terms that event states,
    until an authentic ``hold_lifted`` event by a second person lifts it. Someone who can
    write to the database but does not hold AUDIT_HMAC_KEY can neither lift, narrow nor
    delete a hold by editing its row.
    """
    today = today_in_sao_paulo()
    current = Q(ends_on__isnull=True) | Q(ends_on__gte=today)
    holds = {
        hold.pk: hold
        for hold in LegalHold.objects.filter(current).exclude(status=LegalHold.Status.LIFTED)
    }
    if strict:
        for hold in _holds_by_the_audit_log():
            if hold.ends_on is None or hold.ends_on >= today:
                holds[hold.pk] = hold  # the event's terms, whatever the row says now
    return list(holds.values())


def _holds_by_the_audit_log() -> list[LegalHold]:
    """The holds authentic events placed and no authentic event lifted, as placed."""
    Action = AuditEvent.Action
    lifted = {
        event.details.get("hold")
        for event in AuditEvent.objects.filter(action=Action.HOLD_LIFTED)
        if authentic(event)
        and event.actor_id is not None
        and event.details.get("requested_by") not in (None, event.actor_id)
    }
    holds = []
    for event in AuditEvent.objects.filter(action=Action.HOLD_PLACED):
        details = event.details
        if details.get("hold") in lifted or not authentic(event):
            continue
        try:
            start, end = (dt.date.fromisoformat(d) if d else None for d in details["period"])
            ends_on = dt.date.fromisoformat(details["ends_on"]) if details["ends_on"] else None
            holds.append(
                LegalHold(
                    pk=int(details["hold"]),
                    number_digits=str(details["number"]),
                    record_ids=list(event.record_ids),
                    customer_id=details["customer"],
                    period_start=start,
                    period_end=end,
                    ends_on=ends_on,
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # an event this code did not write: the row, if any, still counts
    return holds


def covers(hold: LegalHold, recording: vono.Recording) -> bool:
    """Whether ``hold`` covers ``recording`` (as read from Vono): every criterion matches."""
    if hold.record_ids and recording.record_id not in set(hold.record_ids):
        return False
    if hold.customer_id is not None and recording.customer_id != hold.customer_id:
        return False
    day = recording.calldate.astimezone(SAO_PAULO).date()
    if hold.period_start is not None and day < hold.period_start:
        return False
    if hold.period_end is not None and day > hold.period_end:
        return False
    if hold.number_digits:
        numbers = {normalise(n) for n in (recording.source, recording.destination, recording.clid)}
        if hold.number_digits not in numbers:
            return False
    return True


def held_among(
    recordings: Iterable[vono.Recording], *, holds: list[LegalHold] | None = None
) -> list[Held]:
    """The recordings some hold in force covers, with the first such hold."""
    holds = holds_in_force() if holds is None else holds
    found = []
    for recording in recordings:
        for hold in holds:
            if covers(hold, recording):
                found.append(Held(recording.record_id, hold.pk))
                break
    return found


def index_condition(hold: LegalHold) -> Q:
    """The same criteria as ``covers``, over the recording index."""
    condition = Q()
    if hold.record_ids:
        condition &= Q(record_id__in=[int(i) for i in hold.record_ids])
    if hold.customer_id is not None:
        condition &= Q(customer_id=hold.customer_id)
    if hold.period_start is not None:
        condition &= Q(call_day__gte=hold.period_start)
    if hold.period_end is not None:
        condition &= Q(call_day__lte=hold.period_end)
    if hold.number_digits:
        # ``numbers`` is the three normalised numbers joined by spaces: a whole-number match.
        n = hold.number_digits
        condition &= (
            Q(numbers=n)
            | Q(numbers__startswith=f"{n} ")
            | Q(numbers__endswith=f" {n}")
            | Q(numbers__contains=f" {n} ")
        )
    return condition


def held_condition(holds: list[LegalHold]) -> Q | None:
    """One condition matching every indexed recording some of ``holds`` covers (None: none)."""
    combined: Q | None = None
    for hold in holds:
        condition = index_condition(hold)
        combined = condition if combined is None else combined | condition
    return combined


def held_in_index(
    *, filters: vono.RecordingFilter, holds: list[LegalHold], limit: int = 100
) -> list[tuple[int, int]]:
    """(record id, hold id) of indexed recordings a deletion filter matches and a hold
    covers. The filter's time-of-day window is left out: this errs towards refusing."""
    rows = IndexedRecording.objects.filter(gone_at__isnull=True)
    if filters.customer_id is not None:
        rows = rows.filter(customer_id=filters.customer_id)
    if filters.date_ini is not None:
        rows = rows.filter(call_day__gte=filters.date_ini)
    if filters.date_end is not None:
        rows = rows.filter(call_day__lte=filters.date_end)
    if filters.id_record is not None:
        rows = rows.filter(record_id=filters.id_record)
    found: list[tuple[int, int]] = []
    for hold in holds:
        for record_id in rows.filter(index_condition(hold)).values_list("record_id", flat=True)[
            :limit
        ]:
            found.append((record_id, hold.pk))
    return sorted(dict(found).items())[:limit]
