"""The waveform of a recording, forgetting recordings that were deleted, and the rules of
the bulk ZIP download (what goes in, the limits, the audit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from audio import peaks
from audio.cache import get_cache
from audit import services as audit
from index import selectors as index_selectors
from recordings import access, listing, vono
from recordings.models import User

PEAKS_SECONDS = 24 * 3600  # no longer than the recording's own bytes are kept


def _peaks_key(record_id: int) -> str:
    return f"peaks:v2:{record_id}"


def recording_peaks(recording: vono.Recording, *, customer_id: int | None) -> dict[str, Any]:
    """The waveform's peaks, from the cached bytes (one download serves the player too),
    computed once per recording. The caller has checked that the user may see it."""
    key = _peaks_key(recording.record_id)
    data: dict[str, Any] | None = cache.get(key)
    if data is None:
        with get_cache().open(
            recording.record_id, customer_id=customer_id, expected_size=recording.size
        ) as cached:
            levels = peaks.frame_levels(cached.chunks(0, None))
        data = {"peaks": peaks.peaks(levels), "duration": recording.duration}
        cache.set(key, data, timeout=PEAKS_SECONDS)
    return data


def forget_recordings(record_ids: list[int]) -> None:
    """Drop everything kept about recordings deleted upstream: their bytes and waveforms.

    Called in the same step that deletes them, before and whatever the DELETE's outcome:
    a recording that survived is downloaded again when next played.
    """
    get_cache().purge(record_ids)
    cache.delete_many([_peaks_key(r) for r in record_ids])


# --- the bulk ZIP download ----------------------------------------------------------------


class ZipRefused(Exception):
    """A ZIP that will not be made, with the reason a person reads (before any byte)."""


class ZipNotVisible(Exception):
    """An id asked for that this user may not see, or that Vono does not hold."""


@dataclass(frozen=True, slots=True)
class ZipSelection:
    """The recordings of one archive, in archive order, and their listed size."""

    recordings: tuple[vono.Recording, ...]
    total_size: int  # bytes, by the listing's (rounded) sizes; an unreadable size counts 0

    @property
    def count(self) -> int:
        return len(self.recordings)


def zip_max_bytes() -> int:
    return int(settings.ZIP_MAX_MB) * 1024 * 1024


def _too_many(count: int) -> ZipRefused:
    return ZipRefused(
        _(
            "São %(count)s gravações; um ZIP leva no máximo %(limit)s. Estreite o filtro ou "
            "selecione menos."
        )
        % {
            "count": number_format(count, force_grouping=True),
            "limit": number_format(int(settings.ZIP_MAX_FILES), force_grouping=True),
        }
    )


def _too_big(size: int) -> ZipRefused:
    return ZipRefused(
        _(
            "As gravações somam %(size)s; um ZIP leva no máximo %(limit)s. Estreite o filtro "
            "ou selecione menos."
        )
        % {"size": filesizeformat(size), "limit": filesizeformat(zip_max_bytes())}
    )


def _checked(recordings: list[vono.Recording]) -> ZipSelection:
    if len(recordings) > int(settings.ZIP_MAX_FILES):
        raise _too_many(len(recordings))
    total = sum(r.size or 0 for r in recordings)
    if total > zip_max_bytes():
        raise _too_big(total)
    return ZipSelection(tuple(recordings), total)


def zip_by_ids(*, user: User, ids: list[int]) -> ZipSelection:
    """Recordings chosen by id, each looked up within the user's scope, newest first (as
    the list shows them).

    Raises ZipRefused beyond ``ZIP_MAX_FILES`` (before any lookup) or ``ZIP_MAX_MB``, and
    ZipNotVisible for an id the user cannot see: nothing is downloaded before all are known.
    """
    wanted = sorted(set(ids))
    if not wanted:
        raise ZipRefused(_("Selecione ao menos uma gravação."))
    if len(wanted) > int(settings.ZIP_MAX_FILES):
        raise _too_many(len(wanted))
    scope = access.scope_of(user)
    if scope.extensions is not None:  # a team's: decided by the index, before any upstream call
        visible = index_selectors.visible_ids(scope, wanted)
        hidden = [i for i in wanted if i not in visible]
        if hidden:
            raise ZipNotVisible(hidden[0])
    found = vono.get_client().get_recordings(
        wanted, customer_id=scope.customer_id, concurrency=settings.VONO_LOOKUP_CONCURRENCY
    )
    missing = [i for i in wanted if i not in found]
    if missing:
        raise ZipNotVisible(missing[0])
    return _checked(sorted(found.values(), key=lambda r: (r.calldate, r.record_id), reverse=True))


def zip_by_filter(*, search: listing.ListSearch, scope: Any) -> ZipSelection:
    """Everything the list's search matches, from where the list takes it, in its order.

    ``recordings.listing.plan`` decides, as for the page and the CSV: the index answers
    what only it can (number, extension, durations, order, QA's evaluation filter, a team
    scope) and a fully indexed window; otherwise Vono lists it live. The totals refuse a
    selection too large before the rows are read; a result that grows meanwhile past the
    limit is refused too, never cut short.
    """
    limit = int(settings.ZIP_MAX_FILES)
    if listing.plan(search, scope).source == listing.Source.INDEX:
        found = listing.rows(search, scope=scope)
        rows = list(found[: limit + 1])
        if len(rows) > limit:
            raise _too_many(found.count())
        if not rows:
            raise ZipRefused(_("Nenhuma gravação corresponde a este filtro."))
        return _checked([index_selectors.as_recording(row) for row in rows])
    filters = search.filters
    client = vono.get_client()
    page = client.list_recordings(filters, start=0, limit=int(settings.VONO_PAGE_LIMIT))
    if page.total_records > limit:
        raise _too_many(page.total_records)
    if page.total_size is not None and page.total_size > zip_max_bytes():
        raise _too_big(page.total_size)
    if not page.total_records:
        raise ZipRefused(_("Nenhuma gravação corresponde a este filtro."))
    recordings = list(page.recordings)
    while page.recordings and page.offset + len(page.recordings) < page.total_records:
        page = client.list_recordings(
            filters, start=page.offset + len(page.recordings), limit=page.limit
        )
        recordings += page.recordings
        if len(recordings) > limit:
            raise _too_many(len(recordings))
    return _checked(recordings)


def zip_audit(*, request: HttpRequest, selection: ZipSelection, archive_name: str) -> None:
    """Every recording of an archive is a download, recorded before the first byte: one
    event each, written together (one lock of the chain, one insert)."""
    audit.record_events(
        action=audit.Action.DOWNLOAD,
        request=request,
        entries=[
            ([r.record_id], r.customer_id, {"zip": archive_name, "files": selection.count})
            for r in selection.recordings
        ],
    )


def zip_failed(
    *, request: HttpRequest, recording: vono.Recording, position: int, archive_name: str
) -> None:
    """An archive aborted at this recording: its client has a failed download, not a ZIP."""
    audit.record_event(
        action=audit.Action.DOWNLOAD,
        request=request,
        record_ids=[recording.record_id],
        customer_id=recording.customer_id,
        details={"zip": archive_name, "aborted_at": position + 1},
        outcome="failed",
    )
