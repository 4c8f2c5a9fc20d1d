"""The bulk ZIP download's bytes: recordings stored as they are, then a manifest.

Members are stored without compression (MP3 does not compress) and streamed with a data
descriptor, so memory stays flat whatever the recordings' lengths; zipstream-ng switches to
ZIP64 on its own once an offset passes 4 GB. Each recording comes through the audio cache,
as a single download does: one upstream download serves both, whatever the upstream's
quirks, and the next recording is fetched while this one is sent.

A recording that cannot be had once the archive has started raises from ``__next__``: the
server then aborts the response (no final chunk), and the client sees a failed download,
never a short archive taken as whole.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

from django.utils import dateformat, timezone
from zipstream import ZIP_STORED, ZipStream

from audio.cache import SHORTFALL, get_cache
from audio.streaming import filename_part
from audio.streams import StreamSlot
from recordings import vono
from recordings.export import BOM, Echo, csv_cell
from recordings.templatetags.recordings_tags import phone, strftime_pattern

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
# Pieces smaller than this (member headers, descriptors) are sent together with what follows:
# one write per 100-byte header would cost a system call and a chunk frame each.
COALESCE = 64 * 1024


def entry_name(recording: vono.Recording) -> str:
    """``2026-09-30_223242_5551939809735_sup9010_5931.mp3``: São Paulo time, safe on every
    OS, unique (the id is in it)."""
    local = timezone.localtime(recording.calldate)
    source, destination = filename_part(recording.source), filename_part(recording.destination)
    return f"{local:%Y-%m-%d_%H%M%S}_{source}_{destination}_{recording.record_id}.mp3"


@dataclass(frozen=True, slots=True)
class ManifestFormat:
    """What the manifest needs from the request, taken while its language is active."""

    header: tuple[str, ...]
    date_format: str


class ArchiveTooLarge(Exception):
    """The recordings turned out larger than the limit their listed sizes promised."""


class ArchiveBody:
    """The streamed archive, for StreamingHttpResponse; gives back its stream place on close.

    Django calls ``close()`` when the response ends, on a client disconnect and on an abort
    too, even if the body was never iterated.
    """

    def __init__(
        self,
        recordings: tuple[vono.Recording, ...],
        *,
        customer_id: int | None,
        manifest: ManifestFormat,
        max_bytes: int,
        slot: StreamSlot | None,
        on_failure: Callable[[vono.Recording, int, Exception], None],
    ) -> None:
        self._slot = slot
        self._chunks = _coalesced(
            _archive(
                recordings,
                customer_id=customer_id,
                manifest=manifest,
                max_bytes=max_bytes,
                on_failure=on_failure,
            )
        )

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._chunks.close()
        if self._slot is not None:
            self._slot.release()


@dataclass(slots=True)
class _Entry:
    recording: vono.Recording
    name: str
    size: int = 0
    sha256: str = ""


def _archive(
    recordings: tuple[vono.Recording, ...],
    *,
    customer_id: int | None,
    manifest: ManifestFormat,
    max_bytes: int,
    on_failure: Callable[[vono.Recording, int, Exception], None],
) -> Generator[bytes]:
    cache = get_cache()
    archive = ZipStream(compress_type=ZIP_STORED)
    entries: list[_Entry] = []
    stored = 0
    # The listing's sizes are rounded: allow the same slack the cache allows a short body.
    ceiling = max_bytes / SHORTFALL
    if recordings:
        first = recordings[0]
        cache.prefetch(first.record_id, customer_id=customer_id, expected_size=first.size)
    for position, recording in enumerate(recordings):
        try:
            with cache.open(
                recording.record_id, customer_id=customer_id, expected_size=recording.size
            ) as cached:
                if position + 1 < len(recordings):
                    after = recordings[position + 1]
                    cache.prefetch(
                        after.record_id, customer_id=customer_id, expected_size=after.size
                    )
                # The whole recording first (it streams from the upstream meanwhile): the
                # member's header then states its exact size, and a download that fails
                # mostly fails before its member has begun.
                size = cached.wait_total()
                stored += size
                if stored > ceiling:
                    raise ArchiveTooLarge("The recordings are larger than their listed sizes")
                entry = _Entry(recording, entry_name(recording))
                archive.add(_hashed(cached.chunks(0, None), entry), entry.name, size=size)
                yield from archive.all_files()
        except (vono.VonoError, ArchiveTooLarge, OSError) as exc:
            logger.warning(
                "ZIP aborted at recording %s (%s of %s): %s",
                recording.record_id,
                position + 1,
                len(recordings),
                exc,
            )
            on_failure(recording, position, exc)
            raise
        entries.append(entry)
    archive.add(_manifest(entries, manifest), MANIFEST_NAME)
    yield from archive.finalize()


def _hashed(chunks: Iterator[bytes], entry: _Entry) -> Iterator[bytes]:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        entry.size += len(chunk)
        yield chunk
    entry.sha256 = digest.hexdigest()


def _manifest(entries: list[_Entry], manifest: ManifestFormat) -> bytes:
    """The CSV export's conventions (BOM, ``;``, formulas neutralised), one row per file."""
    date_format = manifest.date_format
    pattern = strftime_pattern(date_format)
    writer = csv.writer(Echo(), delimiter=";", lineterminator="\r\n")
    lines = [BOM + writer.writerow(manifest.header)]
    for entry in entries:
        r = entry.recording
        local = timezone.localtime(r.calldate)
        stamp = local.strftime(pattern) if pattern else dateformat.format(local, date_format)
        lines.append(
            writer.writerow(
                [
                    csv_cell(entry.name),
                    r.record_id,
                    stamp,
                    csv_cell(phone(r.source)),
                    csv_cell(phone(r.destination)),
                    csv_cell(phone(r.clid)),
                    r.duration,
                    entry.size,
                    entry.sha256,
                    "" if r.customer_id is None else r.customer_id,
                ]
            )
        )
    return "".join(lines).encode()


def _coalesced(pieces: Generator[bytes]) -> Generator[bytes]:
    """The same bytes in fewer pieces: small ones (headers, descriptors) travel with the
    next; large ones go as they are, uncopied."""
    pending: list[bytes] = []
    held = 0
    try:
        for piece in pieces:
            if len(piece) >= COALESCE:
                if pending:
                    yield b"".join(pending)
                    pending.clear()
                    held = 0
                yield piece
                continue
            pending.append(piece)
            held += len(piece)
            if held >= COALESCE:
                yield b"".join(pending)
                pending.clear()
                held = 0
        if pending:
            yield b"".join(pending)
    finally:
        pieces.close()
