"""The client against the simulator over a real socket: every parameter, every field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from recordings import vono
from tests import environment
from tests.simulator import SimulatorProcess

VENDOR_DOCUMENT = (
    Path(__file__).resolve().parents[2] / "shared" / "vono-api" / "vono-recording-api.pt.txt"
)
# The example block of that document, copied so the suite runs in a clone without shared/.
VENDOR_EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "vendor-example.pt.txt"


def _published_example() -> str:
    """The JSON example exactly as the vendor's document prints it (typographic quotes)."""
    return VENDOR_EXAMPLE.read_text(encoding="utf-8").rstrip("\n")


def test_the_copied_example_is_the_vendors(tmp_path: Path) -> None:
    if not VENDOR_DOCUMENT.is_file():
        pytest.skip(f"the vendor's document is not beside this clone ({VENDOR_DOCUMENT})")
    lines = VENDOR_DOCUMENT.read_text(encoding="utf-8").splitlines()
    first = lines.index("{")
    last = max(i for i, line in enumerate(lines) if line == "}")
    assert "\n".join(lines[first : last + 1]) == _published_example()


def _client(**options: Any) -> vono.VonoClient:
    return vono.VonoClient(
        base_url=f"http://127.0.0.1:{environment.SIM_PORT}/api",
        token=environment.TOKEN,
        key=environment.KEY,
        **options,
    )


def _raw(sim: SimulatorProcess, **params: Any) -> dict[str, Any]:
    customer = params.pop("customer_id", None)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return sim.list(query, path=f"/{customer}" if customer else "")


def _assert_same(recording: vono.Recording, raw: dict[str, Any]) -> None:
    assert recording.record_id == raw["record_id"]
    assert recording.customer_id == raw["customer_id"]
    assert recording.calldate.strftime("%Y-%m-%d %H:%M:%S") == raw["calldate"]
    assert recording.calldate.utcoffset() == dt.timedelta(hours=-3)
    assert recording.clid == raw["clid"]
    assert recording.source == raw["source"]
    assert recording.destination == raw["destination"]
    assert recording.duration == raw["duration"]
    assert recording.duration_text == raw["duration2"]
    assert recording.size_text == raw["size"]
    assert recording.size == vono.parse_size(raw["size"])


