"""The simulator's own behaviour: filters, paging, totals, downloads, deletes, faults."""

from __future__ import annotations

import datetime as dt
import json
import socket
import urllib.error
from typing import Any

import pytest

from tests.simulator import SimulatorProcess
from vonosim.audio import FRAME_BYTES, FrameLibrary, size_for_duration, split_frames
from vonosim.data import generate
from vonosim.formats import duration_text, size_text


def test_demo_data_is_deterministic_and_covers_the_last_60_days() -> None:
    today = dt.date(2026, 11, 27)
    first = generate(today=today)
    assert [r.record_id for r in first] == [r.record_id for r in generate(today=today)]
    assert first == generate(today=today)
    assert len(first) >= 2000
    days = {r.calldate.date() for r in first}
    assert min(days) >= today - dt.timedelta(days=59)
    assert max(days) <= today
    assert len({r.customer_id for r in first}) >= 4
    assert min(r.duration for r in first) < 20
    assert max(r.duration for r in first) > 30 * 60
    assert any(r.source.startswith("55") and len(r.source) in (12, 13) for r in first)


def test_every_day_of_the_last_week_has_calls(sim: SimulatorProcess) -> None:
    today = dt.date.today()
    week_ago = today - dt.timedelta(days=7)
    page = sim.list(f"date_ini={week_ago}&date_end={today}&limit=1")
    assert page["total_records"] > 100


def test_vendor_number_formats() -> None:
    assert duration_text(89207) == "1.486 min 47 seg"
    assert duration_text(68) == "1 min 08 seg"
    assert size_text(274_288) == "267,86 Kb"
    assert size_text(350_172_979) == "333,95 Mb"
    assert size_text(3 * 1024**3 // 2) == "1,50 Gb"


def test_paging_walks_every_record_once(sim: SimulatorProcess) -> None:
    query = "date_ini=2000-01-01&date_end=2100-01-01"
    total = sim.list(f"{query}&limit=1")["total_records"]
    seen = []
    start = 0
    while start < total:
        page = sim.list(f"{query}&start={start}&limit=400")
        assert page["offset"] == start
        assert page["records"] == len(page["data"])
        seen += [r["record_id"] for r in page["data"]]
        start += page["records"]
    assert len(seen) == len(set(seen)) == total == 2400


def test_limit_is_capped_and_the_cap_is_returned(sim: SimulatorProcess) -> None:
    sim.configure(max_limit=50)
    page = sim.list("limit=200")
    assert page["limit"] == 50
    assert page["records"] == 50


def test_totals_cover_all_matches_not_the_page(sim: SimulatorProcess) -> None:
    page = sim.list("date_ini=2000-01-01&date_end=2100-01-01&limit=1", path="/7")
    every = sim.list("date_ini=2000-01-01&date_end=2100-01-01&limit=500", path="/7")
    records = list(every["data"])
    start = 500
    while start < every["total_records"]:
        records += sim.list(
            f"date_ini=2000-01-01&date_end=2100-01-01&limit=500&start={start}", path="/7"
        )["data"]
        start += 500
    assert page["total_time"] == sum(r["duration"] for r in records)
    assert page["total_time_text"] == duration_text(page["total_time"])
    assert page["total_size"] == size_text(sum(size_for_duration(r["duration"]) for r in records))
    assert {r["customer_id"] for r in records} == {7}


def _everything(sim: SimulatorProcess) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    while True:
        page = sim.list(f"date_ini=2000-01-01&date_end=2100-01-01&limit=500&start={len(records)}")
        records += page["data"]
        if len(records) >= page["total_records"]:
            return records


def test_time_filter_joins_dates_into_one_continuous_range(sim: SimulatorProcess) -> None:
    every = _everything(sim)
    evening = next(r for r in every if str(r["calldate"])[11:] >= "18:00:00")
    day = dt.date.fromisoformat(str(evening["calldate"])[:10])
    nxt = day + dt.timedelta(days=1)
    # 18:00 to 09:00: empty as a daily window, an evening and a morning as one range.
    page = sim.list(f"date_ini={day}&time_ini=18:00:00&date_end={nxt}&time_end=09:00:00&limit=500")
    expected = {
        r["record_id"]
        for r in every
        if f"{day} 18:00:00" <= str(r["calldate"]) <= f"{nxt} 09:00:00"
    }
    assert evening["record_id"] in expected
    assert {r["record_id"] for r in page["data"]} == expected
    assert page["total_records"] == len(expected)


def test_id_record_and_subscriber_segment(sim: SimulatorProcess) -> None:
    record = sim.list("limit=1")["data"][0]
    one = sim.list(f"id_record={record['record_id']}")
    assert one["total_records"] == 1 and one["data"][0] == record
    other = 3 if record["customer_id"] != 3 else 7
    hidden = sim.list(f"id_record={record['record_id']}", path=f"/{other}")
    assert hidden["total_records"] == 0 and hidden["data"] == []


@pytest.mark.parametrize("prefix", ["/api/recording", "/recording", "//api/recording"])
def test_the_path_prefix_is_optional(sim: SimulatorProcess, prefix: str) -> None:
    from tests import environment

    url = f"{sim.base}{prefix}/{environment.TOKEN}/{environment.KEY}?limit=1"
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        assert json.loads(response.read())["records"] == 1


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("date_ini=2026-13-01", "date_ini"),
        ("date_end=27/11/2026", "date_end"),
        ("time_ini=25:00:00&date_ini=2026-11-01", "time_ini"),
        ("start=-1", "start"),
        ("limit=abc", "limit"),
        ("id_record=x1", "id_record"),
        ("date_ini=2026-11-02&date_end=2026-11-01", "Data inicial"),
    ],
)
def test_bad_parameters_answer_error_1_with_a_reason(
    sim: SimulatorProcess, query: str, reason: str
) -> None:
    document = sim.list(query)
    assert document["error"] == 1
    assert reason in document["reason"]


