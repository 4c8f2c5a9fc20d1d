"""A recording's HTTP answer: exact ranges from the local cache, whatever the upstream does.

The upstream may send no length, chunked bytes, any content type, and ignore Range: the
cache downloads the whole recording once, and every answer is cut from it here. Nothing is
sent before the first byte it needs is on disk, so an upstream that fails or stalls before
that gets a calm error page, never a half-started response.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.http import http_date

from audio import ranges
from audio.cache import READ_CHUNK, CachedRecording, get_cache
from audio.streams import StreamSlot
from recordings import access, vono

logger = logging.getLogger(__name__)


class _FileSpan:
    """Part of a complete cached file, for FileResponse: gunicorn hands it to ``sendfile``
    (from the descriptor's position, for Content-Length bytes); other servers read it."""

    def __init__(
        self, recording: CachedRecording, first: int, length: int, slot: StreamSlot | None
    ) -> None:
        self._recording = recording
        self._slot = slot
        self._position = first
        self._left = length
        os.lseek(recording.fd, first, os.SEEK_SET)

    def fileno(self) -> int:
        return self._recording.fd

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = os.pread(self._recording.fd, size, self._position) if size else b""
        self._position += len(data)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._recording.close()
        if self._slot is not None:
            self._slot.release()


class _FollowingBody:
    """Bytes of a recording still being downloaded, sent as they land on disk.

    Django calls ``close()`` when the response ends, on a client disconnect too; the download
    itself carries on for the cache. A download that fails now raises from ``__next__``, so
    the server aborts the response instead of ending it as if complete.
    """

    def __init__(
        self,
        recording: CachedRecording,
        first: int,
        last: int | None,
        slot: StreamSlot | None,
        *,
        record_id: int,
    ) -> None:
        self._recording = recording
        self._slot = slot
        self._record_id = record_id
        self._chunks = recording.chunks(first, last)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except vono.VonoError as exc:
            logger.warning("recording %s: stream aborted: %s", self._record_id, exc)
            self.close()
            raise

    def close(self) -> None:
        self._chunks.close()
        self._recording.close()
        if self._slot is not None:
            self._slot.release()


def entity_tag(recording: vono.Recording) -> str:
    """A strong validator: a recording's bytes never change once it exists."""
    return f'"vono-{recording.record_id}-{int(recording.calldate.timestamp())}"'


def filename_part(text: str) -> str:
    """A number or extension as a file name may hold it on every OS: ``+``, ``-``, ASCII
    letters and digits only, at most 40 of them, never empty."""
    return re.sub(r"[^A-Za-z0-9+-]", "", text)[:40] or "x"


def download_filename(recording: vono.Recording) -> str:
    """``2026-09-30_22-32-42_5551939809735_sup9010_5931.mp3``: safe on every OS."""
    local = timezone.localtime(recording.calldate)
    source, destination = filename_part(recording.source), filename_part(recording.destination)
    return f"{local:%Y-%m-%d_%H-%M-%S}_{source}_{destination}_{recording.record_id}.mp3"


def recording_response(
    request: HttpRequest,
    recording: vono.Recording,
    *,
    attachment: bool,
    slot: StreamSlot | None,
) -> HttpResponseBase:
    """The answer to GET or HEAD of a recording the caller may see (checked before).

    Raises VonoError when the bytes cannot be had before anything is sent; ``slot`` is then
    the caller's to release, otherwise the response's.
    """
    cached = get_cache().open(
        recording.record_id,
        customer_id=access.scope_of(request.user).customer_id,
        expected_size=recording.size,
    )
    try:
        response = _answer(request, recording, cached, slot)
    except BaseException:
        cached.close()
        raise
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = entity_tag(recording)
    response["Last-Modified"] = http_date(recording.calldate.timestamp())
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{download_filename(recording)}"'
    return response


def _answer(
    request: HttpRequest,
    recording: vono.Recording,
    cached: CachedRecording,
    slot: StreamSlot | None,
) -> HttpResponseBase:
    asked = None
    if ranges.range_applies(
        request.headers.get("If-Range"),
        etag=entity_tag(recording),
        last_modified=recording.calldate,
    ):
        asked = ranges.parse_range(request.headers.get("Range"))
    if asked is None and cached.total is None and request.method == "GET":
        # The whole body of a download whose length nobody knows yet: send it as it comes
        # (first sound at once) rather than wait for the end to state a length.
        cached.wait_for(0)
        body = _FollowingBody(cached, 0, None, slot, record_id=recording.record_id)
        return StreamingHttpResponse(body, content_type="audio/mpeg")

    plan = ranges.answer(asked, cached.wait_total())
    response: HttpResponseBase
    if plan.status == 416 or request.method == "HEAD":
        cached.close()
        if slot is not None:
            slot.release()
        response = HttpResponse(status=plan.status, content_type="audio/mpeg")
    else:
        cached.wait_for(plan.first)
        if cached.complete:
            span = _FileSpan(cached, plan.first, plan.length, slot)
            file_response = FileResponse(span, status=plan.status, content_type="audio/mpeg")
            file_response.block_size = READ_CHUNK
            response = file_response
        else:
            body = _FollowingBody(
                cached, plan.first, plan.last, slot, record_id=recording.record_id
            )
            response = StreamingHttpResponse(body, status=plan.status, content_type="audio/mpeg")
    response["Content-Length"] = str(plan.length)
    if plan.content_range:
        response["Content-Range"] = plan.content_range
    return response
