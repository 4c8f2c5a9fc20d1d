"""Keeps the recording index in step with Vono.

One run (``sync_run``) takes the lease, then walks the window of INDEX_DAYS days, newest
first. The most recent INDEX_RECENT_DAYS days are re-read completely every run; an older day
is re-read when it was never read completely, or when one count call (``limit=1`` gives
``total_records``) disagrees with the index. A complete read of a day marks whatever the
index holds for that day and the read did not see as "vanished upstream".

Memory stays flat: each page is upserted as it arrives and nothing is kept across pages.
A run is idempotent; one that dies leaves whole days read and the rest as they were, and the
next run (after the lease expires) picks up from there. Only the lease holder talks to the
upstream, so the per-process rate cap (INDEX_MAX_RPS) is also the cap for all workers.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from index.models import DayCoverage, IndexedRecording, SyncState
from index.numbers import grams, normalise
from recordings import vono

logger = logging.getLogger(__name__)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
STATE = "recordings"
MAX_ERRORS_KEPT = 10
_UPSERT_FIELDS = [
    "customer_id",
    "calldate",
    "call_day",
    "clid",
    "source",
    "destination",
    "numbers",
    "number_grams",
    "duration",
    "size",
    "duration_text",
    "size_text",
    "last_seen",
    "gone_at",
    "gone_how",
]


class LeaseLost(Exception):
    """Another worker took the lease over (ours expired): stop without writing more."""


@dataclass
class SyncResult:
    """What one run did. ``status``: done, partial (budget spent), busy, backoff, failed."""

    status: str
    days_read: int = 0
    days_checked: int = 0
    records: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


# --- the rate cap --------------------------------------------------------------------------


class RateLimiter:
    """At most ``rate`` calls per second, spaced evenly (thread-safe, per process)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            due = max(now, self._next)
            self._next = due + self.interval
        if due > now:
            self._sleep(due - now)


_limiters: dict[float, RateLimiter] = {}
_limiters_lock = threading.Lock()


def _limiter() -> RateLimiter:
    rate = float(settings.INDEX_MAX_RPS)
    with _limiters_lock:
        return _limiters.setdefault(rate, RateLimiter(rate))


# --- the lease -----------------------------------------------------------------------------


def _state() -> SyncState:
    try:
        state, _ = SyncState.objects.get_or_create(pk=STATE)
    except IntegrityError:  # another worker created it between our SELECT and INSERT
        state = SyncState.objects.get(pk=STATE)
    return state


class Lease:
    """The database lease: one holder at a time, renewed on every page."""

    def __init__(self, holder: str | None = None) -> None:
        self.holder = holder or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _until(self) -> dt.datetime:
        return timezone.now() + dt.timedelta(seconds=settings.INDEX_LEASE_SECONDS)

    def acquire(self) -> bool:
        _state()
        now = timezone.now()
        free = Q(holder="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        return bool(
            SyncState.objects.filter(Q(pk=STATE) & free).update(
                holder=self.holder, lease_until=self._until()
            )
        )

    def renew(self, **progress: int) -> None:
        """Extend the lease (and write ``progress`` fields in the same statement)."""
        if not SyncState.objects.filter(pk=STATE, holder=self.holder).update(
            lease_until=self._until(), **progress
        ):
            raise LeaseLost(f"the sync lease was taken over from {self.holder}")

    def release(self) -> None:
        SyncState.objects.filter(pk=STATE, holder=self.holder).update(holder="", lease_until=None)


# --- helpers -------------------------------------------------------------------------------


def today_local() -> dt.date:
    return timezone.now().astimezone(SAO_PAULO).date()


def scope_customer() -> int | None:
    """The subscriber the portal is limited to (VONO_CUSTOMER_ID), None for all of them."""
    customer_id: int | None = settings.VONO_CUSTOMER_ID
    return customer_id


def _day_rows(day: dt.date) -> QuerySet[IndexedRecording]:
    rows = IndexedRecording.objects.filter(call_day=day)
    customer_id = scope_customer()
    return rows if customer_id is None else rows.filter(customer_id=customer_id)


def present_count(day: dt.date) -> int:
    """How many recordings of ``day`` the index holds as present."""
    return _day_rows(day).filter(gone_at__isnull=True).count()


