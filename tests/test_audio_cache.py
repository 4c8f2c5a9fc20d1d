"""The audio cache: one download per recording, shared by processes, bounded, purged,
never a way around scope, and playing before its download ends."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from accounts.roles import ensure_groups
from audio import cache as audio_cache
from audio.cache import AudioCache, get_cache
from deletions import services as deletions
from tests import cache_worker
from tests.conftest import make_user
from tests.simulator import SimulatorProcess


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _raw(sim: SimulatorProcess, record_id: int) -> bytes:
    return sim.get(f"id_record={record_id}&is_download=1")[2]


def _downloads(sim: SimulatorProcess) -> int:
    return int(sim.stats()["requests"].get("download", 0))


def _settle(cache_dir: Path, record_id: int) -> None:
    """Wait for a download to finish landing in the cache."""
    deadline = time.monotonic() + 20
    while not (cache_dir / f"{record_id}.mp3").exists():
        assert time.monotonic() < deadline, "the download did not finish"
        time.sleep(0.02)


# --- one download, several listeners ----------------------------------------------------


def test_playback_starts_before_the_first_download_ends(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    sim.configure(chunked=True, honour_range=False)  # no length, no Range: the worst case
    record = sim.add_recording(duration=1800, customer_id=3)  # 7.2 MB
    whole = _raw(sim, record["record_id"])
    # 64 KB every 50 ms: the whole recording takes about 5.6 s to arrive.
    sim.fault("slow", target="download", chunk=64 * 1024, seconds=0.05)
    began = time.monotonic()
    response = supervisor_client.get(f"/recordings/{record['record_id']}/audio")
    stream = iter(response.streaming_content)
    first = next(stream)
    assert time.monotonic() - began < 2
    assert first == whole[: len(first)]
    assert not (Path(settings.AUDIO_CACHE_DIR) / f"{record['record_id']}.mp3").exists()
    # A second listener meanwhile follows the same download: no second upstream request.
    second = Client()
    second.force_login(make_user("qa", "Revisores de QA"))
    other = second.get(f"/recordings/{record['record_id']}/audio")
    assert other.status_code == 200
    assert first + b"".join(stream) == whole
    assert _body(other) == whole
    assert _downloads(sim) == 2  # ours above (to know the bytes) and the portal's one


def test_a_range_waits_for_its_bytes_when_the_upstream_ignores_range(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    sim.configure(honour_range=False)
    record = sim.add_recording(duration=900, customer_id=3)
    whole = _raw(sim, record["record_id"])
    sim.fault("slow", target="download", chunk=256 * 1024, seconds=0.02)
    tail = len(whole) - 1000
    response = supervisor_client.get(
        f"/recordings/{record['record_id']}/audio", headers={"Range": f"bytes={tail}-"}
    )
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {tail}-{len(whole) - 1}/{len(whole)}"
    assert _body(response) == whole[tail:]


def test_peaks_and_play_share_one_download(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record = sim.add_recording(duration=240, customer_id=3)
    assert supervisor_client.get(f"/recordings/{record['record_id']}/peaks.json").status_code == 200
    _body(supervisor_client.get(f"/recordings/{record['record_id']}/audio"))
    _body(supervisor_client.get(f"/recordings/{record['record_id']}/download"))
    assert _downloads(sim) == 1


def test_a_no_length_body_cut_short_is_not_kept(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    """Without a length or chunked coding a cut looks like the end; the listing's size
    tells it apart, and the cut file is not served to the next listener."""
    sim.configure(content_length=False, honour_range=False)
    record = sim.add_recording(duration=600, customer_id=3)
    whole = _raw(sim, record["record_id"])
    sim.fault("truncate", target="download", times=1)
    response = supervisor_client.get(
        f"/recordings/{record['record_id']}/audio", headers={"Range": "bytes=0-"}
    )
    assert response.status_code == 502
    assert not (Path(settings.AUDIO_CACHE_DIR) / f"{record['record_id']}.mp3").exists()
    again = supervisor_client.get(
        f"/recordings/{record['record_id']}/audio", headers={"Range": "bytes=0-"}
    )
    assert again.status_code == 206
    assert _body(again) == whole


# --- scope ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["audio", "download", "peaks.json"])
def test_a_cached_recording_is_never_served_across_scope(
    supervisor_client: Client, sim: SimulatorProcess, db: None, path: str
) -> None:
    record = sim.add_recording(duration=120, customer_id=3)
    for warm in ("audio", "peaks.json"):
        assert supervisor_client.get(f"/recordings/{record['record_id']}/{warm}").status_code == 200
    _settle(Path(get_cache().directory), record["record_id"])
    outsider = Client()
    outsider.force_login(make_user("other", "Supervisores", customer_id=5))
    response = outsider.get(
        f"/recordings/{record['record_id']}/{path}", headers={"Range": "bytes=0-"}
    )
    assert response.status_code == 404
    assert b"ID3" not in response.content and b"\xff\xf3" not in response.content
    assert "peaks" not in response.content.decode("utf-8", "replace")
    insider = Client()
    insider.force_login(make_user("insider", "Supervisores", customer_id=3))
    assert insider.get(f"/recordings/{record['record_id']}/{path}").status_code == 200
    assert _downloads(sim) == 1


# --- deletion ---------------------------------------------------------------------------


def test_executing_a_deletion_purges_the_cached_bytes_and_waveform(
    supervisor_client: Client, sim: SimulatorProcess, db: None
) -> None:
    admin, admin2 = (make_user(n, "Administradores") for n in ("adao", "alice"))
    ids = [r["record_id"] for r in sim.list("limit=2")["data"]]
    for record_id in ids:
        _body(supervisor_client.get(f"/recordings/{record_id}/audio"))
        supervisor_client.get(f"/recordings/{record_id}/peaks.json")
    cache_dir = Path(get_cache().directory)
    for record_id in ids:
        _settle(cache_dir, record_id)
    deletion = deletions.deletion_request_create(actor=admin, reason="LGPD", ids=ids)
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=admin2, typed_count=str(len(ids)), auth_age_seconds=5.0
    )
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert not [p.name for p in cache_dir.iterdir() if p.suffix in (".mp3", ".part", ".json")]
    from django.core.cache import cache

    assert all(cache.get(f"peaks:v2:{i}") is None for i in ids)
    assert supervisor_client.get(f"/recordings/{ids[0]}/audio").status_code == 404


def test_a_purge_during_the_download_keeps_nothing(sim: SimulatorProcess, tmp_path: Path) -> None:
    record = sim.add_recording(duration=600, customer_id=3)
    sim.fault("slow", target="download", chunk=64 * 1024, seconds=0.05)
    cache = AudioCache(tmp_path, max_bytes=10**9, max_age=3600, stall_timeout=10)
    reader = cache.open(record["record_id"], customer_id=None)
    reader.wait_for(1)
    cache.purge([record["record_id"]])
    with pytest.raises(audio_cache.CacheGone):
        for _ in reader.chunks(0, None):
            pass
    reader.close()
    deadline = time.monotonic() + 15
    while sim.stats()["active_downloads"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    assert not [p.name for p in tmp_path.iterdir() if p.suffix in (".mp3", ".part")]


# --- bounds -----------------------------------------------------------------------------


def _fill(cache: AudioCache, record_id: int) -> bytes:
    with cache.open(record_id, customer_id=None) as cached:
        data = b"".join(cached.chunks(0, None))
    _settle(cache.directory, record_id)
    return data


def test_least_recently_used_goes_first_beyond_the_size(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    ids = [sim.add_recording(duration=300, customer_id=3)["record_id"] for _ in range(3)]
    size = len(_raw(sim, ids[0]))  # 1.2 MB each
    cache = AudioCache(tmp_path, max_bytes=int(size * 2.5), max_age=3600, stall_timeout=10)
    _fill(cache, ids[0])
    time.sleep(0.02)
    _fill(cache, ids[1])
    time.sleep(0.02)
    cache.open(ids[0], customer_id=None).close()  # used again: now the most recent
    time.sleep(0.02)
    _fill(cache, ids[2])  # three do not fit: the least recently used (ids[1]) goes
    cache.prune()
    kept = sorted(int(p.stem) for p in tmp_path.glob("*.mp3"))
    assert kept == sorted([ids[0], ids[2]])


def test_a_file_past_its_age_is_downloaded_again(sim: SimulatorProcess, tmp_path: Path) -> None:
    record_id = sim.add_recording(duration=60, customer_id=3)["record_id"]
    cache = AudioCache(tmp_path, max_bytes=10**9, max_age=3600, stall_timeout=10)
    first = _fill(cache, record_id)
    old = time.time() - 3601
    os.utime(tmp_path / f"{record_id}.mp3", (old, old))
    assert _fill(cache, record_id) == first
    assert _downloads(sim) == 2
    os.utime(tmp_path / f"{record_id}.mp3", (old, old))
    assert cache.prune() == {"expired": 1, "evicted": 0}
    assert not list(tmp_path.glob("*.mp3"))


def test_prune_command(sim: SimulatorProcess, settings: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    record_id = sim.add_recording(duration=60, customer_id=3)["record_id"]
    _fill(get_cache(), record_id)
    settings.AUDIO_CACHE_HOURS = 0
    out = StringIO()
    call_command("prune_audio_cache", stdout=out)
    assert out.getvalue().strip() == "expired: 1, evicted: 0"


# --- several processes --------------------------------------------------------------------


def test_several_processes_share_one_download(sim: SimulatorProcess, tmp_path: Path) -> None:
    record_id = sim.add_recording(duration=1800, customer_id=3)["record_id"]
    whole = _raw(sim, record_id)
    sim.fault("slow", target="download", chunk=256 * 1024, seconds=0.01)
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    workers = [
        context.Process(target=cache_worker.read_whole, args=(str(tmp_path), record_id, start, out))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    results = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert results == [(len(whole), hashlib.sha256(whole).hexdigest())] * 4
    assert _downloads(sim) == 2  # ours, to compare, and one for all four processes
    assert (tmp_path / f"{record_id}.mp3").read_bytes() == whole


def test_a_download_whose_process_died_is_started_again(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    record_id = sim.add_recording(duration=600, customer_id=3)["record_id"]
    whole = _raw(sim, record_id)
    sim.fault("slow", target="download", chunk=64 * 1024, seconds=0.05, times=1)
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    worker = context.Process(
        target=cache_worker.start_and_die, args=(str(tmp_path), record_id, started)
    )
    worker.start()
    assert started.wait(30)
    worker.kill()
    worker.join()
    cache = AudioCache(tmp_path, max_bytes=10**9, max_age=3600, stall_timeout=10)
    with cache.open(record_id, customer_id=None) as cached:
        assert b"".join(cached.chunks(0, None)) == whole


# --- listeners do not take the pages down ---------------------------------------------------


def _open_stream(address: Any, path: str, cookie: str) -> tuple[socket.socket, bytes]:
    """A listener that reads the answer's head and then nothing more."""
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {address.hostname}\r\nCookie: {cookie}\r\n"
        "Range: bytes=0-\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            break
        head += chunk
    return sock, head


