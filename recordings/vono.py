"""The one way in to the Vono recording API.

This module owns the base URL, the credentials, the timeouts, the retries, the parsing of
the vendor's formats and the mapping of every failure to one exception hierarchy. Nothing
else in the project imports ``requests``. See ``shared/vono-api/CONTRACT.md``.

No message raised from here contains an upstream URL: the token and key are in its path.
Exceptions are raised ``from None`` so the requests exception (whose text holds the URL)
is not chained into tracebacks, error pages or logs. Whatever text the upstream sends (an
error's ``reason``, a value quoted in a message, every text field of a record) passes
through ``redaction.upstream_text`` here, at the boundary, so nothing downstream can forget:
an upstream that echoes the request URL cannot put the credentials on a page, in a log or
in the database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from recordings.redaction import upstream_text

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
DOWNLOAD_CHUNK = 256 * 1024  # fewer Python round trips per MB; bounded memory per stream


# --- errors ------------------------------------------------------------------------------


class VonoError(Exception):
    """Any failure talking to Vono. The message is safe to log and to show an operator:
    it is sanitised on the way in, whatever the upstream put in it."""

    def __init__(self, message: str = "") -> None:
        super().__init__(upstream_text(message, limit=500))


class VonoUnavailable(VonoError):
    """Vono could not be reached, timed out, or answered with a server error (5xx)."""


class VonoTimeout(VonoUnavailable):
    """Vono stopped answering: no answer, or no more bytes, within the read time-out."""


class VonoOutcomeUnknown(VonoUnavailable):
    """A DELETE was sent but no answer came back: it may or may not have happened."""


class VonoRejected(VonoError):
    """Vono refused the request (``error: 1``); ``reason`` is what it said."""

    def __init__(self, reason: str) -> None:
        self.reason = upstream_text(reason)
        super().__init__(f"The Vono API refused the request: {self.reason}")


class VonoNotFound(VonoError):
    """The recording does not exist, or is not visible with these credentials."""


class VonoProtocolError(VonoError):
    """Vono answered something this client cannot understand (bad JSON, cut-off body...)."""


# --- typed results -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recording:
    """One call recording. Sizes and durations are parsed; the vendor's text is kept."""

    record_id: int
    customer_id: int | None
    calldate: dt.datetime  # aware, America/Sao_Paulo
    clid: str
    source: str
    destination: str
    duration: int  # seconds
    duration_text: str
    size: int | None  # bytes; None when the vendor's text could not be read
    size_text: str


@dataclass(frozen=True, slots=True)
class RecordingPage:
    """One page of a listing, with the totals of everything that matched."""

    recordings: tuple[Recording, ...]
    total_records: int
    total_time: int  # seconds
    total_time_text: str
    total_size: int | None  # bytes
    total_size_text: str
    limit: int  # as the upstream returned it: it may cap what was asked
    offset: int


@dataclass(frozen=True, slots=True)
class RecordingFilter:
    """The list filters, named as the API names them."""

    date_ini: dt.date | None = None
    date_end: dt.date | None = None
    time_ini: dt.time | None = None
    time_end: dt.time | None = None
    id_record: int | None = None
    customer_id: int | None = None  # sent as the subscriber path segment

    def params(self) -> dict[str, str]:
        params = {
            "date_ini": self.date_ini.isoformat() if self.date_ini else "",
            "date_end": self.date_end.isoformat() if self.date_end else "",
            "time_ini": self.time_ini.strftime("%H:%M:%S") if self.time_ini else "",
            "time_end": self.time_end.strftime("%H:%M:%S") if self.time_end else "",
        }
        if self.id_record is not None:
            params["id_record"] = str(self.id_record)
        return params

    def as_json(self) -> dict[str, Any]:
        """The filter as stored with a deletion request or an audit event."""
        return {
            "date_ini": self.date_ini.isoformat() if self.date_ini else None,
            "date_end": self.date_end.isoformat() if self.date_end else None,
            "time_ini": self.time_ini.isoformat() if self.time_ini else None,
            "time_end": self.time_end.isoformat() if self.time_end else None,
            "id_record": self.id_record,
            "customer_id": self.customer_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordingFilter:
        def date(name: str) -> dt.date | None:
            return dt.date.fromisoformat(data[name]) if data.get(name) else None

        def time(name: str) -> dt.time | None:
            return dt.time.fromisoformat(data[name]) if data.get(name) else None

        return cls(
            date_ini=date("date_ini"),
            date_end=date("date_end"),
            time_ini=time("time_ini"),
            time_end=time("time_end"),
            id_record=data.get("id_record"),
            customer_id=data.get("customer_id"),
        )


@dataclass(frozen=True, slots=True)
class LookupWindow:
    """Recordings known to have been made on ``day`` between two times (São Paulo), to be
    listed with one date-and-time filter instead of one call per id."""

    day: dt.date
    time_ini: dt.time
    time_end: dt.time
    record_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RecordingStream:
    """An open download: status, headers that matter, and the body in chunks."""

    status: int  # 200, 206 or 416
    content_length: int | None
    content_range: str | None
    content_type: str | None
    chunks: Iterator[bytes]


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """What Vono said about a DELETE. ``deleted`` is None when it did not say."""

    deleted: int | None
    ids: tuple[int, ...] | None
    reason: str


# --- parsing -------------------------------------------------------------------------------

_SIZE = re.compile(r"^\s*(?P<number>\d[\d.,]*)\s*(?P<unit>[a-zA-Z]*)\s*$")
_UNITS = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
}
_DURATION_PART = re.compile(r"(\d[\d.]*)\s*(h|hr|hora|horas|min|m|seg|s|sec)\b", re.IGNORECASE)


