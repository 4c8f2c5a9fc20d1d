"""The waveform of a recording, and forgetting recordings that were deleted."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from audio import peaks
from audio.cache import get_cache
from recordings import vono

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