def test_streams_beyond_the_cap_get_503_and_pages_stay_up(
    live_server: Any, sim: SimulatorProcess, transactional_db: None, settings: Any
) -> None:
    from audio import streams

    # Places held by responses earlier tests never read to the end (the test client closes
    # a streaming response only when it is consumed) still count in this process.
    held = streams.in_use()
    settings.AUDIO_STREAMS_PER_PROCESS = held + 2
    ensure_groups()
    client = Client()
    client.force_login(make_user("listener", "Supervisores"))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    record = sim.add_recording(duration=3 * 3600, customer_id=3)  # 43 MB: never read through
    address = urlsplit(live_server.url)
    path = f"/recordings/{record['record_id']}/audio"
    slow = [_open_stream(address, path, cookie) for _ in range(2)]
    assert all(head.startswith(b"HTTP/1.1 206") for _, head in slow)
    refused, head = _open_stream(address, path, cookie)
    refused.close()
    assert head.startswith(b"HTTP/1.1 503")
    assert b"Retry-After: 2" in head
    assert client.get("/recordings/").status_code == 200
    for sock, _ in slow:
        sock.close()
    deadline = time.monotonic() + 10
    while streams.in_use() > held and time.monotonic() < deadline:
        time.sleep(0.05)
    assert streams.in_use() == held
    again, head = _open_stream(address, path, cookie)
    again.close()
    assert head.startswith(b"HTTP/1.1 206")