def test_bad_credentials_answer_error_1(sim: SimulatorProcess) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{sim.base}/api/recording/wrong/wrong?limit=1") as response:
        document = json.loads(response.read())
    assert document == {"error": 1, "reason": "Token ou chave de acesso inválidos"}


def test_download_is_a_real_mp3_of_the_recordings_length(sim: SimulatorProcess) -> None:
    record = sim.list("limit=1")["data"][0]
    status, headers, body = sim.get(f"id_record={record['record_id']}&is_download=1")
    assert status == 200
    assert int(headers["Content-Length"]) == len(body) == size_for_duration(record["duration"])
    frames = split_frames(body)
    assert all(len(f) == FRAME_BYTES for f in frames)
    seconds = len(frames) * 576 / 16000
    assert abs(seconds - record["duration"]) < 0.05


def test_the_audio_is_not_silence() -> None:
    library = FrameLibrary()
    body = b"".join(library.recording_bytes(12345, 30))
    # Silent frames compress to almost nothing but padding; speech fills the frames.
    assert len(set(split_frames(body)[40:200])) > 150


def test_missing_recording_download_is_404(sim: SimulatorProcess) -> None:
    status, _, _ = sim.get("id_record=999999&is_download=1")
    assert status == 404


@pytest.mark.parametrize(
    ("header", "status", "content_range"),
    [
        ("bytes=0-9", 206, "bytes 0-9/{n}"),
        ("bytes=10-", 206, "bytes 10-{last}/{n}"),
        ("bytes=-100", 206, "bytes {tail}-{last}/{n}"),
        ("bytes={n}-", 416, "bytes */{n}"),
    ],
)
def test_ranges_when_honoured(
    sim: SimulatorProcess, header: str, status: int, content_range: str
) -> None:
    record = sim.list("limit=1")["data"][0]
    n = size_for_duration(record["duration"])
    fmt = {"n": n, "last": n - 1, "tail": n - 100}
    code, headers, body = sim.get(
        f"id_record={record['record_id']}&is_download=1",
        headers={"Range": header.format(**fmt)},
    )
    assert code == status
    assert headers["Content-Range"] == content_range.format(**fmt)
    if status == 206:
        _, _, whole = sim.get(f"id_record={record['record_id']}&is_download=1")
        first, last = map(int, headers["Content-Range"].split()[1].split("/")[0].split("-"))
        assert body == whole[first : last + 1]


