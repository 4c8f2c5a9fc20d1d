"""Clients that hang up mid-stream must not leave upstream connections behind."""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from accounts.roles import ensure_groups
from tests.conftest import make_user
from tests.simulator import SimulatorProcess


def _established_to(port: int) -> int:
    """Open TCP connections on this machine whose far end is ``port`` (from /proc/net)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]  # noqa: SIM115
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01":  # 01: ESTABLISHED
                count += 1
    return count


def _hang_up_after_some_bytes(host: str, port: int, path: str, cookie: str) -> int:
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n"
            "Range: bytes=0-\r\n\r\n".encode()
        )
        received = 0
        while received < 20_000:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += len(chunk)
        return received


def test_200_aborted_streams_leave_no_upstream_connection_open(
    live_server: Any, sim: SimulatorProcess, transactional_db: None
) -> None:
    ensure_groups()
    client = Client()
    client.force_login(make_user("listener", "Revisores de QA"))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    record = sim.add_recording(duration=1800, customer_id=3)  # 7 MB: far from done at 20 KB
    address = urlsplit(live_server.url)
    for _ in range(200):
        received = _hang_up_after_some_bytes(
            address.hostname, address.port, f"/recordings/{record['record_id']}/audio", cookie
        )
        assert received >= 20_000
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sim.stats()["active_downloads"] == 0 and _established_to(sim.port) == 0:
            break
        time.sleep(0.1)
    assert sim.stats()["active_downloads"] == 0
    assert _established_to(sim.port) == 0
    assert sim.stats()["requests"]["download"] == 200


def _wait_for_idle(sim: SimulatorProcess) -> int:
    deadline = time.monotonic() + 5
    while sim.stats()["active_downloads"] and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(sim.stats()["active_downloads"])


def test_closing_a_body_releases_the_upstream_at_once(sim: SimulatorProcess) -> None:
    """Even if it was never iterated, while everything is still referenced (so no garbage
    collector can quietly do the work that close() must do)."""
    from contextlib import ExitStack

    from recordings import streaming, vono

    record = sim.add_recording(duration=1800, customer_id=3)
    held = []
    for iterate in (False, True):
        stack = ExitStack()
        stream = stack.enter_context(vono.get_client().open_recording(record["record_id"]))
        body = streaming.UpstreamBody(
            stack, stream, streaming.plan_response(None, stream), record_id=record["record_id"]
        )
        if iterate:
            next(body)
            assert sim.stats()["active_downloads"] == 1
        body.close()
        held.append((stack, stream, body))
        assert _wait_for_idle(sim) == 0
        assert _established_to(sim.port) == 0