def parse_brazilian_number(text: str) -> float:
    """``1.234,56`` -> 1234.56; ``333,95`` -> 333.95; ``1.486`` -> 1486.

    Without a comma, a dot followed by groups of exactly three digits is a thousands
    separator (the vendor's format); any other dot is a decimal point.
    """
    text = text.strip()
    if not text or not re.fullmatch(r"\d[\d.,]*", text) or text.count(",") > 1:
        raise ValueError(f"not a number: {text!r}")
    if "," in text:
        whole, _, fraction = text.partition(",")
        if "." in fraction or not re.fullmatch(r"\d{1,3}(\.\d{3})*|\d+", whole):
            raise ValueError(f"not a number: {text!r}")
        return float(whole.replace(".", "") + "." + fraction)
    if "." in text:
        groups = text.split(".")
        if all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3:
            return float("".join(groups))
        if len(groups) == 2:
            return float(text)
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def parse_size(text: str) -> int:
    """The vendor's sizes (``267,86 Kb``, ``333,95 Mb``, ``1,2 Gb``) in bytes.

    The units are read as binary multiples (Kb = 1024 bytes): the document's own example,
    a 68-second call of ``267,86 Kb``, is a 32 kbit/s MP3 only in that reading.
    """
    match = _SIZE.match(text or "")
    if not match or match["unit"].lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    try:
        number = parse_brazilian_number(match["number"])
    except ValueError:
        raise ValueError(f"not a size: {text!r}") from None
    return round(number * _UNITS[match["unit"].lower()])


def parse_duration_text(text: str) -> int:
    """``1 min 08 seg`` -> 68; ``1.486 min 47 seg`` -> 89207; ``1 h 02 min`` -> 3720."""
    parts = _DURATION_PART.findall(text or "")
    if not parts or _DURATION_PART.sub("", text).strip():
        raise ValueError(f"not a duration: {text!r}")
    factors = {"h": 3600, "hr": 3600, "hora": 3600, "horas": 3600, "min": 60, "m": 60}
    return sum(int(parse_brazilian_number(n)) * factors.get(u.lower(), 1) for n, u in parts)


