"""Play and download: access before the first upstream byte, headers, Range, failures, audit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from audio import ranges
from audit.models import AuditEvent
from recordings import vono
from tests.conftest import make_user
from tests.simulator import SimulatorProcess


def _recording(sim: SimulatorProcess, start: int = 0) -> dict[str, Any]:
    return sim.list(f"limit=1&start={start}")["data"][0]


def _raw(sim: SimulatorProcess, record_id: int) -> bytes:
    return sim.get(f"id_record={record_id}&is_download=1")[2]


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def qa_client(client: Client, db: None) -> Client:
    client.force_login(make_user("qa", "Revisores de QA"))
    return client


# The upstream as the contract allows it to be: each audio test below runs against each.
UPSTREAM_MODES: dict[str, dict[str, Any]] = {
    "as-documented": {"content_type": "audio/mpeg"},
    "octet-stream": {"content_type": "application/octet-stream"},
    "no-length": {"content_length": False},
    "chunked": {"chunked": True},
    "ignores-range": {"honour_range": False},
    "chunked-ignoring-range": {"chunked": True, "honour_range": False},
    "no-length-ignoring-range": {"content_length": False, "honour_range": False},
}


@pytest.fixture(params=list(UPSTREAM_MODES))
def upstream(request: pytest.FixtureRequest, sim: SimulatorProcess) -> SimulatorProcess:
    """The simulator, switched to one way a real upstream may answer downloads."""
    sim.configure(**UPSTREAM_MODES[request.param])
    return sim


def _length_unknown_upstream(request: pytest.FixtureRequest) -> bool:
    """Whether this mode's upstream tells nobody the length before the body ends."""
    mode = UPSTREAM_MODES[request.node.callspec.params["upstream"]]
    return not mode.get("honour_range", True) and (
        mode.get("chunked", False) or not mode.get("content_length", True)
    )


# --- headers ---


def test_play_streams_the_whole_mp3_with_safe_headers(
    supervisor_client: Client, upstream: SimulatorProcess, request: pytest.FixtureRequest
) -> None:
    sim = upstream
    record = _recording(sim)
    response = supervisor_client.get(f"/recordings/{record['record_id']}/audio")
    body = _body(response)
    assert response.status_code == 200
    assert body == _raw(sim, record["record_id"])
    assert response["Content-Type"] == "audio/mpeg"  # the simulator says octet-stream
    if _length_unknown_upstream(request) and not response.has_header("Content-Length"):
        # A first play whose download is still running streams without a length nobody
        # knows yet; the next one comes from the cache and states it.
        response = supervisor_client.get(f"/recordings/{record['record_id']}/audio")
        assert _body(response) == body
    assert response["Content-Length"] == str(len(body))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"].startswith("inline; ")


def test_download_is_an_attachment_named_from_the_metadata(
    supervisor_client: Client, upstream: SimulatorProcess
) -> None:
    sim = upstream
    record = _recording(sim)
    response = supervisor_client.get(f"/recordings/{record['record_id']}/download")
    assert response.status_code == 200
    stamp = record["calldate"].replace(" ", "_").replace(":", "-")
    expected = f"{stamp}_{record['source']}_{record['destination']}_{record['record_id']}.mp3"
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'
    assert _body(response) == _raw(sim, record["record_id"])


def test_download_names_are_safe_for_every_os() -> None:
    from audio.streaming import download_filename

    recording = vono.parse_recording(
        {
            "record_id": 7,
            "calldate": "2026-09-30 22:32:42",
            "source": '../"ev<il>\\:*?|',
            "destination": "ramal 301/ä",
            "duration": 1,
        }
    )
    name = download_filename(recording)
    assert name == "2026-09-30_22-32-42_evil_ramal301_7.mp3"
    assert re.fullmatch(r"[A-Za-z0-9_+.-]+", name)


