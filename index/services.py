"""Writes to the index outside the sync: scheduling the periodic task, "sync now", and
recordings deleted through the portal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from audit import services as audit
from audit.models import AuditEvent
from index.models import IndexedRecording, SyncState
from index.sync import STATE, SyncResult, _state

# A periodic task this late is taken for lost (its worker died, the queue was emptied).
OVERDUE = dt.timedelta(minutes=2)


def recordings_mark_deleted(*, record_ids: Iterable[int]) -> int:
    """The deletion worker removed these on Vono: they leave the index's answers at once."""
    ids = [int(i) for i in record_ids]
    if not ids:
        return 0
    return IndexedRecording.objects.filter(record_id__in=ids, gone_at__isnull=True).update(
        gone_at=timezone.now(), gone_how=IndexedRecording.GoneHow.DELETED
    )


def _enqueue(run_after: dt.datetime | None) -> None:
    from index.tasks import sync_index

    task = sync_index.using(run_after=run_after) if run_after else sync_index
    transaction.on_commit(lambda: task.enqueue())


def schedule_next(*, after: dt.timedelta) -> bool:
    """Queue the periodic task to run ``after`` from now, unless one is already waiting.

    The claim is a conditional UPDATE on the shared state row, so workers that finish at the
    same moment queue one task between them, not one each.
    """
    _state()
    now = timezone.now()
    run_after = now + after
    # An earlier run wins over a later one; the later task, when it runs, finds the claim
    # taken and queues nothing, so duplicates die out.
    free = (
        Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now) | Q(scheduled_for__gt=run_after)
    )
    claimed = SyncState.objects.filter(Q(pk=STATE) & free).update(scheduled_for=run_after)
    if claimed:
        _enqueue(run_after)
    return bool(claimed)


def ensure_scheduled() -> bool:
    """Seed the periodic task when none is waiting (first start, or a lost task)."""
    state = _state()
    now = timezone.now()
    if state.scheduled_for and state.scheduled_for > now - OVERDUE:
        return False
    SyncState.objects.filter(pk=STATE, scheduled_for=state.scheduled_for).update(scheduled_for=None)
    return schedule_next(after=dt.timedelta(0))


def start_up() -> bool:
    """At a start (``sync_recordings --enqueue``): make sure a run comes soon. A queued run
    is brought forward when the index is older than one sync interval."""
    if ensure_scheduled():
        return True
    state = _state()
    now = timezone.now()
    interval = dt.timedelta(minutes=settings.INDEX_SYNC_MINUTES)
    stale = state.fresh_as_of is None or state.fresh_as_of < now - interval
    if stale and state.scheduled_for and state.scheduled_for > now:
        return schedule_next(after=dt.timedelta(0))
    return False


def delay_after(result: SyncResult) -> dt.timedelta:
    """When the next periodic run is due after ``result``."""
    if result.status == "partial":
        return dt.timedelta(seconds=1)  # budget spent with work left: carry on soon
    if result.status in ("failed", "backoff"):
        retry_after = _state().retry_after
        if retry_after:
            return max(retry_after - timezone.now(), dt.timedelta(seconds=1))
    return dt.timedelta(minutes=settings.INDEX_SYNC_MINUTES)


@transaction.atomic
def sync_request_now(*, request: HttpRequest, actor: Any) -> None:
    """An admin asks for a sync now (ignoring any backoff); audited in the same transaction."""
    audit.record_event(
        action=AuditEvent.Action.INDEX_SYNC_REQUESTED, request=request, actor=actor, details={}
    )
    from index.tasks import sync_index_now

    transaction.on_commit(lambda: sync_index_now.enqueue())