def test_the_vendors_example_as_published_is_a_clear_protocol_error(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    sim.fault("body", body=_published_example(), target="list")
    with pytest.raises(vono.VonoProtocolError, match="not valid JSON"):
        client_vono.list_recordings(vono.RecordingFilter())


def test_the_vendors_example_with_plain_quotes_parses_exactly(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    body = _published_example()
    for quote in "“”″":
        body = body.replace(quote, '"')
    sim.fault("body", body=body, target="list")
    page = client_vono.list_recordings(vono.RecordingFilter(), limit=1)
    assert page.total_records == 539
    assert page.total_time == 89207
    assert page.total_time_text == "1.486 min 47 seg"
    assert page.total_size == round(333.95 * 1024**2)
    assert page.total_size_text == "333,95 Mb"
    assert (page.limit, page.offset, len(page.recordings)) == (1, 0, 1)
    assert page.recordings[0] == vono.Recording(
        record_id=1976,
        customer_id=3,
        calldate=dt.datetime(2018, 3, 14, 14, 3, 46, tzinfo=vono.SAO_PAULO),
        clid="sup9001",
        source="sup9001",
        destination="9003",
        duration=68,
        duration_text="1 min 08 seg",
        size=round(267.86 * 1024),
        size_text="267,86 Kb",
    )


def test_list_without_filters_matches_the_simulator(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    page = client_vono.list_recordings(vono.RecordingFilter(), start=0, limit=25)
    raw = _raw(sim, start=0, limit=25)
    assert page.total_records == raw["total_records"] == 2400
    assert page.total_time == raw["total_time"]
    assert page.total_time_text == raw["total_time_text"]
    assert page.total_size_text == raw["total_size"]
    assert page.total_size == vono.parse_size(raw["total_size"])
    assert (page.limit, page.offset) == (raw["limit"], raw["offset"])
    assert len(page.recordings) == raw["records"] == 25
    for recording, item in zip(page.recordings, raw["data"], strict=True):
        _assert_same(recording, item)


@pytest.mark.parametrize(
    "filters",
    [
        {"date_ini": -7, "date_end": 0},
        {"date_ini": -3, "date_end": -1, "time_ini": "09:30:00", "time_end": "17:45:10"},
        {"date_ini": -10},
        {"date_end": -50},
        {"customer_id": 12},
        {"customer_id": 21, "date_ini": -20, "date_end": -5},
    ],
)
def test_every_filter_reaches_the_simulator(
    sim: SimulatorProcess, client_vono: vono.VonoClient, filters: dict[str, Any]
) -> None:
    today = dt.date.today()
    kwargs: dict[str, Any] = {}
    raw_params: dict[str, Any] = {}
    for name, value in filters.items():
        if name.startswith("date"):
            kwargs[name] = today + dt.timedelta(days=value)
            raw_params[name] = kwargs[name].isoformat()
        elif name.startswith("time"):
            kwargs[name] = dt.time.fromisoformat(value)
            raw_params[name] = value
        else:
            kwargs[name] = raw_params[name] = value
    page = client_vono.list_recordings(vono.RecordingFilter(**kwargs), start=5, limit=40)
    raw = _raw(sim, start=5, limit=40, **raw_params)
    assert page.total_records == raw["total_records"] > 0
    assert page.total_time == raw["total_time"]
    assert [r.record_id for r in page.recordings] == [r["record_id"] for r in raw["data"]]
    assert page.offset == 5


def test_id_record_lists_one(sim: SimulatorProcess, client_vono: vono.VonoClient) -> None:
    item = _raw(sim, limit=1, start=17)["data"][0]
    page = client_vono.list_recordings(vono.RecordingFilter(id_record=item["record_id"]))
    assert page.total_records == 1
    _assert_same(page.recordings[0], item)


def test_a_capped_limit_is_reported_as_returned(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    sim.configure(max_limit=30)
    page = client_vono.list_recordings(vono.RecordingFilter(), limit=100)
    assert page.limit == 30
    assert len(page.recordings) == 30


def test_iter_recordings_pages_through_everything(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    sim.configure(max_limit=70)  # smaller than asked: paging must follow what came back
    seen = [
        r.record_id
        for r in client_vono.iter_recordings(vono.RecordingFilter(customer_id=12), page_size=100)
    ]
    raw_total = _raw(sim, customer_id=12, limit=1)["total_records"]
    assert len(seen) == len(set(seen)) == raw_total
    assert sim.stats()["requests"]["list"] >= raw_total // 70 + 1


def test_get_recording(sim: SimulatorProcess, client_vono: vono.VonoClient) -> None:
    item = _raw(sim, limit=1, start=3)["data"][0]
    _assert_same(client_vono.get_recording(item["record_id"]), item)
    _assert_same(
        client_vono.get_recording(item["record_id"], customer_id=item["customer_id"]), item
    )


def test_get_recording_of_another_subscriber_is_not_found(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    item = _raw(sim, limit=1, customer_id=7)["data"][0]
    with pytest.raises(vono.VonoNotFound):
        client_vono.get_recording(item["record_id"], customer_id=3)
    with pytest.raises(vono.VonoNotFound):
        client_vono.get_recording(987654)


def test_open_recording_streams_the_mp3(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    item = _raw(sim, limit=1)["data"][0]
    _, _, expected = sim.get(f"id_record={item['record_id']}&is_download=1")
    with client_vono.open_recording(item["record_id"], chunk_size=8192) as stream:
        assert stream.status == 200
        assert stream.content_length == len(expected)
        body = b"".join(stream.chunks)
    assert body == expected


def test_open_recording_forwards_range(sim: SimulatorProcess, client_vono: vono.VonoClient) -> None:
    item = _raw(sim, limit=1)["data"][0]
    with client_vono.open_recording(item["record_id"], range_header="bytes=100-199") as stream:
        assert stream.status == 206
        assert stream.content_range is not None
        assert stream.content_range.startswith("bytes 100-199/")
        assert len(b"".join(stream.chunks)) == 100


def test_open_missing_recording_is_not_found(client_vono: vono.VonoClient) -> None:
    with pytest.raises(vono.VonoNotFound), client_vono.open_recording(424242):
        pass


def test_delete_ids(sim: SimulatorProcess, client_vono: vono.VonoClient) -> None:
    ids = [r["record_id"] for r in _raw(sim, limit=3)["data"]]
    result = client_vono.delete_ids(ids)
    assert result.deleted == 3
    assert result.ids == tuple(ids)
    assert sim.stats()["delete_calls"] == [ids]
    assert client_vono.list_recordings(vono.RecordingFilter()).total_records == 2397


def test_delete_ids_in_another_subscriber_deletes_nothing(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    record_id = _raw(sim, limit=1, customer_id=7)["data"][0]["record_id"]
    result = client_vono.delete_ids([record_id], customer_id=3)
    assert result.deleted == 0
    client_vono.get_recording(record_id)


def test_delete_by_filter(sim: SimulatorProcess, client_vono: vono.VonoClient) -> None:
    day = dt.date.today() - dt.timedelta(days=2)
    before = client_vono.list_recordings(vono.RecordingFilter(date_ini=day, date_end=day))
    result = client_vono.delete_by_filter(date_ini=day, date_end=day, limit=2)
    assert result.deleted == 2
    after = client_vono.list_recordings(vono.RecordingFilter(date_ini=day, date_end=day))
    assert after.total_records == before.total_records - 2


def test_portal_wide_subscriber_limits_everything(sim: SimulatorProcess) -> None:
    scoped = _client(customer_id=21)
    page = scoped.list_recordings(vono.RecordingFilter(), limit=50)
    assert {r.customer_id for r in page.recordings} == {21}
    requests_before = sim.stats()["requests"].get("list", 0)
    assert scoped.list_recordings(vono.RecordingFilter(customer_id=3)).total_records == 0
    assert sim.stats()["requests"].get("list", 0) == requests_before, "no upstream call"


def test_repr_hides_the_credentials() -> None:
    client = _client()
    assert environment.TOKEN not in repr(client)
    assert environment.KEY not in f"{client!r} {client!s}"


def test_an_upstream_that_ignores_start_is_a_protocol_error_not_a_loop(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    record = _raw(sim, limit=1)["data"][0]
    body = json.dumps(
        {
            "error": 0,
            "total_records": 5000,
            "total_time": 10,
            "limit": 1,
            "offset": 0,
            "records": 1,
            "data": [record],
        }
    )
    sim.fault("body", body=body, target="list")
    assert client_vono.list_recordings(vono.RecordingFilter(), start=0, limit=1).offset == 0
    with pytest.raises(vono.VonoProtocolError, match="offset 0 when asked for 1"):
        list(client_vono.iter_recordings(vono.RecordingFilter(), page_size=1))
