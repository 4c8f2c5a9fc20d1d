"""Relaying a recording's bytes: Range (RFC 9110), constant memory, honest failures."""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

from recordings import vono

logger = logging.getLogger(__name__)

_RANGE_SPEC = re.compile(r"^(\d*)-(\d*)$")
_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ByteRange:
    """One byte range as asked: ``first-last``, ``first-`` or the suffix ``-length``."""

    first: int | None
    last: int | None

    def header(self) -> str:
        first = "" if self.first is None else str(self.first)
        last = "" if self.last is None else str(self.last)
        return f"bytes={first}-{last}"

    def resolve(self, size: int) -> tuple[int, int] | None:
        """The inclusive (first, last) within a representation of ``size`` bytes, or None
        when the range cannot be satisfied."""
        if self.first is None:  # suffix: the last N bytes
            assert self.last is not None
            if self.last == 0 or size == 0:
                return None
            return max(0, size - self.last), size - 1
        if self.first >= size:
            return None
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return self.first, last


def parse_range(header: str | None) -> ByteRange | None:
    """A single byte range from a Range header; None to ignore the header.

    Ignored, and answered with the whole body as RFC 9110 allows: no header, another unit,
    anything malformed (``bytes=5-1``, ``bytes=abc``), and several ranges at once.
    """
    if not header:
        return None
    unit, _, specs = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in specs:
        return None
    match = _RANGE_SPEC.match(specs.strip())
    if not match or not (match[1] or match[2]):
        return None
    first = int(match[1]) if match[1] else None
    last = int(match[2]) if match[2] else None
    if first is not None and last is not None and last < first:
        return None
    return ByteRange(first, last)


def total_from_content_range(value: str | None) -> int | None:
    """The complete length in a Content-Range header (``bytes 0-9/1234`` -> 1234)."""
    match = _CONTENT_RANGE.match((value or "").strip())
    return int(match[3]) if match and match[3] != "*" else None


@dataclass(frozen=True, slots=True)
class Plan:
    """What to answer: status, the headers that depend on the range, and what to relay."""

    status: int
    content_length: int | None
    content_range: str | None
    skip: int = 0  # bytes to drop from the upstream body first
    take: int | None = None  # then how many to send; None: all of it


def plan_response(asked: ByteRange | None, stream: vono.RecordingStream) -> Plan:
    """Decide the answer from the range asked and what the upstream did with it."""
    if stream.status == 416:
        total = total_from_content_range(stream.content_range)
        return Plan(416, 0, f"bytes */{total}" if total is not None else "bytes */*", take=0)
    if stream.status == 206:
        return Plan(206, stream.content_length, stream.content_range)
    size = stream.content_length
    if asked is None or size is None:
        # No range asked, or the upstream sent the whole file without saying its length:
        # then no range can be computed honestly, and the whole body goes out as 200.
        return Plan(200, size, None)
    resolved = asked.resolve(size)
    if resolved is None:
        return Plan(416, 0, f"bytes */{size}", take=0)
    first, last = resolved
    return Plan(
        206, last - first + 1, f"bytes {first}-{last}/{size}", skip=first, take=last - first + 1
    )


class UpstreamBody:
    """The response body: relays upstream chunks and always releases the connection.

    Django calls ``close()`` when the response ends, on a client disconnect too, even if
    iteration never began. A body cut short upstream raises from ``__next__``, so the server
    aborts the response instead of ending it cleanly.
    """

    def __init__(
        self, stack: ExitStack, stream: vono.RecordingStream, plan: Plan, *, record_id: int
    ) -> None:
        self._stack = stack
        self._record_id = record_id
        self._chunks = self._relay(stream.chunks, plan.skip, plan.take)

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
        self._stack.close()

    @staticmethod
    def _relay(
        chunks: Iterator[bytes], skip: int, take: int | None
    ) -> Generator[bytes, None, None]:
        if take == 0:
            return
        for chunk in chunks:
            if skip:
                if len(chunk) <= skip:
                    skip -= len(chunk)
                    continue
                chunk, skip = chunk[skip:], 0
            if take is not None:
                if len(chunk) >= take:
                    yield chunk[:take]
                    return
                take -= len(chunk)
            yield chunk
        if take:
            raise vono.VonoProtocolError("the recording ended before the range asked for")
