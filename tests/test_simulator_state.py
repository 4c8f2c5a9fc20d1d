"""The simulator as a real upstream behaves across restarts, and its capped-limit switch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import environment
from tests.simulator import SimulatorProcess


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "vonosim-state.json"


@pytest.fixture
def started() -> Iterator[list[SimulatorProcess]]:
    processes: list[SimulatorProcess] = []
    yield processes
    for process in processes:
        if process._process.poll() is None:
            process.stop()


def _start(started: list[SimulatorProcess], *args: str) -> SimulatorProcess:
    process = SimulatorProcess(
        port=environment._free_port(), token=environment.TOKEN, key=environment.KEY, args=args
    )
    started.append(process)
    return process


def _delete(sim: SimulatorProcess, ids: list[int]) -> dict[str, object]:
    query = "type=id&" + "&".join(f"ids[]={i}" for i in ids)
    status, _, body = sim.get(query, method="DELETE")
    assert status == 200
    result: dict[str, object] = json.loads(body)
    return result


def test_deleted_recordings_stay_deleted_after_a_crash(
    state_file: Path, started: list[SimulatorProcess]
) -> None:
    sim = _start(started, "--state", str(state_file))
    ids = [r["record_id"] for r in sim.list("limit=3")["data"]]
    assert _delete(sim, ids)["deleted"] == 3
    sim.kill()

    again = _start(started, "--state", str(state_file))
    assert again.list("limit=1")["total_records"] == 2397
    for record_id in ids:
        assert again.list(f"id_record={record_id}")["total_records"] == 0
    status, _, _ = again.get(f"id_record={ids[0]}&is_download=1")
    assert status == 404


def test_ids_are_never_given_out_twice(state_file: Path, started: list[SimulatorProcess]) -> None:
    sim = _start(started, "--state", str(state_file))
    added = sim.add_recording(duration=60)
    assert added["record_id"] == 12401
    assert _delete(sim, [added["record_id"]])["deleted"] == 1
    sim.kill()

    again = _start(started, "--state", str(state_file))
    assert again.add_recording(duration=60)["record_id"] == 12402, "not the deleted 12401"
    kept = again.add_recording(duration=90)
    again.stop()
    third = _start(started, "--state", str(state_file))
    assert third.list(f"id_record={kept['record_id']}")["data"][0]["duration"] == 90


def test_without_a_state_file_a_restart_starts_over(started: list[SimulatorProcess]) -> None:
    sim = _start(started)
    _delete(sim, [sim.list("limit=1")["data"][0]["record_id"]])
    sim.kill()
    assert _start(started).list("limit=1")["total_records"] == 2400


def test_a_reset_brings_the_demo_data_back_but_not_old_ids(
    state_file: Path, started: list[SimulatorProcess]
) -> None:
    sim = _start(started, "--state", str(state_file))
    added = sim.add_recording(duration=60)
    sim.reset()
    assert sim.list("limit=1")["total_records"] == 2400
    assert sim.add_recording(duration=60)["record_id"] == added["record_id"] + 1


def test_the_state_file_is_never_half_written(
    state_file: Path, started: list[SimulatorProcess]
) -> None:
    sim = _start(started, "--state", str(state_file))
    for record in sim.list("limit=20")["data"]:
        _delete(sim, [record["record_id"]])
        json.loads(state_file.read_text())  # readable after every change
    assert not [p for p in state_file.parent.iterdir() if p.name.startswith(".vonosim-")]


def test_the_capped_limit_switch(started: list[SimulatorProcess]) -> None:
    sim = _start(started, "--max-limit", "50")
    page = sim.list("limit=100&start=100")
    assert (page["limit"], page["offset"], len(page["data"])) == (50, 100, 50)
    sim.reset()
    assert sim.list("limit=100")["limit"] == 50, "a reset keeps the switch it started with"
    assert sim.configure(max_limit=20)["max_limit"] == 20
    assert len(sim.list("limit=100")["data"]) == 20