def _coverage(day: dt.date) -> DayCoverage:
    customer_id = scope_customer()
    try:
        coverage, _ = DayCoverage.objects.get_or_create(day=day, customer_id=customer_id)
    except IntegrityError:
        coverage = DayCoverage.objects.get(day=day, customer_id=customer_id)
    return coverage


def _clean(text: str, length: int) -> str:
    """The vendor's text as stored: NUL bytes (which PostgreSQL refuses, and which would
    block the whole page every run) dropped, the length capped."""
    return text.replace("\x00", "")[:length]


def _row(recording: vono.Recording, now: dt.datetime) -> IndexedRecording:
    calldate = recording.calldate.astimezone(SAO_PAULO)
    numbers = " ".join(
        normalise(n) for n in (recording.source, recording.destination, recording.clid)
    )
    return IndexedRecording(
        record_id=recording.record_id,
        customer_id=recording.customer_id,
        calldate=calldate,
        call_day=calldate.date(),
        clid=_clean(recording.clid, 80),
        source=_clean(recording.source, 80),
        destination=_clean(recording.destination, 80),
        numbers=numbers[:260],
        number_grams=grams(numbers[:260]),
        duration=recording.duration,
        size=recording.size,
        duration_text=_clean(recording.duration_text, 60),
        size_text=_clean(recording.size_text, 60),
        first_seen=now,
        last_seen=now,
        gone_at=None,
        gone_how="",
    )


def upsert_page(recordings: Sequence[vono.Recording], now: dt.datetime) -> None:
    """Insert or refresh one page of recordings in one statement (first_seen is kept)."""
    if not recordings:
        return
    rows = {r.record_id: _row(r, now) for r in recordings}  # a page may repeat an id
    IndexedRecording.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["record_id"],
        update_fields=_UPSERT_FIELDS,
    )


# --- one run -------------------------------------------------------------------------------


class _Run:
    def __init__(self, lease: Lease, result: SyncResult, deadline: float | None) -> None:
        self.lease = lease
        self.result = result
        self.deadline = deadline
        self.client = vono.get_client()
        self.limiter = _limiter()
        self.page_size = settings.INDEX_PAGE_LIMIT

    def _call(self, filters: vono.RecordingFilter, *, start: int, limit: int) -> vono.RecordingPage:
        self.limiter.wait()
        self.result.requests += 1
        return self.client.list_recordings(filters, start=start, limit=limit)

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def count(self, day: dt.date) -> int:
        filters = vono.RecordingFilter(date_ini=day, date_end=day)
        return self._call(filters, start=0, limit=1).total_records

    def read_day(self, day: dt.date) -> None:
        """Read ``day`` completely, page by page; then settle what it did not see."""
        filters = vono.RecordingFilter(date_ini=day, date_end=day)
        read_started = timezone.now()
        start = 0
        totals: set[int] = set()
        while True:
            page = self._call(filters, start=start, limit=self.page_size)
            self.result.records += len(page.recordings)
            # One commit per page: the lease renewed (checked before writing) with the rows.
            with transaction.atomic():
                self.lease.renew(records_read=self.result.records)
                upsert_page(page.recordings, timezone.now())
            totals.add(page.total_records)
            start = page.offset + len(page.recordings)
            if not page.recordings or start >= page.total_records:
                break
        now = timezone.now()
        with transaction.atomic():
            seen = _day_rows(day).filter(last_seen__gte=read_started).count()
            # Offset paging over a list that changed while we read can skip a record: settle
            # the day only when the total held still and every record it counts was seen.
            steady = len(totals) == 1 and seen == page.total_records
            if steady:
                _day_rows(day).filter(last_seen__lt=read_started, gone_at__isnull=True).update(
                    gone_at=now, gone_how=IndexedRecording.GoneHow.VANISHED
                )
            coverage = _coverage(day)
            coverage.upstream_count = page.total_records
            coverage.indexed_count = present_count(day)
            coverage.last_checked = now
            if steady:
                coverage.last_full_read = read_started
            coverage.status = (
                DayCoverage.Status.COMPLETE
                if steady and coverage.indexed_count == page.total_records
                else DayCoverage.Status.DIFFERS
            )
            coverage.error = ""
            coverage.save()
        self.result.days_read += 1

    def check_day(self, day: dt.date) -> bool:
        """One count call; True when the day must be re-read."""
        coverage = _coverage(day)
        if coverage.last_full_read is None or coverage.status != DayCoverage.Status.COMPLETE:
            return True
        upstream = self.count(day)
        indexed = present_count(day)
        self.result.days_checked += 1
        if upstream != indexed:
            return True
        DayCoverage.objects.filter(pk=coverage.pk).update(
            upstream_count=upstream, indexed_count=indexed, last_checked=timezone.now()
        )
        return False