def test_range_ignored_when_configured(sim: SimulatorProcess) -> None:
    sim.configure(honour_range=False)
    record = sim.list("limit=1")["data"][0]
    code, headers, body = sim.get(
        f"id_record={record['record_id']}&is_download=1", headers={"Range": "bytes=0-9"}
    )
    assert code == 200 and "Content-Range" not in headers
    assert len(body) == size_for_duration(record["duration"])


@pytest.mark.parametrize(
    ("query", "body", "content_type"),
    [
        ("type=id&ids[]={a}&ids[]={b}", None, None),
        ("type=id&ids={a}&ids={b}", None, None),
        ("type=id&ids={a},{b}", None, None),
        ("type=id&ids=[{a},{b}]", None, None),
        ("", "type=id&ids%5B%5D={a}&ids%5B%5D={b}", "application/x-www-form-urlencoded"),
        ("", '{{"type": "id", "ids": [{a}, {b}]}}', "application/json"),
    ],
)
def test_delete_by_ids_accepts_the_plausible_encodings(
    sim: SimulatorProcess, query: str, body: str | None, content_type: str | None
) -> None:
    a, b = (r["record_id"] for r in sim.list("limit=2")["data"])
    status, _, answer = sim.get(
        query.format(a=a, b=b),
        method="DELETE",
        body=body.format(a=a, b=b).encode() if body else None,
        headers={"Content-Type": content_type} if content_type else {},
    )
    assert status == 200
    assert json.loads(answer)["deleted"] == 2
    assert sim.list(f"id_record={a}")["total_records"] == 0
    assert sim.list(f"id_record={b}")["total_records"] == 0
    assert sim.stats()["delete_calls"] == [[a, b]]


def test_delete_by_filter_removes_up_to_limit(sim: SimulatorProcess) -> None:
    record = sim.list("limit=1")["data"][0]
    day = record["calldate"][:10]
    before = sim.list(f"date_ini={day}&date_end={day}&limit=1")["total_records"]
    _status, _, answer = sim.get(
        f"type=filter&date_ini={day}&date_end={day}&limit=2", method="DELETE"
    )
    assert json.loads(answer)["deleted"] == min(2, before)
    assert sim.list(f"date_ini={day}&date_end={day}&limit=1")["total_records"] == before - min(
        2, before
    )


def test_deletes_last_until_reset(sim: SimulatorProcess) -> None:
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    sim.get(f"type=id&ids[]={record_id}", method="DELETE")
    assert sim.list(f"id_record={record_id}")["total_records"] == 0
    sim.reset()
    assert sim.list(f"id_record={record_id}")["total_records"] == 1


def test_delete_without_type_is_error_1(sim: SimulatorProcess) -> None:
    _, _, answer = sim.get("ids[]=1", method="DELETE")
    assert json.loads(answer)["error"] == 1


def test_faults_are_set_counted_and_cleared_without_restart(sim: SimulatorProcess) -> None:
    sim.fault("status", status=503, times=1)
    assert sim.get("limit=1")[0] == 503
    assert sim.get("limit=1")[0] == 200
    sim.fault("error", reason="Manutenção")
    assert sim.list("limit=1") == {"error": 1, "reason": "Manutenção"}
    sim.clear_faults()
    assert sim.list("limit=1")["error"] == 0


def test_fault_skip_hits_only_later_requests(sim: SimulatorProcess) -> None:
    sim.fault("status", status=502, skip=2, times=1, target="list")
    assert [sim.get("limit=1")[0] for _ in range(4)] == [200, 200, 502, 200]


def test_malformed_fault_sends_invalid_json(sim: SimulatorProcess) -> None:
    sim.fault("malformed")
    _, _, body = sim.get("limit=1")
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_reset_fault_resets_the_connection(sim: SimulatorProcess) -> None:
    sim.fault("reset")
    sock = socket.create_connection(("127.0.0.1", sim.port))
    sock.sendall(b"GET /api/recording/x/y HTTP/1.1\r\nHost: sim\r\n\r\n")
    with pytest.raises(ConnectionResetError):
        sock.recv(100)
    sock.close()