def test_a_listener_who_stops_reading_holds_up_nobody(
    live_server: Any, sim: SimulatorProcess, transactional_db: None
) -> None:
    ensure_groups()
    client = Client()
    client.force_login(make_user("listener", "Supervisores"))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    record = sim.add_recording(duration=1800, customer_id=3)
    whole = _raw(sim, record["record_id"])
    address = urlsplit(live_server.url)
    path = f"/recordings/{record['record_id']}/audio"
    stuck, _ = _open_stream(address, path, cookie)
    try:
        request = urllib.request.Request(live_server.url + path, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.read() == whole
    finally:
        stuck.close()


def test_a_reader_keeps_its_bytes_when_the_file_is_evicted_under_it(
    sim: SimulatorProcess, tmp_path: Path
) -> None:
    record_id = sim.add_recording(duration=600, customer_id=3)["record_id"]
    whole = _raw(sim, record_id)
    sim.fault("slow", target="download", chunk=256 * 1024, seconds=0.05)
    cache = AudioCache(tmp_path, max_bytes=0, max_age=3600, stall_timeout=10)  # keeps nothing
    reader = cache.open(record_id, customer_id=None)
    first = reader.read(0, 1000)
    deadline = time.monotonic() + 20
    while sim.stats()["active_downloads"] and time.monotonic() < deadline:
        time.sleep(0.05)
    cache.prune()
    assert not list(tmp_path.glob("*.mp3")), "nothing is kept"
    assert first + b"".join(reader.chunks(1000, None)) == whole
    reader.close()


def test_a_purge_stops_the_download(sim: SimulatorProcess, tmp_path: Path) -> None:
    record_id = sim.add_recording(duration=1800, customer_id=3)["record_id"]
    sim.fault("slow", target="download", chunk=64 * 1024, seconds=0.05)  # about 6 s in all
    cache = AudioCache(tmp_path, max_bytes=10**9, max_age=3600, stall_timeout=10)
    cache.open(record_id, customer_id=None).close()
    cache.purge([record_id])
    deadline = time.monotonic() + 3
    while sim.stats()["active_downloads"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.stats()["active_downloads"] == 0, "the upstream download was let go"