def _int(value: Any, field: str, *, optional: bool = False) -> int | None:
    if value is None or value == "":
        if optional:
            return None
        raise VonoProtocolError(f"The Vono API's answer has no {field}")
    if isinstance(value, bool):
        raise VonoProtocolError(f"The Vono API's {field} is not a number: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise VonoProtocolError(f"The Vono API's {field} is not a whole number: {value!r:.40}")
    if number < 0:
        raise VonoProtocolError(f"The Vono API's {field} is negative: {number}")
    return number


def _required_int(value: Any, field: str) -> int:
    number = _int(value, field)
    assert number is not None
    return number


def _text(value: Any) -> str:
    """A text field of the upstream's answer: untrusted, so sanitised (see redaction)."""
    return "" if value is None else upstream_text(value)


def _size(text: str) -> int | None:
    try:
        return parse_size(text) if text else None
    except ValueError:
        return None


def _seconds(value: Any, text: str, field: str) -> int:
    if value is None or value == "":
        try:
            return parse_duration_text(text)
        except ValueError:
            raise VonoProtocolError(f"The Vono API's answer has no readable {field}") from None
    return _required_int(value, field)


def parse_calldate(value: Any) -> dt.datetime:
    """The vendor's local ``YYYY-MM-DD HH:MM:SS`` as an aware São Paulo datetime."""
    text = _text(value)
    try:
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        raise VonoProtocolError(f"The Vono API's calldate is not a date: {text!r:.40}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=SAO_PAULO)
    return moment.astimezone(SAO_PAULO)


def parse_recording(item: Any) -> Recording:
    """One element of ``data``."""
    if not isinstance(item, Mapping):
        raise VonoProtocolError("The Vono API's data holds something that is not a record")
    duration_text = _text(item.get("duration2"))
    size_text = _text(item.get("size"))
    return Recording(
        record_id=_required_int(item.get("record_id"), "record_id"),
        customer_id=_int(item.get("customer_id"), "customer_id", optional=True),
        calldate=parse_calldate(item.get("calldate")),
        clid=_text(item.get("clid")),
        source=_text(item.get("source")),
        destination=_text(item.get("destination")),
        duration=_seconds(item.get("duration"), duration_text, "duration"),
        duration_text=duration_text,
        size=_size(size_text),
        size_text=size_text,
    )


def parse_page(document: Any, *, requested_start: int = 0) -> RecordingPage:
    """A list answer, already checked for ``error``."""
    if not isinstance(document, Mapping):
        raise VonoProtocolError("The Vono API answered with JSON that is not an object")
    data = document.get("data")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise VonoProtocolError("The Vono API's data is not a list")
    recordings = tuple(parse_recording(item) for item in data)
    total_time_text = _text(document.get("total_time_text"))
    total_size_text = _text(document.get("total_size"))
    total_records = _required_int(document.get("total_records"), "total_records")
    limit = _int(document.get("limit"), "limit", optional=True)
    offset = _int(document.get("offset"), "offset", optional=True)
    return RecordingPage(
        recordings=recordings,
        total_records=total_records,
        total_time=_seconds(document.get("total_time"), total_time_text, "total_time"),
        total_time_text=total_time_text,
        total_size=_size(total_size_text),
        total_size_text=total_size_text,
        limit=limit if limit else max(1, len(recordings)),
        offset=offset if offset is not None else requested_start,
    )


# --- the HTTP client -----------------------------------------------------------------------


class _GetOnlyRetry(Retry):
    """Retry a GET on connection errors and 502/503/504, never anything else.

    urllib3 would repeat a DELETE after a connection error and a GET after a read time-out;
    a repeated DELETE is never acceptable, and a repeated slow GET only makes a person wait
    three times as long.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if (method or "").upper() != "GET" or isinstance(error, ReadTimeoutError):
            # A plain Retry exhausted from the start raises MaxRetryError (or the error).
            no_retry = Retry(0, read=False)
            no_retry.increment(method, url, response, error, _pool, _stacktrace)
            raise AssertionError("an exhausted Retry always raises")
        return super().increment(method, url, response, error, _pool, _stacktrace)


_CONTENT_RANGE = re.compile(r"bytes (?:\d{1,18}-\d{1,18}|\*)/(?:\d{1,18}|\*)")


def _content_range(value: str | None) -> str | None:
    """The upstream's Content-Range, relayed to the browser only when it is one."""
    value = (value or "").strip()
    return value if _CONTENT_RANGE.fullmatch(value) else None


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and every exception it wraps (reason, cause, context, args)."""
    chain: list[BaseException] = []
    pending = [exc]
    while pending and len(chain) < 20:
        current = pending.pop(0)
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        reason = getattr(current, "reason", None)
        linked = [reason, current.__cause__, current.__context__, *current.args]
        pending += [e for e in linked if isinstance(e, BaseException)]
    return chain


def _network_reason(exc: BaseException) -> str:
    """A short, URL-free description of a network failure."""
    chain = _exception_chain(exc)
    names = [type(e).__name__ for e in chain]
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "connection reset"
    if any(
        isinstance(e, ReadTimeoutError) or "Timeout" in n for e, n in zip(chain, names, strict=True)
    ):
        return "timed out"
    if any("NameResolution" in n for n in names):
        return "host name not found"
    if any("SSL" in n for n in names):
        return "TLS error"
    if any(n in ("RemoteDisconnected", "ProtocolError", "IncompleteRead") for n in names):
        return "connection closed without an answer"
    return "network error"


def _never_sent(exc: BaseException) -> bool:
    """Whether a failed request certainly never reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    current: BaseException | None = exc
    for _ in range(6):
        if current is None:
            return False
        if isinstance(current, NewConnectionError):
            return True
        reason = getattr(current, "reason", None)
        current = reason if isinstance(reason, BaseException) else current.__context__
    return False


class VonoClient:
    """A client for one Vono account. Thread-safe: one pooled session shared by all calls."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        key: str,
        customer_id: int | None = None,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        retries: int = 2,
        backoff: float = 0.25,
        pool_size: int = 32,
    ) -> None:
        self._endpoint = (
            f"{base_url.rstrip('/')}/recording/{quote(token, safe='')}/{quote(key, safe='')}"
        )
        self.customer_id = customer_id
        self.timeout = (connect_timeout, read_timeout)
        self._pool_size = pool_size
        retry = _GetOnlyRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist={502, 503, 504},
            backoff_factor=backoff,
            backoff_max=2.0,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=retry)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = "vonoportal/1"

    def __repr__(self) -> str:
        return "<VonoClient>"  # the endpoint holds the credentials

    def close(self) -> None:
        self._session.close()

    # -- reading --------------------------------------------------------------------------

    def list_recordings(
        self, filters: RecordingFilter, *, start: int = 0, limit: int = 100
    ) -> RecordingPage:
        """One page of recordings matching ``filters``, with the totals of all of them.

        Page with the ``limit`` and ``offset`` of the result: the upstream may cap ``limit``.
        """
        segment = self._segment(filters.customer_id)
        if segment is False:
            return RecordingPage((), 0, 0, "", 0, "", limit, start)
        params = {**filters.params(), "start": str(start), "limit": str(limit)}
        document = self._get_json(params, segment)
        page = parse_page(document, requested_start=start)
        if page.offset != start:
            # Paging on would fetch the same records again, forever.
            raise VonoProtocolError(
                f"The Vono API answered offset {page.offset} when asked for {start}"
            )
        return page

    def list_window(self, filters: RecordingFilter, *, start: int, count: int) -> RecordingPage:
        """Recordings ``start`` to ``start + count`` of the result, however the upstream caps
        ``limit``: as many calls as it takes, so the same URL shows the same rows everywhere.

        The page returned says ``limit=count`` and ``offset=start``, as asked.
        """
        page = self.list_recordings(filters, start=start, limit=count)
        rows = list(page.recordings)
        while rows and len(rows) < count and start + len(rows) < page.total_records:
            more = self.list_recordings(filters, start=start + len(rows), limit=count - len(rows))
            if not more.recordings:
                break  # the result shrank meanwhile: show what there is
            rows += more.recordings[: count - len(rows)]
        return replace(page, recordings=tuple(rows), limit=count, offset=start)

    def iter_recordings(
        self, filters: RecordingFilter, *, page_size: int = 500
    ) -> Iterator[Recording]:
        """Every recording matching ``filters``, fetched page by page (constant memory)."""
        start = 0
        while True:
            page = self.list_recordings(filters, start=start, limit=page_size)
            yield from page.recordings
            start = page.offset + len(page.recordings)
            if not page.recordings or start >= page.total_records:
                return

    def get_recording(self, record_id: int, *, customer_id: int | None = None) -> Recording:
        """One recording by id; VonoNotFound if it is not there (or not this subscriber's)."""
        page = self.list_recordings(
            RecordingFilter(id_record=record_id, customer_id=customer_id), limit=1
        )
        for recording in page.recordings:
            # The upstream filters by id_record; check anyway rather than trust it.
            if recording.record_id == record_id and (
                customer_id is None or recording.customer_id in (None, customer_id)
            ):
                return recording
        raise VonoNotFound(f"Recording {record_id} was not found")

    def get_recordings(
        self,
        record_ids: Iterable[int],
        *,
        customer_id: int | None = None,
        concurrency: int = 48,
        windows: Iterable[LookupWindow] = (),
        page_size: int = 500,
    ) -> dict[int, Recording]:
        """The recordings that exist among ``record_ids`` (within the scope), by id.

        The API looks up one id per call. Ids whose call time is known come in ``windows``:
        each window is listed by day and time (paged, ``page_size`` a call), so ids near one
        another in time cost one call together. The other ids, and any id its window did not
        show, are looked up one by one. All calls run ``concurrency`` at a time: 500 ids at
        100 ms cost about 0.3 s from windows, 2.5 s one by one (bench/bench_lookups.py).
        An id Vono does not hold is left out; any other failure is raised (the first one),
        after the calls in flight have finished.
        """
        ids = sorted({int(i) for i in record_ids})
        wanted = set(ids)
        found: dict[int, Recording] = {}
        if not ids:
            return found
        plans = [w for w in windows if wanted.intersection(w.record_ids)]
        in_windows = {i for w in plans for i in w.record_ids} & wanted

        def lookup(record_id: int) -> list[Recording]:
            try:
                return [self.get_recording(record_id, customer_id=customer_id)]
            except VonoNotFound:
                return []

        def listing(window: LookupWindow) -> list[Recording]:
            filters = RecordingFilter(
                date_ini=window.day,
                date_end=window.day,
                time_ini=window.time_ini,
                time_end=window.time_end,
                customer_id=customer_id,
            )
            return [
                r
                for r in self.iter_recordings(filters, page_size=page_size)
                if r.record_id in wanted
                and (customer_id is None or r.customer_id in (None, customer_id))
            ]

        workers = max(1, min(concurrency, self._pool_size, len(plans) + len(ids)))
        with ThreadPoolExecutor(workers, thread_name_prefix="vono-lookup") as pool:

            def gather(futures: list[Future[list[Recording]]]) -> None:
                try:
                    for future in futures:
                        for recording in future.result():
                            found[recording.record_id] = recording
                except BaseException:
                    for pending in futures:
                        pending.cancel()
                    raise

            first = [pool.submit(listing, w) for w in plans]
            first += [pool.submit(lookup, i) for i in ids if i not in in_windows]
            gather(first)
            # Not where the index placed it: gone, most likely; ask for it by id to be sure.
            gather([pool.submit(lookup, i) for i in sorted(in_windows - found.keys())])
        return found

    @contextmanager
    def open_recording(
        self,
        record_id: int,
        *,
        customer_id: int | None = None,
        range_header: str | None = None,
        chunk_size: int = DOWNLOAD_CHUNK,
    ) -> Iterator[RecordingStream]:
        """Open a recording's MP3 for streaming; the upstream connection is always released.

        ``range_header`` is forwarded as is. A 416 is returned, not raised, so the caller can
        answer it. A body cut short raises VonoProtocolError from the chunk iterator.
        """
        segment = self._segment(customer_id)
        if segment is False:
            raise VonoNotFound(f"Recording {record_id} was not found")
        headers = {"Range": range_header} if range_header else {}
        params = {"id_record": str(record_id), "is_download": "1"}
        response = self._send("GET", params, segment, headers=headers, stream=True)
        try:
            status = response.status_code
            if status == 404:
                raise VonoNotFound(f"Recording {record_id} is not available on Vono")
            if status >= 500:
                raise VonoUnavailable(f"The Vono API answered HTTP {status}")
            if status not in (200, 206, 416):
                raise VonoProtocolError(f"The Vono API answered a download with HTTP {status}")
            head = self._peek_for_error(response, status) if status in (200, 206) else b""
            length = response.headers.get("Content-Length")
            content_range = _content_range(response.headers.get("Content-Range"))
            if status == 206 and content_range is None:
                raise VonoProtocolError("The Vono API answered 206 without a valid Content-Range")
            yield RecordingStream(
                status=status,
                content_length=int(length) if length and length.isdigit() else None,
                content_range=content_range,
                content_type=response.headers.get("Content-Type"),
                chunks=itertools.chain(
                    (head,) if head else (), self._chunks(response, chunk_size, already=len(head))
                ),
            )
        finally:
            response.close()

    # -- deleting -------------------------------------------------------------------------

    def delete_ids(self, ids: Iterable[int], *, customer_id: int | None = None) -> DeleteResult:
        """Delete recordings by id, forever. Never retried.

        The ids go in the query string as ``ids[]=1&ids[]=2`` (the document does not say how
        to encode the array; a PHP back end reads this form from any method). A time-out or a
        dropped connection after sending raises VonoOutcomeUnknown.
        """
        id_list = [int(i) for i in ids]
        if not id_list:
            raise ValueError("delete_ids needs at least one id")
        segment = self._segment(customer_id)
        if segment is False:
            raise VonoRejected("this portal is limited to another subscriber")
        params: list[tuple[str, str]] = [("type", "id")] + [("ids[]", str(i)) for i in id_list]
        return self._delete(params, segment)

    def delete_by_filter(
        self,
        *,
        date_ini: dt.date,
        date_end: dt.date,
        limit: int | None = None,
        customer_id: int | None = None,
    ) -> DeleteResult:
        """Delete up to ``limit`` recordings between two days, forever. Never retried."""
        segment = self._segment(customer_id)
        if segment is False:
            raise VonoRejected("this portal is limited to another subscriber")
        params = [
            ("type", "filter"),
            ("date_ini", date_ini.isoformat()),
            ("date_end", date_end.isoformat()),
        ]
        if limit is not None:
            params.append(("limit", str(limit)))
        return self._delete(params, segment)

    # -- internals ------------------------------------------------------------------------

    def _segment(self, customer_id: int | None) -> int | bool | None:
        """The subscriber path segment, or False when the portal's own scope forbids it."""
        if self.customer_id is None:
            return customer_id
        if customer_id is None or customer_id == self.customer_id:
            return self.customer_id
        return False

    def _url(self, segment: int | bool | None) -> str:
        return self._endpoint if segment is None else f"{self._endpoint}/{int(segment)}"

    def _send(
        self,
        method: str,
        params: Any,
        segment: int | bool | None,
        *,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        try:
            return self._session.request(
                method,
                self._url(segment),
                params=params,
                headers=headers,
                stream=stream,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            if method != "GET" and not _never_sent(exc):
                raise VonoOutcomeUnknown(
                    f"The Vono API did not answer a {method} within {self.timeout[1]:g} s; "
                    "it may or may not have been carried out"
                ) from None
            raise VonoTimeout(
                f"The Vono API did not answer within {self._timeout_text(exc)}"
            ) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
            raise VonoProtocolError("The Vono API's answer was cut short") from None
        except requests.RequestException as exc:
            reason = _network_reason(exc)
            if method != "GET" and not _never_sent(exc):
                raise VonoOutcomeUnknown(
                    f"The connection to the Vono API failed during a {method} ({reason}); "
                    "it may or may not have been carried out"
                ) from None
            raise VonoUnavailable(f"Could not reach the Vono API ({reason})") from None

    def _timeout_text(self, exc: BaseException) -> str:
        if isinstance(exc, requests.ConnectTimeout):
            return f"{self.timeout[0]:g} s (connecting)"
        return f"{self.timeout[1]:g} s"

    def _get_json(self, params: Any, segment: int | bool | None) -> Any:
        response = self._send("GET", params, segment)
        return self._document(response)

    def _delete(self, params: Any, segment: int | bool | None) -> DeleteResult:
        response = self._send("DELETE", params, segment)
        document = self._document(response)
        ids = document.get("ids")
        return DeleteResult(
            deleted=_int(document.get("deleted"), "deleted", optional=True),
            ids=tuple(int(i) for i in ids)
            if isinstance(ids, list) and all(isinstance(i, int) for i in ids)
            else None,
            reason=_text(document.get("reason")),
        )

    def _document(self, response: requests.Response) -> Mapping[str, Any]:
        status = response.status_code
        if status >= 500:
            raise VonoUnavailable(f"The Vono API answered HTTP {status}")
        if status == 404:
            raise VonoProtocolError(
                "The Vono API answered HTTP 404: check the path in VONO_BASE_URL"
            )
        if status in (401, 403):
            raise VonoRejected(f"access denied (HTTP {status}); check the token and key")
        if status != 200:
            raise VonoProtocolError(f"The Vono API answered HTTP {status}")
        try:
            document = response.json()
        except ValueError:
            raise VonoProtocolError("The Vono API's answer is not valid JSON") from None
        if not isinstance(document, Mapping):
            raise VonoProtocolError("The Vono API answered with JSON that is not an object")
        error = document.get("error", 0)
        if error in (1, "1", True):
            raise VonoRejected(_text(document.get("reason")) or "no reason given")
        if error not in (0, "0", False, None):
            raise VonoProtocolError(f"The Vono API's error field is unexpected: {error!r:.20}")
        return document

    def _peek_for_error(self, response: requests.Response, status: int) -> bytes:
        """The first bytes of a download, read to tell an MP3 from an error message.

        The vendor's content type says nothing (an MP3 may come as text/html), so the bytes
        decide: a JSON object with ``error`` is a refusal, and a whole file that starts like
        HTML is no MP3. Either would otherwise reach a browser as audio, quoting whatever the
        upstream wrote (the request URL, say). Returns the bytes read, to be relayed first.
        """
        try:
            head = response.raw.read(64, decode_content=True) or b""
            if head.lstrip()[:1] == b"{":
                head += response.raw.read(4096, decode_content=True) or b""
        except (OSError, HTTPError):
            raise VonoUnavailable("The recording's download failed (network error)") from None
        start = head.lstrip()[:1]
        if start == b"{":
            try:
                document = json.loads(head.decode("utf-8", "replace"))
            except ValueError:
                document = None
            if isinstance(document, Mapping) and "error" in document:
                raise VonoRejected(_text(document.get("reason")) or "no reason given")
        if start == b"<" and status == 200:
            raise VonoProtocolError("The Vono API answered a download with a page, not an MP3")
        return head

    def _chunks(
        self, response: requests.Response, chunk_size: int, *, already: int = 0
    ) -> Iterator[bytes]:
        """The body as it arrives: up to ``chunk_size`` bytes per read, never waiting to fill
        a chunk (a slow upstream's first bytes reach the listener at once). ``already``: bytes
        of the body read before (the peek)."""
        announced = response.headers.get("Content-Length")
        expected = int(announced) if announced and announced.isdigit() else None
        received = already
        try:
            while data := response.raw.read1(chunk_size):
                received += len(data)
                yield data
        except (ProtocolError, DecodeError):
            raise VonoProtocolError("The recording's download was cut short") from None
        except HTTPError as exc:
            reason = _network_reason(exc)
            if reason == "timed out":
                raise VonoTimeout(
                    f"The Vono API stopped sending the recording for {self.timeout[1]:g} s"
                ) from None
            raise VonoUnavailable(f"The recording's download failed ({reason})") from None
        except OSError as exc:
            raise VonoUnavailable(
                f"The recording's download failed ({_network_reason(exc)})"
            ) from None
        if expected is not None and received < expected and response.status_code != 416:
            raise VonoProtocolError("The recording's download was cut short")


# --- the configured client -----------------------------------------------------------------


@cache
def get_client() -> VonoClient:
    """The client configured by the ``VONO_*`` settings, shared by the whole process."""
    from django.conf import settings

    return VonoClient(
        base_url=settings.VONO_BASE_URL,
        token=settings.VONO_API_TOKEN,
        key=settings.VONO_API_KEY,
        customer_id=settings.VONO_CUSTOMER_ID,
        connect_timeout=settings.VONO_CONNECT_TIMEOUT,
        read_timeout=settings.VONO_READ_TIMEOUT,
        retries=settings.VONO_RETRIES,
        pool_size=max(32, settings.VONO_LOOKUP_CONCURRENCY),
    )


@cache
def get_probe_client() -> VonoClient:
    """A client for health probes: short time-outs and no retries, so a probe of a hanging
    upstream ends well within a load balancer's or Docker's health-check time-out."""
    from django.conf import settings

    return VonoClient(
        base_url=settings.VONO_BASE_URL,
        token=settings.VONO_API_TOKEN,
        key=settings.VONO_API_KEY,
        customer_id=settings.VONO_CUSTOMER_ID,
        connect_timeout=min(settings.VONO_CONNECT_TIMEOUT, 2.0),
        read_timeout=min(settings.VONO_READ_TIMEOUT, 5.0),
        retries=0,
        pool_size=2,
    )


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if not setting.startswith("VONO_"):
        return
    for factory in (get_client, get_probe_client):
        if factory.cache_info().currsize:
            factory().close()
            factory.cache_clear()


def connect_settings_signal() -> None:
    from django.test.signals import setting_changed

    setting_changed.connect(_settings_changed, dispatch_uid="recordings.vono.settings")