def window(days: int | None = None) -> list[dt.date]:
    """The days the index covers, newest first."""
    count = days or settings.INDEX_DAYS
    today = today_local()
    return [today - dt.timedelta(days=n) for n in range(count)]


def sync_run(
    *,
    days: int | None = None,
    full: bool = False,
    force: bool = False,
    budget_seconds: float | None = None,
) -> SyncResult:
    """One sync run, if no other worker is running one and the backoff allows it.

    ``full`` re-reads every day of the window; ``force`` ignores the backoff (an admin's
    "sync now"); ``budget_seconds`` ends the run early (status ``partial``) so a periodic
    task does not hold the worker for long: the next run carries on.
    """
    state = _state()
    now = timezone.now()
    if not force and state.retry_after and state.retry_after > now:
        return SyncResult(status="backoff")
    lease = Lease()
    if not lease.acquire():
        return SyncResult(status="busy")
    result = SyncResult(status="done")
    deadline = time.monotonic() + budget_seconds if budget_seconds else None
    run = _Run(lease, result, deadline)
    plan = window(days)
    recent = set(plan[: settings.INDEX_RECENT_DAYS])
    SyncState.objects.filter(pk=STATE).update(
        started_at=now, phase="running", days_total=len(plan), days_done=0, records_read=0
    )
    try:
        for done, day in enumerate(plan):
            if run.out_of_time():
                result.status = "partial"
                break
            try:
                if full or day in recent or run.check_day(day):
                    run.read_day(day)
            except vono.VonoError as exc:
                _day_failed(day, str(exc))
                result.errors.append(f"{day.isoformat()}: {exc}")
                result.status = "failed"
                break  # the upstream is failing: back off instead of hammering every day
            lease.renew(days_done=done + 1)
    except LeaseLost as exc:
        result.status = "failed"
        result.errors.append(str(exc))
        logger.warning("index sync stopped: %s", exc)
        _finish(lease, result, now)
        return result
    except Exception:
        # A bug, not the upstream: give the lease back so the next run is not held up.
        lease.release()
        raise
    _finish(lease, result, now)
    return result


def _day_failed(day: dt.date, message: str) -> None:
    coverage = _coverage(day)
    coverage.status = DayCoverage.Status.ERROR
    coverage.error = message[:300]
    coverage.last_checked = timezone.now()
    coverage.save(update_fields=["status", "error", "last_checked"])


def _finish(lease: Lease, result: SyncResult, started: dt.datetime) -> None:
    now = timezone.now()
    state = SyncState.objects.get(pk=STATE)
    state.finished_at = now
    state.phase = result.status
    state.requests_sent += result.requests
    if result.status in ("done", "partial"):
        state.failures = 0
        state.retry_after = None
        state.last_success = now
        if result.status == "done":
            state.fresh_as_of = started
    else:
        state.failures += 1
        backoff = min(
            settings.INDEX_BACKOFF_SECONDS * 2 ** (state.failures - 1),
            settings.INDEX_BACKOFF_MAX_SECONDS,
        )
        state.retry_after = now + dt.timedelta(seconds=backoff)
    if result.errors:
        entries = [{"at": now.isoformat(), "message": e[:300]} for e in result.errors]
        state.errors = (entries + list(state.errors))[:MAX_ERRORS_KEPT]
    state.save(
        update_fields=[
            "finished_at",
            "phase",
            "requests_sent",
            "failures",
            "retry_after",
            "last_success",
            "fresh_as_of",
            "errors",
        ]
    )
    lease.release()
    logger.info(
        "index sync %s: %d days read, %d checked, %d records, %d requests",
        result.status,
        result.days_read,
        result.days_checked,
        result.records,
        result.requests,
    )
