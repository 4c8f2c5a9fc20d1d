"""Range arithmetic for a recording's bytes (RFC 9110 §14), kept apart from any I/O.

A request's ``Range`` and ``If-Range`` headers, and the length of the recording, decide the
answer: the whole body (200), one part of it (206) or nothing (416). What the upstream does
with ranges never enters here: the bytes come from the local cache.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.http import parse_http_date_safe

# More digits than any file could need: a position this large lies beyond every recording.
# Python refuses int() on more than 4,300 digits, and such a number means "past the end" anyway.
BEYOND = 2**63
_MAX_DIGITS = 18

_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)", re.ASCII)
_CONTENT_RANGE = re.compile(r"bytes\s+([0-9]+)-([0-9]+)/([0-9]+|\*)", re.ASCII | re.IGNORECASE)


def _position(digits: str) -> int:
    significant = digits.lstrip("0")
    return BEYOND if len(significant) > _MAX_DIGITS else int(significant or "0")


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total or None when ``*``) from a Content-Range, or None if malformed."""
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if not match:
        return None
    first, last = _position(match[1]), _position(match[2])
    total = None if match[3] == "*" else _position(match[3])
    if last < first or (total is not None and last >= total):
        return None
    return first, last, total


@dataclass(frozen=True, slots=True)
class ByteRange:
    """One byte range as asked: ``first-last``, ``first-`` or the suffix ``-length``."""

    first: int | None
    last: int | None

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
    anything malformed (``bytes=5-1``, ``bytes=abc``, digits other than ASCII), and several
    ranges at once. Positions too long to be real stay valid syntax: past the end.
    """
    if not header:
        return None
    unit, _, specs = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in specs:
        return None
    match = _RANGE_SPEC.fullmatch(specs.strip())
    if not match or not (match[1] or match[2]):
        return None
    first = _position(match[1]) if match[1] else None
    last = _position(match[2]) if match[2] else None
    if first is not None and last is not None and last < first:
        return None
    return ByteRange(first, last)


def range_applies(if_range: str | None, *, etag: str, last_modified: dt.datetime) -> bool:
    """Whether a Range may be honoured given If-Range (RFC 9110 §13.1.5).

    An entity tag must match ours by strong comparison (a weak tag never does); a date must
    equal our Last-Modified exactly. Anything else, malformed included, means "send it all".
    """
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return value == etag
    if value[:2] == "W/":
        return False
    stamp = parse_http_date_safe(value)
    return stamp is not None and stamp == int(last_modified.timestamp())


@dataclass(frozen=True, slots=True)
class Answer:
    """What to send: status and the inclusive byte span of a recording of ``total`` bytes."""

    status: int  # 200, 206 or 416
    first: int
    last: int
    total: int

    @property
    def length(self) -> int:
        return 0 if self.status == 416 else self.last - self.first + 1

    @property
    def content_range(self) -> str | None:
        if self.status == 416:
            return f"bytes */{self.total}"
        if self.status == 206:
            return f"bytes {self.first}-{self.last}/{self.total}"
        return None


def answer(asked: ByteRange | None, total: int) -> Answer:
    """The answer to a request for ``asked`` (None: the whole body) of ``total`` bytes."""
    if asked is None:
        return Answer(200, 0, total - 1, total)
    resolved = asked.resolve(total)
    if resolved is None:
        return Answer(416, 0, -1, total)
    return Answer(206, resolved[0], resolved[1], total)
