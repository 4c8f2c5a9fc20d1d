"""Every fault the simulator injects becomes the right exception, with a readable message."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from recordings import vono
from recordings.redaction import MASK
from tests import environment
from tests.simulator import SimulatorProcess

EVERYTHING = vono.RecordingFilter()


def _client(port: int | None = None, **options: Any) -> vono.VonoClient:
    options.setdefault("backoff", 0.01)
    return vono.VonoClient(
        base_url=f"http://127.0.0.1:{port or environment.SIM_PORT}/api",
        token=environment.TOKEN,
        key=environment.KEY,
        **options,
    )


def _requests(sim: SimulatorProcess, target: str) -> int:
    return int(sim.stats()["requests"].get(target, 0))


def _first_id(sim: SimulatorProcess) -> int:
    return int(sim.list("limit=1")["data"][0]["record_id"])


def test_latency_within_the_timeout_is_fine(sim: SimulatorProcess) -> None:
    sim.fault("latency", seconds=0.2)
    assert _client(read_timeout=2).list_recordings(EVERYTHING).total_records == 2400


def test_latency_past_the_timeout_is_unavailable_and_not_retried(sim: SimulatorProcess) -> None:
    sim.fault("latency", seconds=1.0)
    with pytest.raises(vono.VonoUnavailable) as caught:
        _client(read_timeout=0.3).list_recordings(EVERYTHING)
    assert str(caught.value) == "The Vono API did not answer within 0.3 s"
    assert _requests(sim, "list") == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_then_unavailable(sim: SimulatorProcess, status: int) -> None:
    sim.fault("status", status=status)
    with pytest.raises(vono.VonoUnavailable) as caught:
        _client(retries=2).list_recordings(EVERYTHING)
    assert str(caught.value) == f"The Vono API answered HTTP {status}"
    assert _requests(sim, "list") == 3


def test_one_503_is_absorbed_by_a_retry(sim: SimulatorProcess) -> None:
    sim.fault("status", status=503, times=1)
    assert _client().list_recordings(EVERYTHING).total_records == 2400
    assert _requests(sim, "list") == 2


def test_500_is_unavailable_without_retry(sim: SimulatorProcess) -> None:
    sim.fault("status", status=500)
    with pytest.raises(vono.VonoUnavailable, match="HTTP 500"):
        _client().list_recordings(EVERYTHING)
    assert _requests(sim, "list") == 1


def test_error_1_is_rejected_with_the_reason(sim: SimulatorProcess) -> None:
    sim.fault("error", reason="Limite de consultas excedido")
    with pytest.raises(vono.VonoRejected) as caught:
        _client().list_recordings(EVERYTHING)
    assert caught.value.reason == "Limite de consultas excedido"
    assert str(caught.value) == "The Vono API refused the request: Limite de consultas excedido"


def test_bad_parameters_are_rejected_with_the_upstream_reason(sim: SimulatorProcess) -> None:
    with pytest.raises(vono.VonoRejected, match="Data inicial maior que a data final"):
        _client().list_recordings(
            vono.RecordingFilter(
                date_ini=vono.dt.date(2026, 2, 2), date_end=vono.dt.date(2026, 2, 1)
            )
        )


def test_bad_credentials_are_rejected(sim: SimulatorProcess) -> None:
    client = vono.VonoClient(base_url=f"{sim.base}/api", token="nope", key="nope")
    with pytest.raises(vono.VonoRejected, match="Token ou chave"):
        client.list_recordings(EVERYTHING)


def test_wrong_path_prefix_says_to_check_the_base_url(sim: SimulatorProcess) -> None:
    client = vono.VonoClient(
        base_url=f"{sim.base}/wrong/prefix", token=environment.TOKEN, key=environment.KEY
    )
    with pytest.raises(vono.VonoProtocolError, match="VONO_BASE_URL"):
        client.list_recordings(EVERYTHING)


def test_malformed_json_is_a_protocol_error(sim: SimulatorProcess) -> None:
    sim.fault("malformed")
    with pytest.raises(vono.VonoProtocolError, match="not valid JSON"):
        _client().list_recordings(EVERYTHING)


def test_truncated_list_is_a_protocol_error(sim: SimulatorProcess) -> None:
    sim.fault("truncate", target="list")
    with pytest.raises(vono.VonoProtocolError, match="cut short"):
        _client().list_recordings(EVERYTHING)


def test_reset_every_time_is_unavailable_after_retries(sim: SimulatorProcess) -> None:
    sim.fault("reset", target="list")
    with pytest.raises(vono.VonoUnavailable) as caught:
        _client(retries=2).list_recordings(EVERYTHING)
    assert str(caught.value) == "Could not reach the Vono API (connection reset)"
    assert _requests(sim, "list") == 3


def test_one_reset_is_absorbed_by_a_retry(sim: SimulatorProcess) -> None:
    sim.fault("reset", target="list", times=1)
    assert _client().list_recordings(EVERYTHING).total_records == 2400
    assert _requests(sim, "list") == 2


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(vono.VonoUnavailable) as caught:
            _client(port, retries=1).list_recordings(EVERYTHING)
    assert str(caught.value) == "Could not reach the Vono API (connection refused)"


def test_slow_stream_within_the_timeout_arrives_whole(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    _, _, expected = sim.get(f"id_record={record_id}&is_download=1")
    sim.fault("slow", target="download", chunk=32 * 1024, seconds=0.01)
    with _client().open_recording(record_id) as stream:
        assert b"".join(stream.chunks) == expected


def test_stalled_stream_is_unavailable(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    sim.fault("slow", target="download", chunk=1024, seconds=1.0)
    with _client(read_timeout=0.3).open_recording(record_id) as stream:
        with pytest.raises(vono.VonoUnavailable, match="stopped sending"):
            b"".join(stream.chunks)


def test_truncated_download_raises_instead_of_ending_cleanly(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    sim.fault("truncate", target="download")
    received = 0
    with _client().open_recording(record_id, chunk_size=4096) as stream:
        assert stream.content_length
        with pytest.raises(vono.VonoProtocolError, match="cut short"):
            for chunk in stream.chunks:
                received += len(chunk)
    assert 0 < received < stream.content_length


def test_download_503_is_unavailable(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    sim.fault("status", status=503, target="download")
    with pytest.raises(vono.VonoUnavailable, match="HTTP 503"):
        with _client().open_recording(record_id):
            pass


def test_download_reset_is_unavailable(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    sim.fault("reset", target="download")
    with pytest.raises(vono.VonoUnavailable, match="connection reset"):
        with _client().open_recording(record_id):
            pass


# --- DELETE is never retried -----------------------------------------------------------------


def test_delete_503_is_sent_once(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    sim.fault("status", status=503, target="delete")
    with pytest.raises(vono.VonoUnavailable, match="HTTP 503"):
        _client(retries=3).delete_ids([record_id])
    assert _requests(sim, "delete") == 1


def test_delete_reset_is_outcome_unknown_and_sent_once(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    sim.fault("reset", target="delete")
    with pytest.raises(vono.VonoOutcomeUnknown, match="may or may not"):
        _client(retries=3).delete_ids([record_id])
    assert _requests(sim, "delete") == 1


def test_delete_timeout_is_outcome_unknown_though_it_happened(sim: SimulatorProcess) -> None:
    record_id = _first_id(sim)
    sim.fault("latency", target="delete", seconds=1.0)
    with pytest.raises(vono.VonoOutcomeUnknown) as caught:
        _client(read_timeout=0.3, retries=3).delete_ids([record_id])
    assert "within 0.3 s" in str(caught.value)
    assert sim.stats()["delete_calls"] == [[record_id]]
    with pytest.raises(vono.VonoNotFound):
        _client().get_recording(record_id)


def test_delete_to_a_closed_port_is_unavailable_not_unknown() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        with pytest.raises(vono.VonoUnavailable) as caught:
            _client(sock.getsockname()[1], retries=3).delete_ids([1])
    assert not isinstance(caught.value, vono.VonoOutcomeUnknown)


def test_delete_error_1_is_rejected(sim: SimulatorProcess) -> None:
    sim.fault("error", target="delete", reason="Operação não permitida")
    with pytest.raises(vono.VonoRejected, match="Operação não permitida"):
        _client().delete_ids([1])


# --- no secrets in what failures produce ---


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("status", {"status": 503}),
        ("reset", {}),
        ("malformed", {}),
        ("truncate", {}),
        ("error", {}),
        ("latency", {"seconds": 0.6}),
    ],
)
def test_failures_never_show_the_url(
    sim: SimulatorProcess, kind: str, options: dict[str, Any]
) -> None:
    sim.fault(kind, **options)
    with pytest.raises(vono.VonoError) as caught:
        _client(read_timeout=0.3).list_recordings(EVERYTHING)
    text = f"{caught.value!s} {caught.value!r}"
    assert environment.TOKEN not in text and environment.KEY not in text
    assert "http" not in text and "/recording/" not in text
    exc = caught.value
    assert exc.__context__ is None or exc.__suppress_context__, "no requests exception chained"


def test_urllib3_log_lines_are_masked(
    sim: SimulatorProcess, caplog: pytest.LogCaptureFixture
) -> None:
    sim.fault("status", status=503, times=1)
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        _client().list_recordings(EVERYTHING)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any("/recording/" in line and MASK in line for line in lines), lines
    assert not any(environment.TOKEN in line or environment.KEY in line for line in lines)