def test_truncate_fault_promises_more_than_it_sends(sim: SimulatorProcess) -> None:
    import http.client

    record = sim.list("limit=1")["data"][0]
    sim.fault("truncate", target="download")
    _status, _headers, _ = 0, {}, b""
    with pytest.raises(http.client.IncompleteRead):
        sim.get(f"id_record={record['record_id']}&is_download=1")


def test_slow_fault_still_sends_everything(sim: SimulatorProcess) -> None:
    sim.fault("slow", chunk=4096, seconds=0.001, target="download")
    record = sim.list("limit=1")["data"][0]
    _, _, body = sim.get(f"id_record={record['record_id']}&is_download=1")
    assert len(body) == size_for_duration(record["duration"])


def _raw_download(sim: SimulatorProcess, record_id: int, range_header: str = "") -> bytes:
    """The download's bytes as they cross the wire: status line, headers, framing."""
    path = f"/api/recording/{sim.api.split('/recording/')[1]}?id_record={record_id}&is_download=1"
    extra = f"Range: {range_header}\r\n" if range_header else ""
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: sim\r\n{extra}\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def _dechunk(body: bytes) -> bytes:
    out, pos = b"", 0
    while True:
        if pos >= len(body):
            raise ValueError("the body ends before its closing chunk")
        line_end = body.index(b"\r\n", pos)
        size = int(body[pos:line_end], 16)
        if size == 0:
            assert body[line_end:] == b"\r\n\r\n", "the closing chunk ends the body"
            return out
        if len(body) < line_end + 4 + size:
            raise ValueError("the body ends inside a chunk")
        out += body[line_end + 2 : line_end + 2 + size]
        assert body[line_end + 2 + size : line_end + 4 + size] == b"\r\n"
        pos = line_end + 4 + size


def test_downloads_without_a_length_when_configured(sim: SimulatorProcess) -> None:
    sim.configure(content_length=False)
    record = sim.list("limit=1")["data"][0]
    head, _, body = _raw_download(sim, record["record_id"]).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200")
    assert b"content-length" not in head.lower()
    assert b"transfer-encoding" not in head.lower()
    assert len(body) == size_for_duration(record["duration"])


@pytest.mark.parametrize("range_header", ["", "bytes=100-199"])
def test_downloads_chunked_when_configured(sim: SimulatorProcess, range_header: str) -> None:
    sim.configure(chunked=True)
    record = sim.list("limit=1")["data"][0]
    _, _, whole = sim.get(f"id_record={record['record_id']}&is_download=1")
    head, _, body = _raw_download(sim, record["record_id"], range_header).partition(b"\r\n\r\n")
    assert b"\r\ntransfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    if range_header:
        assert head.startswith(b"HTTP/1.1 206")
        assert f"bytes 100-199/{len(whole)}".encode() in head
        assert _dechunk(body) == whole[100:200]
    else:
        assert head.startswith(b"HTTP/1.1 200")
        assert _dechunk(body) == whole


def test_a_truncated_chunked_download_has_no_closing_chunk(sim: SimulatorProcess) -> None:
    sim.configure(chunked=True)
    sim.fault("truncate", target="download")
    record = sim.list("limit=1")["data"][0]
    _, _, body = _raw_download(sim, record["record_id"]).partition(b"\r\n\r\n")
    with pytest.raises(ValueError, match="the body ends"):
        _dechunk(body)


def test_lists_keep_their_length_whatever_the_download_switches(sim: SimulatorProcess) -> None:
    sim.configure(chunked=True, content_length=False, honour_range=False)
    status, headers, _ = sim.get("limit=1")
    assert status == 200 and int(headers["Content-Length"]) > 0


@pytest.mark.parametrize(
    "payload", [{"chunked": "yes"}, {"content_length": 0}, {"no_such_switch": True}]
)
def test_config_refuses_unknown_switches_and_wrong_types(
    sim: SimulatorProcess, payload: dict[str, Any]
) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        sim.configure(**payload)
    assert refused.value.code == 400
    assert sim.configure() == {
        "honour_range": True,
        "max_limit": 500,
        "content_type": "application/octet-stream",
        "content_length": True,
        "chunked": False,
    }
