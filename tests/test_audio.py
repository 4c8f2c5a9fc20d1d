"""Play and download: access before the first upstream byte, headers, Range, failures, audit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from recordings import streaming, vono
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


# --- headers ---


def test_play_streams_the_whole_mp3_with_safe_headers(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record = _recording(sim)
    response = supervisor_client.get(f"/recordings/{record['record_id']}/audio")
    body = _body(response)
    assert response.status_code == 200
    assert body == _raw(sim, record["record_id"])
    assert response["Content-Type"] == "audio/mpeg"  # the simulator says octet-stream
    assert response["Content-Length"] == str(len(body))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"].startswith("inline; ")


def test_download_is_an_attachment_named_from_the_metadata(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record = _recording(sim)
    response = supervisor_client.get(f"/recordings/{record['record_id']}/download")
    assert response.status_code == 200
    stamp = record["calldate"].replace(" ", "_").replace(":", "-")
    expected = f"{stamp}_{record['source']}_{record['destination']}_{record['record_id']}.mp3"
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'
    assert _body(response) == _raw(sim, record["record_id"])


def test_download_names_are_safe_for_every_os() -> None:
    from recordings.views import download_filename

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


def test_slow_upstream_is_a_503_not_a_hung_request(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_READ_TIMEOUT = 0.5
    record_id = _recording(sim)["record_id"]
    sim.fault("latency", target="download", seconds=2)
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_reset_upstream_is_a_503(supervisor_client: Client, sim: SimulatorProcess) -> None:
    record_id = _recording(sim)["record_id"]
    sim.fault("reset", target="download")
    assert supervisor_client.get(f"/recordings/{record_id}/audio").status_code == 503


def test_truncated_upstream_body_aborts_the_response(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    # 15 minutes (3.6 MB): several relay chunks arrive before the cut.
    record_id = sim.add_recording(duration=900, customer_id=3)["record_id"]
    sim.fault("truncate", target="download")
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 200
    received = 0
    with pytest.raises(vono.VonoProtocolError):
        for chunk in response.streaming_content:
            received += len(chunk)
    assert 0 < received < int(response["Content-Length"])


def test_stalled_upstream_mid_stream_aborts(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_READ_TIMEOUT = 0.3
    record_id = _recording(sim)["record_id"]
    sim.fault("slow", target="download", chunk=8192, seconds=1.0)
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
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
]


@pytest.mark.parametrize("honoured", [True, False], ids=["upstream-honours", "upstream-ignores"])
@pytest.mark.parametrize(("header", "status", "span"), RANGE_CASES)
def test_range(
    supervisor_client: Client,
    sim: SimulatorProcess,
    honoured: bool,
    header: str | None,
    status: int,
    span: tuple[Any, Any] | None,
) -> None:
    sim.configure(honour_range=honoured)
    record_id = _recording(sim)["record_id"]
    whole = _raw(sim, record_id)
    n = len(whole)
    values = {"N": n, "last": n - 1, "big": n + 1000, "bigger": n + 2000}
    headers = {"Range": header.format(**values)} if header else {}
    response = supervisor_client.get(f"/recordings/{record_id}/audio", headers=headers)
    body = _body(response)
    assert response.status_code == status
    if status == 416:
        assert response["Content-Range"] == f"bytes */{n}"
        assert body == b""
    elif span is None:
        assert body == whole
        assert response["Content-Length"] == str(n)
        assert not response.has_header("Content-Range")
    else:
        first, last = (n - 500 if v == "N-500" else n - 1 if v == "last" else v for v in span)
        assert response["Content-Range"] == f"bytes {first}-{last}/{n}"
        assert response["Content-Length"] == str(last - first + 1)
        assert body == whole[first : last + 1]


def test_seek_into_a_long_recording_when_upstream_ignores_range(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    sim.configure(honour_range=False)
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
    ],
)
def test_parse_range(header: str | None, expected: tuple[Any, Any] | None) -> None:
    parsed = streaming.parse_range(header)
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