def test_content_type_is_audio_mpeg_whatever_upstream_says(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    sim.configure(content_type="text/html")
    record = _recording(sim)
    response = supervisor_client.get(f"/recordings/{record['record_id']}/audio")
    assert response["Content-Type"] == "audio/mpeg"


# --- access ---


def test_qa_may_play_but_not_download(qa_client: Client, sim: SimulatorProcess) -> None:
    record_id = _recording(sim)["record_id"]
    assert qa_client.get(f"/recordings/{record_id}/download").status_code == 403
    assert sim.stats()["requests"].get("download", 0) == 0
    assert qa_client.get(f"/recordings/{record_id}/audio").status_code == 200


def test_missing_recording_is_404_before_any_download(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get("/recordings/999999/audio")
    assert response.status_code == 404
    assert sim.stats()["requests"].get("download", 0) == 0


def test_listed_recording_without_a_file_is_unavailable(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record_id = _recording(sim)["record_id"]
    sim.fault("status", status=404, target="download")
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 404
    assert "Gravação indisponível" in response.content.decode()


# --- upstream failures ---


def test_silent_upstream_is_a_calm_504_not_a_hung_request(
    supervisor_client: Client, upstream: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_READ_TIMEOUT = 0.5
    record_id = _recording(upstream)["record_id"]
    upstream.fault("latency", target="download", seconds=2)
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 504
    assert "não respondeu a tempo" in response.content.decode()


def test_upstream_stalling_before_the_first_byte_asked_for_is_a_504(
    supervisor_client: Client, upstream: SimulatorProcess, settings: Any
) -> None:
    """Headers and a first chunk arrive, then nothing: the range asked lies beyond."""
    settings.VONO_READ_TIMEOUT = 0.3
    record_id = _recording(upstream)["record_id"]
    upstream.fault("slow", target="download", chunk=8192, seconds=1.5)
    response = supervisor_client.get(
        f"/recordings/{record_id}/audio", headers={"Range": "bytes=100000-"}
    )
    assert response.status_code == 504
    assert response["Content-Type"].startswith("text/html")


def test_body_cut_short_before_the_first_byte_asked_for_is_a_502(
    supervisor_client: Client, upstream: SimulatorProcess
) -> None:
    record = upstream.add_recording(duration=600, customer_id=3)
    size = len(_raw(upstream, record["record_id"]))
    upstream.fault("truncate", target="download", times=1)
    response = supervisor_client.get(
        f"/recordings/{record['record_id']}/audio", headers={"Range": f"bytes={size * 3 // 4}-"}
    )
    assert response.status_code == 502
    assert "não conseguimos entender" in response.content.decode()
    # And nothing of it was kept: the next play downloads it again, whole.
    whole = _body(supervisor_client.get(f"/recordings/{record['record_id']}/audio"))
    assert len(whole) == size


def test_reset_upstream_is_a_503(supervisor_client: Client, sim: SimulatorProcess) -> None:
    record_id = _recording(sim)["record_id"]
    sim.fault("reset", target="download")
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_truncated_upstream_body_aborts_the_response(
    supervisor_client: Client, upstream: SimulatorProcess
) -> None:
    # 15 minutes (3.6 MB), paced: the answer starts well before the cut.
    sim = upstream
    record_id = sim.add_recording(duration=900, customer_id=3)["record_id"]
    size = len(_raw(sim, record_id))
    sim.fault("truncate", target="download", chunk=256 * 1024, seconds=0.05)
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 200
    received = 0
    with pytest.raises(vono.VonoProtocolError):
        for chunk in response.streaming_content:
            received += len(chunk)
    assert 0 < received < size
    assert response.get("Content-Length") in (None, str(size))


def test_stalled_upstream_mid_stream_aborts(
    supervisor_client: Client, upstream: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_READ_TIMEOUT = 0.3
    record_id = _recording(upstream)["record_id"]
    upstream.fault("slow", target="download", chunk=8192, seconds=1.0)
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 200
    with pytest.raises(vono.VonoUnavailable):
        _body(response)


# --- Range ---

# (Range header, expected status, expected (first, last) or None for the whole body)
RANGE_CASES = [
    (None, 200, None),
    ("bytes=0-1", 206, (0, 1)),
    ("bytes=0-0", 206, (0, 0)),
    ("bytes=100-199", 206, (100, 199)),
    ("bytes=1000-", 206, (1000, "last")),
    ("bytes={last}-", 206, ("last", "last")),
    ("bytes=-500", 206, ("N-500", "last")),
    ("bytes=-{big}", 206, (0, "last")),
    ("bytes=0-{big}", 206, (0, "last")),
    ("BYTES=10-19", 206, (10, 19)),
    (" bytes=20-29 ", 206, (20, 29)),
    ("bytes={N}-", 416, None),
    ("bytes={big}-{bigger}", 416, None),
    ("bytes=-0", 416, None),
    ("bytes=abc", 200, None),
    ("bytes=5-1", 200, None),
    ("bytes=-", 200, None),
    ("items=0-10", 200, None),
    ("bytes=0-1,5-6", 200, None),
    ("bytes 0-10", 200, None),
    ("bytes=" + "9" * 5000 + "-", 416, None),
    ("bytes=" + "9" * 5000 + "-" + "9" * 5001, 416, None),
    ("bytes=0-" + "9" * 5000, 206, (0, "last")),
    ("bytes=-" + "9" * 5000, 206, (0, "last")),
    ("bytes=" + "0" * 5000 + "7-9", 206, (7, 9)),
    ("bytes=\u0663-", 200, None),  # an Arabic-Indic three: a digit to Python, not to HTTP
    ("bytes=-" + "9" * 5000 + "-", 200, None),
]


@pytest.mark.parametrize("path", ["audio", "download"])
@pytest.mark.parametrize(("header", "status", "span"), RANGE_CASES)
def test_range(
    supervisor_client: Client,
    upstream: SimulatorProcess,
    path: str,
    header: str | None,
    status: int,
    span: tuple[Any, Any] | None,
    request: pytest.FixtureRequest,
) -> None:
    sim = upstream
    record_id = _recording(sim)["record_id"]
    whole = _raw(sim, record_id)
    n = len(whole)
    values = {"N": n, "last": n - 1, "big": n + 1000, "bigger": n + 2000}
    headers = {"Range": header.format(**values)} if header else {}
    response = supervisor_client.get(f"/recordings/{record_id}/{path}", headers=headers)
    body = _body(response)
    assert response.status_code == status
    if status == 416:
        assert response["Content-Range"] == f"bytes */{n}"
        assert body == b""
    elif span is None:
        assert body == whole
        if not _length_unknown_upstream(request):  # else streamed as it came, length unknown
            assert response["Content-Length"] == str(n)
        assert not response.has_header("Content-Range")
    else:
        first, last = (n - 500 if v == "N-500" else n - 1 if v == "last" else v for v in span)
        assert response["Content-Range"] == f"bytes {first}-{last}/{n}"
        assert response["Content-Length"] == str(last - first + 1)
        assert body == whole[first : last + 1]


def test_seek_into_a_long_recording_whatever_the_upstream(
    supervisor_client: Client, upstream: SimulatorProcess
) -> None:
    sim = upstream
    record = sim.add_recording(duration=1800, customer_id=3)
    whole = _raw(sim, record["record_id"])
    first = len(whole) * 3 // 4
    response = supervisor_client.get(
        f"/recordings/{record['record_id']}/audio", headers={"Range": f"bytes={first}-"}
    )
    assert response.status_code == 206
    assert _body(response) == whole[first:]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-499", (0, 499)),
        ("bytes=500-", (500, None)),
        ("bytes=-500", (None, 500)),
        ("bytes=abc", None),
        ("bytes=1-0", None),
        ("bytes=0-1, 3-4", None),
        ("", None),
        (None, None),
        ("octets=0-1", None),
        ("bytes=" + "9" * 5000 + "-", (2**63, None)),
        ("bytes=²-", None),
    ],
)
def test_parse_range(header: str | None, expected: tuple[Any, Any] | None) -> None:
    parsed = ranges.parse_range(header)
    assert (None if parsed is None else (parsed.first, parsed.last)) == expected


# --- audit ---


def test_a_play_is_recorded_once_per_session_and_recording(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    first, second = _recording(sim)["record_id"], _recording(sim, 1)["record_id"]
    for header in ("bytes=0-", "bytes=1000-2000", "bytes=-100", None):
        headers = {"Range": header} if header else {}
        _body(supervisor_client.get(f"/recordings/{first}/audio", headers=headers))
    _body(supervisor_client.get(f"/recordings/{second}/audio"))
    plays = AuditEvent.objects.filter(action="play").order_by("id")
    assert [e.record_ids for e in plays] == [[first], [second]]
    event = plays[0]
    assert event.actor_username == "sup"
    assert event.ip == "127.0.0.1"
    assert len(event.request_id) == 32


def test_every_download_is_recorded(supervisor_client: Client, sim: SimulatorProcess) -> None:
    record = _recording(sim)
    for _ in range(2):
        _body(
            supervisor_client.get(
                f"/recordings/{record['record_id']}/download", HTTP_USER_AGENT="Firefox/140"
            )
        )
    downloads = AuditEvent.objects.filter(action="download")
    assert downloads.count() == 2
    assert {e.user_agent for e in downloads} == {"Firefox/140"}
    assert {e.customer_id for e in downloads} == {record["customer_id"]}


def test_a_failed_play_is_not_recorded_as_a_play(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record_id = _recording(sim)["record_id"]
    sim.fault("status", status=503, target="download")
    supervisor_client.get(f"/recordings/{record_id}/audio")
    assert not AuditEvent.objects.filter(action="play").exists()


# --- the waveform ---


def test_peaks_are_computed_once_and_cached(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record = sim.add_recording(duration=240, customer_id=3)  # long enough for 800 peaks
    first = supervisor_client.get(f"/recordings/{record['record_id']}/peaks.json").json()
    second = supervisor_client.get(f"/recordings/{record['record_id']}/peaks.json").json()
    assert first == second
    assert first["duration"] == record["duration"]
    assert len(first["peaks"]) == 800
    assert all(0.0 <= p <= 1.0 for p in first["peaks"])
    assert len(set(first["peaks"])) > 10, "speech and pauses, not a flat line"
    assert sim.stats()["requests"]["download"] == 1


def test_peaks_when_upstream_fails_is_a_json_503(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record_id = _recording(sim)["record_id"]
    sim.fault("status", status=503, target="download")
    response = supervisor_client.get(f"/recordings/{record_id}/peaks.json")
    assert response.status_code == 503
    assert response.json() == {"error": "upstream"}


# --- HEAD and If-Range ---


@pytest.mark.parametrize("path", ["audio", "download"])
@pytest.mark.parametrize(
    ("header", "status", "length", "content_range"),
    [
        (None, 200, "{n}", None),
        ("bytes=10-19", 206, "10", "bytes 10-19/{n}"),
        ("bytes=-100", 206, "100", "bytes {n_100}-{last}/{n}"),
        ("bytes={n}-", 416, "0", "bytes */{n}"),
    ],
)
def test_head_answers_like_get_without_a_body(
    supervisor_client: Client,
    upstream: SimulatorProcess,
    path: str,
    header: str | None,
    status: int,
    length: str,
    content_range: str | None,
) -> None:
    record_id = _recording(upstream)["record_id"]
    n = len(_raw(upstream, record_id))
    values = {"n": n, "last": n - 1, "n_100": n - 100}
    headers = {"Range": header.format(**values)} if header else {}
    response = supervisor_client.head(f"/recordings/{record_id}/{path}", headers=headers)
    assert response.status_code == status
    assert response["Content-Length"] == length.format(**values)
    expected_range = content_range.format(**values) if content_range else None
    assert response.get("Content-Range") == expected_range
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/mpeg"
    assert _body(response) == b""
    assert not AuditEvent.objects.filter(action__in=["play", "download"]).exists()


def test_head_is_refused_to_whom_get_is(qa_client: Client, sim: SimulatorProcess) -> None:
    record_id = _recording(sim)["record_id"]
    assert qa_client.head(f"/recordings/{record_id}/download").status_code == 403
    assert qa_client.head("/recordings/999999/audio").status_code == 404
    assert qa_client.post(f"/recordings/{record_id}/audio").status_code == 405


def _validators(client: Client, record_id: int) -> tuple[str, str]:
    response = client.head(f"/recordings/{record_id}/audio")
    return response["ETag"], response["Last-Modified"]


@pytest.mark.parametrize(
    ("if_range", "honoured"),
    [
        ("{etag}", True),
        ("{last_modified}", True),
        ('"vono-1-1"', False),
        ("W/{etag}", False),
        ("Tue, 01 Jan 2002 00:00:00 GMT", False),
        ("not a date", False),
        ('"' + "x" * 5000, False),
    ],
)
def test_if_range(
    supervisor_client: Client, upstream: SimulatorProcess, if_range: str, honoured: bool
) -> None:
    record_id = _recording(upstream)["record_id"]
    whole = _raw(upstream, record_id)
    etag, last_modified = _validators(supervisor_client, record_id)
    assert etag.startswith('"') and not etag.startswith("W/")
    value = if_range.format(etag=etag, last_modified=last_modified)
    response = supervisor_client.get(
        f"/recordings/{record_id}/audio", headers={"Range": "bytes=5-9", "If-Range": value}
    )
    if honoured:
        assert response.status_code == 206
        assert _body(response) == whole[5:10]
    else:
        assert response.status_code == 200
        assert _body(response) == whole


def test_if_range_without_range_is_ignored(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record_id = _recording(sim)["record_id"]
    etag, _ = _validators(supervisor_client, record_id)
    response = supervisor_client.get(f"/recordings/{record_id}/audio", headers={"If-Range": etag})
    assert response.status_code == 200
    assert _body(response) == _raw(sim, record_id)
