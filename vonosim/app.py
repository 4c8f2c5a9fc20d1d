"""The Vono recording API as a WSGI application, with control endpoints under ``/_sim/``.

It follows ``shared/vono-api/CONTRACT.md``: one endpoint at ``/api/recording/TOKEN/KEY`` (the
``/api`` prefix optional, doubled slashes tolerated) with an optional subscriber segment;
``GET`` lists or, with ``is_download=1``, downloads; ``DELETE`` removes by ids or by filter.
Where the contract leaves a point open, the simulator takes the reading the contract names:
``time_ini``/``time_end`` join the dates into one continuous range.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.util import request_uri

from vonosim import state
from vonosim.audio import FrameLibrary, size_for_duration
from vonosim.data import SAO_PAULO, Record, generate
from vonosim.faults import Fault, FaultBoard
from vonosim.formats import duration_text, size_text

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

_ENDPOINT = re.compile(
    r"^/+(?:api/+)?recording/+(?P<token>[^/]+)/+(?P<key>[^/]+)(?:/+(?P<subscriber>[^/]*))?/*$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
DEFAULT_LIMIT = 100


class ConnectionReset(Exception):
    """Raised by the app to make the server drop the connection with a TCP reset."""


class BadParameter(Exception):
    """A request parameter the vendor would answer with ``error: 1``."""


@dataclass
class Settings:
    """Switches for how the upstream behaves, set over ``POST /_sim/config``.

    The contract promises none of Content-Length, Range or a particular content type for
    downloads; each switch turns one of those promises off.
    """

    honour_range: bool = True  # False: every download is a 200 with the whole body
    max_limit: int = 500
    content_type: str = "application/octet-stream"  # the vendor does not promise audio/mpeg
    content_length: bool = True  # False: downloads say no length (the body ends at close)
    chunked: bool = False  # True: downloads use chunked transfer coding, with no length

    def update(self, payload: dict[str, Any]) -> None:
        """Set the switches named in ``payload``; an unknown name or a wrong type is refused."""
        known = {f.name: f for f in fields(self)}
        for name, value in payload.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}; one of {', '.join(known)}")
            kind = type(getattr(self, name))
            if type(value) is not kind:
                raise ValueError(f"setting {name!r} takes a {kind.__name__}")
        for name, value in payload.items():
            setattr(self, name, value)


class Simulator:
    """A WSGI app holding the recordings, the faults and what it has seen."""

    def __init__(
        self,
        *,
        token: str,
        key: str,
        seed: int = 2026,
        count: int = 2400,
        library: FrameLibrary | None = None,
        state_path: Path | None = None,
        defaults: Settings | None = None,
    ) -> None:
        self.token = token
        self.key = key
        self.seed = seed
        self.count = count
        self.library = library or FrameLibrary()
        self.faults = FaultBoard()
        self._lock = threading.Lock()
        self.state_path = state_path  # deletions and additions survive a restart there
        self.defaults = defaults or Settings()  # the switches a reset returns to
        self.state = (state.load(state_path) if state_path else None) or state.State(_today())
        self._restart()

    def reset(self) -> None:
        """Back to the demo data as generated, with no faults and empty counters.

        Ids stay unique: one given out before the reset is never given out again.
        """
        with self._lock:
            self.state = state.State(_today(), last_id=self.state.last_id)
        self._restart()

    def _restart(self) -> None:
        """The recordings as ``self.state`` says, the default switches, empty counters."""
        with self._lock:
            records = {
                r.record_id: r
                for r in generate(seed=self.seed, count=self.count, today=self.state.day)
            }
            records.update(self.state.added)
            for record_id in self.state.deleted:
                records.pop(record_id, None)
            self.records: dict[int, Record] = records
            self.state.last_id = max(self.state.last_id, *records, 10_000)
            self._save()
            self.settings = replace(self.defaults)
            self.requests: Counter[str] = Counter()
            self.delete_calls: list[list[int]] = []
            self.deleted: Counter[int] = Counter()
            self.active_downloads = 0
        self.faults.clear()

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sim/"):
            return self._control(environ, start_response, path)
        match = _ENDPOINT.match(path)
        if not match:
            return _respond(start_response, "404 Not Found", b"Not Found", "text/plain")
        method = environ["REQUEST_METHOD"]
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        download = method == "GET" and _first(params, "is_download") == "1"
        target = "download" if download else {"GET": "list", "DELETE": "delete"}.get(method, "")
        with self._lock:
            self.requests[target or method] += 1
        faults = self.faults.take(target)
        for fault in faults:
            if fault.kind == "latency" and target != "delete":
                time.sleep(fault.seconds)
        if any(f.kind == "reset" for f in faults):
            raise ConnectionReset
        for fault in faults:
            if fault.kind == "status":
                return _respond(
                    start_response, _status_line(fault.status), b"<h1>Erro</h1>", "text/html"
                )
            if fault.kind == "error":
                reason = _echo(fault.reason, environ)
                return _json(start_response, {"error": 1, "reason": reason})
            if fault.kind == "body":
                return _respond(
                    start_response,
                    _status_line(fault.status),
                    _echo(fault.body, environ).encode(),
                    fault.content_type,
                )
            if fault.kind == "malformed":
                broken = b'{"error":0,"reason":"OK","total_records":12,"data":[{"record_id":'
                return _respond(start_response, "200 OK", broken, "application/json")

        authorised = match["token"] == self.token and match["key"] == self.key
        try:
            subscriber = _int_or_none(match["subscriber"], "id_assinante")
            if method == "GET" and download:
                status, headers, body = self._download(authorised, subscriber, params, environ)
            elif method == "GET":
                status, headers, body = self._list(authorised, subscriber, params)
            elif method == "DELETE":
                status, headers, body = self._delete(authorised, subscriber, params, environ)
                for fault in faults:  # a slow DELETE still deletes: its outcome is unknown
                    if fault.kind == "latency":
                        time.sleep(fault.seconds)
            else:
                return _respond(start_response, "405 Method Not Allowed", b"", "text/plain")
        except BadParameter as exc:
            return _json(start_response, {"error": 1, "reason": str(exc)})

        length = next((int(v) for k, v in headers if k == "Content-Length"), 0)
        if download and status[:3] in ("200", "206"):
            headers = self._download_framing(headers, environ)
        for fault in faults:
            if fault.kind == "truncate":
                environ["vonosim.cut"] = True  # chunked: no closing chunk either
                if fault.seconds:  # paced, so a client sees the start well before the cut
                    body = _slowly(body, fault.chunk, fault.seconds)
                return _truncated(start_response, status, headers, body, length)
            if fault.kind == "slow":
                start_response(status, headers)
                return _slowly(body, fault.chunk, fault.seconds)
        start_response(status, headers)
        return body

    # -- the API --------------------------------------------------------------------------

    def _matching(self, subscriber: int | None, params: dict[str, list[str]]) -> list[Record]:
        date_ini = _date(params, "date_ini")
        date_end = _date(params, "date_end")
        time_ini = _time(params, "time_ini") or dt.time(0, 0, 0)
        time_end = _time(params, "time_end") or dt.time(23, 59, 59)
        lower = dt.datetime.combine(date_ini, time_ini) if date_ini else None
        upper = dt.datetime.combine(date_end, time_end) if date_end else None
        if lower and upper and lower > upper:
            raise BadParameter("Data inicial maior que a data final")
        id_record = _int_or_none(_first(params, "id_record"), "id_record")
        with self._lock:
            records = list(self.records.values())
        return sorted(
            (
                r
                for r in records
                if (subscriber is None or r.customer_id == subscriber)
                and (id_record is None or r.record_id == id_record)
                and (lower is None or r.calldate >= lower)
                and (upper is None or r.calldate <= upper)
            ),
            key=lambda r: (r.calldate, r.record_id),
            reverse=True,
        )

    def _list(
        self, authorised: bool, subscriber: int | None, params: dict[str, list[str]]
    ) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
        if not authorised:
            raise BadParameter("Token ou chave de acesso inválidos")
        records = self._matching(subscriber, params)
        start = _int_or_none(_first(params, "start"), "start") or 0
        limit = _int_or_none(_first(params, "limit"), "limit")
        limit = DEFAULT_LIMIT if limit is None else limit
        limit = min(limit, self.settings.max_limit)
        page = records[start : start + limit]
        total_time = sum(r.duration for r in records)
        document = {
            "error": 0,
            "reason": "OK",
            "total_records": len(records),
            "total_time": total_time,
            "total_time_text": duration_text(total_time),
            "total_size": size_text(sum(r.size for r in records)),
            "limit": limit,
            "offset": start,
            "records": len(page),
            "data": [_as_json(r) for r in page],
        }
        body = json.dumps(document, ensure_ascii=False).encode()
        return "200 OK", _headers("application/json; charset=utf-8", len(body)), [body]

    def _download(
        self,
        authorised: bool,
        subscriber: int | None,
        params: dict[str, list[str]],
        environ: Environ,
    ) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
        try:
            record_id = int(_first(params, "id_record") or "")
        except ValueError:
            record_id = -1
        with self._lock:
            record = self.records.get(record_id)
        if (
            not authorised
            or record is None
            or (subscriber is not None and record.customer_id != subscriber)
        ):
            return "404 Not Found", _headers("text/html", 13), [b"404 Not Found"]
        size = record.size
        content_type = self.settings.content_type
        header = environ.get("HTTP_RANGE", "")
        match = _RANGE.match(header.strip()) if self.settings.honour_range else None
        if match and (match[1] or match[2]):
            if match[1]:
                first = int(match[1])
                last = min(int(match[2]), size - 1) if match[2] else size - 1
            else:
                first, last = max(0, size - int(match[2])), size - 1
            if first >= size or last < first:
                headers = [*_headers("text/plain", 0), ("Content-Range", f"bytes */{size}")]
                return "416 Range Not Satisfiable", headers, [b""]
            headers = _headers(content_type, last - first + 1)
            headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
            body = self.library.recording_bytes(record.record_id, record.duration, first, last + 1)
            return "206 Partial Content", headers, self._counted(body)
        body = self.library.recording_bytes(record.record_id, record.duration)
        return "200 OK", _headers(content_type, size), self._counted(body)

    def _download_framing(
        self, headers: list[tuple[str, str]], environ: Environ
    ) -> list[tuple[str, str]]:
        """Drop the length, or ask the server for chunked framing, as the switches say."""
        if self.settings.chunked:
            environ["vonosim.chunked"] = True
        if self.settings.chunked or not self.settings.content_length:
            return [(k, v) for k, v in headers if k != "Content-Length"]
        return headers

    def _counted(self, body: Iterator[bytes]) -> Iterator[bytes]:
        """Count downloads in flight, so tests can see that clients let go of them."""
        with self._lock:
            self.active_downloads += 1
        try:
            yield from body
        finally:
            with self._lock:
                self.active_downloads -= 1

    def _delete(
        self,
        authorised: bool,
        subscriber: int | None,
        params: dict[str, list[str]],
        environ: Environ,
    ) -> tuple[str, list[tuple[str, str]], Iterable[bytes]]:
        params = {**params, **_body_params(environ)}
        if not authorised:
            raise BadParameter("Token ou chave de acesso inválidos")
        kind = _first(params, "type")
        if kind == "id":
            ids = _ids(params)
            if not ids:
                raise BadParameter("Informe os ids das gravações")
        elif kind == "filter":
            if not (_first(params, "date_ini") and _first(params, "date_end")):
                raise BadParameter("Informe date_ini e date_end")
            limit = _int_or_none(_first(params, "limit"), "limit")
            matching = self._matching(subscriber, params)
            ids = [r.record_id for r in matching[: limit if limit is not None else None]]
        else:
            raise BadParameter("Parâmetro type deve ser id ou filter")
        removed, missing = [], []
        with self._lock:
            self.delete_calls.append(list(ids))
            for record_id in ids:
                record = self.records.get(record_id)
                self.deleted[record_id] += 1
                if record is None or (subscriber is not None and record.customer_id != subscriber):
                    missing.append(record_id)
                else:
                    del self.records[record_id]
                    removed.append(record_id)
            if removed:
                self.state.deleted.update(removed)
                self._save()
        body = json.dumps(
            {
                "error": 0,
                "reason": "OK",
                "deleted": len(removed),
                "ids": removed,
                "not_found": missing,
            }
        ).encode()
        return "200 OK", _headers("application/json", len(body)), [body]

    # -- control ----------------------------------------------------------------------------

    def _control(
        self, environ: Environ, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        try:
            payload = _json_body(environ) if method == "POST" else {}
            if path == "/_sim/health":
                health = {"ok": True, "records": len(self.records), "pid": os.getpid()}
                return _json(start_response, health)
            if path == "/_sim/faults" and method == "GET":
                return _json(start_response, {"faults": self.faults.snapshot()})
            if path == "/_sim/faults" and method == "POST":
                self.faults.add(Fault.from_json(payload))
                return _json(start_response, {"faults": self.faults.snapshot()})
            if path == "/_sim/faults" and method == "DELETE":
                self.faults.clear()
                return _json(start_response, {"faults": []})
            if path == "/_sim/config" and method == "POST":
                self.settings.update(payload)
                return _json(start_response, vars(self.settings))
            if path == "/_sim/reset" and method == "POST":
                self.reset()
                return _json(start_response, {"ok": True})
            if path == "/_sim/stats":
                with self._lock:
                    return _json(
                        start_response,
                        {
                            "requests": dict(self.requests),
                            "delete_calls": self.delete_calls,
                            "deleted": {str(k): v for k, v in self.deleted.items()},
                            "records": len(self.records),
                            "active_downloads": self.active_downloads,
                        },
                    )
            if path == "/_sim/records" and method == "POST":
                return _json(start_response, {"record": _as_json(self._add(payload))})
        except (ValueError, TypeError, KeyError) as exc:
            return _respond(start_response, "400 Bad Request", str(exc).encode(), "text/plain")
        return _respond(start_response, "404 Not Found", b"Not Found", "text/plain")

    def _add(self, payload: dict[str, Any]) -> Record:
        """Add one recording (e.g. a 200 MB one for a benchmark); it lives until reset."""
        with self._lock:
            record_id = int(payload.get("record_id") or self.state.last_id + 1)
            calldate = dt.datetime.fromisoformat(payload.get("calldate") or "2026-01-01T12:00:00")
            record = Record(
                record_id=record_id,
                customer_id=int(payload.get("customer_id", 3)),
                calldate=calldate,
                clid=str(payload.get("clid", "sup9001")),
                source=str(payload.get("source", "sup9001")),
                destination=str(payload.get("destination", "5511999990000")),
                duration=int(payload["duration"]),
            )
            self.records[record_id] = record
            self.state.added[record_id] = record
            self.state.deleted.discard(record_id)
            self.state.last_id = max(self.state.last_id, record_id)
            self._save()
        return record

    def _save(self) -> None:
        """Write what a restart must remember (the caller holds the lock)."""
        if self.state_path is not None:
            state.save(self.state_path, self.state)


# -- helpers ------------------------------------------------------------------------------


def _today() -> dt.date:
    return dt.datetime.now(SAO_PAULO).date()


def _as_json(r: Record) -> dict[str, Any]:
    return {
        "record_id": r.record_id,
        "customer_id": r.customer_id,
        "calldate": r.calldate.strftime("%Y-%m-%d %H:%M:%S"),
        "clid": r.clid,
        "source": r.source,
        "destination": r.destination,
        "duration": r.duration,
        "duration2": duration_text(r.duration),
        "size": size_text(size_for_duration(r.duration)),
    }


def _echo(text: str, environ: Environ) -> str:
    """A fault's text with ``{request_url}`` replaced by the full URL of the request, as a
    careless server echoes it in its errors (with the token and key in the path)."""
    if "{request_url}" not in text:
        return text
    url = request_uri(environ, include_query=True)
    if text.lstrip().startswith(("{", "[")):
        url = json.dumps(url)[1:-1]  # inside a canned JSON body, keep the JSON valid
    return text.replace("{request_url}", url)


def _first(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0].strip()


def _date(params: dict[str, list[str]], name: str) -> dt.date | None:
    value = _first(params, name)
    if not value:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"Parâmetro {name} inválido: use AAAA-MM-DD") from None


def _time(params: dict[str, list[str]], name: str) -> dt.time | None:
    value = _first(params, name)
    if not value:
        return None
    try:
        if not _TIME.match(value):
            raise ValueError
        return dt.time.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"Parâmetro {name} inválido: use HH:MM:SS") from None


def _int_or_none(value: str | None, name: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    if not value.strip().isdigit():
        raise BadParameter(f"Parâmetro {name} inválido")
    return int(value)


def _ids(params: dict[str, list[str]]) -> list[int]:
    """Accept ``ids[]=1&ids[]=2``, ``ids=1&ids=2``, ``ids=1,2``, ``ids=[1,2]`` and JSON lists."""
    raw: list[Any] = [*params.get("ids[]", []), *params.get("ids", [])]
    ids: list[int] = []
    for value in raw:
        if isinstance(value, int):
            ids.append(value)
            continue
        text = str(value).strip().strip("[]")
        for part in text.split(","):
            part = part.strip().strip('"')
            if part:
                if not part.isdigit():
                    raise BadParameter("Parâmetro ids inválido")
                ids.append(int(part))
    return ids


def _read_body(environ: Environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json_body(environ: Environ) -> dict[str, Any]:
    body = _read_body(environ)
    data = json.loads(body) if body else {}
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def _body_params(environ: Environ) -> dict[str, list[Any]]:
    body = _read_body(environ)
    if not body:
        return {}
    if "json" in environ.get("CONTENT_TYPE", ""):
        try:
            data = json.loads(body)
        except ValueError:
            raise BadParameter("Corpo JSON inválido") from None
        if not isinstance(data, dict):
            raise BadParameter("Corpo JSON inválido")
        return {k: v if isinstance(v, list) else [v] for k, v in data.items()}
    return dict(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))


def _headers(content_type: str, length: int) -> list[tuple[str, str]]:
    return [("Content-Type", content_type), ("Content-Length", str(length))]


def _status_line(code: int) -> str:
    from http import HTTPStatus

    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Error"


def _respond(
    start_response: StartResponse, status: str, body: bytes, content_type: str
) -> list[bytes]:
    start_response(status, _headers(content_type, len(body)))
    return [body]


def _json(start_response: StartResponse, document: dict[str, Any]) -> list[bytes]:
    body = json.dumps(document, ensure_ascii=False).encode()
    return _respond(start_response, "200 OK", body, "application/json; charset=utf-8")


def _truncated(
    start_response: StartResponse,
    status: str,
    headers: list[tuple[str, str]],
    body: Iterable[bytes],
    length: int,
) -> Iterator[bytes]:
    """Send half of the body (``length`` bytes in all), then close.

    With a Content-Length (or chunked coding) the client can tell the body was cut short;
    without either, the connection's close looks like the end.
    """
    start_response(status, headers)
    sent = 0
    for chunk in body:
        if sent + len(chunk) >= length // 2:
            yield chunk[: max(0, length // 2 - sent)]
            return
        sent += len(chunk)
        yield chunk


def _slowly(body: Iterable[bytes], chunk: int, pause: float) -> Iterator[bytes]:
    for block in body:
        for pos in range(0, len(block), max(1, chunk)):
            yield block[pos : pos + chunk]
            time.sleep(pause)
