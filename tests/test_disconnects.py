"""Clients that hang up mid-stream leave nothing behind: no upstream connection, no open
cache file, no stream place."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from accounts.roles import ensure_groups
from audio import streams
from recordings import vono
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


def _open_cache_files(directory: str) -> int:
    """This process's open file descriptors inside the audio cache directory."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith(directory):
                count += 1
    return count


def test_200_aborted_streams_leave_nothing_open(
    live_server: Any, sim: SimulatorProcess, transactional_db: None, settings: Any
) -> None:
    ensure_groups()
    held = streams.in_use()  # places of responses earlier tests never read to the end
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
        if (
            sim.stats()["active_downloads"] == 0
            and _established_to(sim.port) == 0
            and streams.in_use() == held
            and _open_cache_files(str(settings.AUDIO_CACHE_DIR)) == 0
        ):
            break
        time.sleep(0.1)
    assert sim.stats()["active_downloads"] == 0
    assert _established_to(sim.port) == 0
    assert streams.in_use() == held, "every stream place was given back"
    assert _open_cache_files(str(settings.AUDIO_CACHE_DIR)) == 0
    # One download served all 200 listeners, and it was kept whole.
    assert sim.stats()["requests"]["download"] == 1
    cached = Path(settings.AUDIO_CACHE_DIR) / f"{record['record_id']}.mp3"
    assert cached.stat().st_size == len(
        sim.get(f"id_record={record['record_id']}&is_download=1")[2]
    )


def test_closing_a_body_gives_back_the_file_and_the_place(
    sim: SimulatorProcess, rf: Any, settings: Any, db: None
) -> None:
    """Even if it was never iterated, while everything is still referenced (so no garbage
    collector can quietly do the work that close() must do)."""
    from audio import streaming

    record = sim.add_recording(duration=1800, customer_id=3)
    recording = vono.get_client().get_recording(record["record_id"])
    user = make_user("sup", "Supervisores")
    held = streams.in_use()
    responses = []
    for header in ("bytes=0-", "bytes=100-", None):
        request = rf.get("/", headers={"Range": header} if header else {})
        request.user = user
        slot = streams.claim()
        assert slot is not None
        response = streaming.recording_response(request, recording, attachment=False, slot=slot)
        if header == "bytes=100-":
            next(iter(response))
        assert streams.in_use() == held + 1
        response.close()
        responses.append(response)
        assert streams.in_use() == held
        # The download itself (its lock and part file) runs on for the cache, then ends.
        deadline = time.monotonic() + 10
        while _open_cache_files(str(settings.AUDIO_CACHE_DIR)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _open_cache_files(str(settings.AUDIO_CACHE_DIR)) == 0
