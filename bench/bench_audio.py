"""Audio from the cache, listeners against pages, and time to first sound (issue 9).

Usage: .venv/bin/python bench/bench_audio.py [--listeners 200] [--workers 2]

Measures, side by side in one run on one machine:
- 50 concurrent streams of a 3-hour call served from the audio cache, against the same 50
  downloaded directly from the simulator (goal: >= 0.8 of direct);
- the recordings page's p50/p95 while 200 listeners hold streams open and read them at about
  twice the speed of playback (slow readers), with a few fast downloaders among them: the
  old shape (2 x 16 threads, no stream cap) against the new one (2 x 128 threads, at most
  112 streams per process, beyond that 503 + Retry-After) (goal: p95 <= 1 s);
- time to the first 8 KB (2 s of sound) of a 30-minute call not yet cached, asked as a
  browser asks (``Range: bytes=0-``), against a chunked, no-length upstream with 120 ms of
  latency on every call (goal: <= 1 s); also when that upstream ignores Range.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from typing import Any

from bench_stream import concurrent
from harness import KEY, TOKEN, percentiles, portal, save, simulator

LIST_PATH = "/recordings/?date_ini=&date_end=&per_page=100&page=3"


def control(sim_port: int, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", sim_port, timeout=30)
    body = json.dumps(payload) if payload is not None else None
    connection.request(method, path, body=body)
    result = json.loads(connection.getresponse().read())
    connection.close()
    return result


def add(sim_port: int, duration: int) -> int:
    record = control(sim_port, "POST", "/_sim/records", {"duration": duration, "customer_id": 3})
    return int(record["record"]["record_id"])


class Listener(threading.Thread):
    """Holds one stream open and reads it slowly, as a player does after its first buffer."""

    def __init__(self, port: int, path: str, cookie: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.cookie, self.stop = port, path, cookie, stop
        self.status = 0
        self.received = 0

    def run(self) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
            sock.sendall(
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {self.cookie}\r\n"
                "Range: bytes=0-\r\n\r\n".encode()
            )
            head = sock.recv(4096)
            self.status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else -1
            self.received = len(head)
            while not self.stop.is_set() and self.status == 206:
                block = sock.recv(4096)
                if not block:
                    break
                self.received += len(block)
                self.stop.wait(0.5)  # 8 KB/s: twice the speed of a 32 kbit/s call
            sock.close()
        except OSError:
            self.status = self.status or -2


class Downloader(threading.Thread):
    """Downloads the whole recording again and again, as fast as it can."""

    def __init__(self, port: int, path: str, cookie: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.cookie, self.stop = port, path, cookie, stop
        self.statuses: list[int] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                connection.request("GET", self.path, headers={"Cookie": self.cookie})
                response = connection.getresponse()
                while response.read(256 * 1024):
                    if self.stop.is_set():
                        break
                self.statuses.append(response.status)
                connection.close()
            except OSError:
                self.statuses.append(-1)
            if self.statuses[-1] == 503:
                self.stop.wait(2)  # Retry-After


def list_latencies(port: int, cookie: str, count: int, timeout: float) -> dict[str, Any]:
    samples, failures = [], 0
    for _ in range(count):
        began = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            connection.request("GET", LIST_PATH, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                failures += 1
            samples.append(time.perf_counter() - began)
        except OSError:
            failures += 1
            samples.append(timeout)
        time.sleep(0.2)
    result = {k: round(v, 1) for k, v in percentiles(samples).items()}
    result["failed_or_timed_out"] = failures
    return result


def pages_under_listeners(
    sim_port: int, *, workers: int, threads: int, cap: int, listeners: int, fast: int
) -> dict[str, Any]:
    calls = [add(sim_port, 3 * 3600) for _ in range(10)]  # 43 MB each: never read through
    env = {"AUDIO_STREAMS_PER_PROCESS": str(cap), "AUDIO_CACHE_DIR": tempfile.mkdtemp()}
    with portal(sim_port, workers=workers, threads=threads, extra_env=env) as (port, session):
        cookie = session["Cookie"]
        quiet = list_latencies(port, cookie, 20, timeout=10)
        stop = threading.Event()
        crowd: list[threading.Thread] = []
        for i in range(listeners - fast):
            path = f"/recordings/{calls[i % len(calls)]}/audio"
            crowd.append(Listener(port, path, cookie, stop))
        for i in range(fast):
            crowd.append(Downloader(port, f"/recordings/{calls[i % 3]}/audio", cookie, stop))
        for thread in crowd:
            thread.start()
            time.sleep(0.01)
        time.sleep(3)  # everyone has asked
        # The old shape's pages wait out every timeout: fewer samples say as much.
        busy = list_latencies(port, cookie, 50 if cap < threads else 12, timeout=10)
        slow = [t for t in crowd if isinstance(t, Listener)]
        statuses: dict[str, int] = {}
        for t in slow:
            statuses[str(t.status)] = statuses.get(str(t.status), 0) + 1
        stop.set()
        for thread in crowd:
            thread.join(timeout=15)
        fast_statuses: dict[str, int] = {}
        for t in crowd:
            if isinstance(t, Downloader):
                for s in t.statuses:
                    fast_statuses[str(s)] = fast_statuses.get(str(s), 0) + 1
    return {
        "shape": f"{workers} x {threads} threads, at most {cap} streams per process",
        "list_without_listeners": quiet,
        "list_with_listeners": busy,
        "slow_listeners_first_status": statuses,
        "fast_downloads_status": fast_statuses,
    }


def first_sound(port: int, path: str, cookie: str) -> float:
    """Seconds until the first 8 KB of the answer's body."""
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"Cookie": cookie, "Range": "bytes=0-"})
    response = connection.getresponse()
    assert response.status in (200, 206), response.status
    got = 0
    while got < 8192:
        block = response.read1(8192 - got) if hasattr(response, "read1") else response.read(1)
        if not block:
            break
        got += len(block)
    elapsed = time.perf_counter() - began
    connection.close()
    return elapsed


def time_to_first_sound(sim_port: int, samples: int = 8) -> dict[str, Any]:
    env = {"AUDIO_CACHE_DIR": tempfile.mkdtemp()}
    result: dict[str, Any] = {}
    with portal(sim_port, workers=2, threads=16, extra_env=env) as (port, session):
        cookie = session["Cookie"]
        control(sim_port, "POST", "/_sim/faults", {"kind": "latency", "seconds": 0.12})
        for label, config in (
            ("chunked, no length, honours Range", {"chunked": True}),
            ("chunked, no length, ignores Range", {"chunked": True, "honour_range": False}),
        ):
            control(sim_port, "POST", "/_sim/config", {"honour_range": True, **config})
            portal_times, direct_times = [], []
            for _ in range(samples):
                record_id = add(sim_port, 1800)  # never cached: every sample a first play
                portal_times.append(first_sound(port, f"/recordings/{record_id}/audio", cookie))
                direct = f"/api/recording/{TOKEN}/{KEY}?is_download=1&id_record={record_id}"
                direct_times.append(first_sound(sim_port, direct, ""))
            result[label] = {
                "direct_p50_ms": round(statistics.median(direct_times) * 1000, 1),
                "portal_p50_ms": round(statistics.median(portal_times) * 1000, 1),
                "portal_max_ms": round(max(portal_times) * 1000, 1),
            }
        control(sim_port, "DELETE", "/_sim/faults")
        control(sim_port, "POST", "/_sim/config", {"chunked": False, "honour_range": True})
    return result


def from_cache_vs_direct(sim_port: int) -> dict[str, Any]:
    long_call = add(sim_port, 3 * 3600)  # 43 MB
    env = {"AUDIO_CACHE_DIR": tempfile.mkdtemp()}
    with portal(sim_port, workers=2, threads=128, extra_env=env) as (port, session):
        headers = {"Cookie": session["Cookie"]}
        path = f"/recordings/{long_call}/audio"
        concurrent(port, path, headers, 1)  # the first play fills the cache
        direct_path = f"/api/recording/{TOKEN}/{KEY}?is_download=1&id_record={long_call}"
        runs = []
        for _ in range(3):
            direct = concurrent(sim_port, direct_path, {}, 50)
            cached = concurrent(port, path, headers, 50)
            runs.append(
                {
                    "direct": direct,
                    "from_cache": cached,
                    "ratio": round(cached["aggregate_MBps"] / direct["aggregate_MBps"], 2),
                }
            )
    return {"runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma-separated: cache,pages,first")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    result: dict[str, Any] = {"cores": os.cpu_count()}
    with simulator() as sim_port:
        if "cache" not in skip:
            result["fifty_streams_from_cache"] = from_cache_vs_direct(sim_port)
            print(json.dumps(result["fifty_streams_from_cache"], indent=1), flush=True)
        if "first" not in skip:
            result["time_to_first_sound"] = time_to_first_sound(sim_port)
            print(json.dumps(result["time_to_first_sound"], indent=1), flush=True)
        if "pages" not in skip:
            shapes = [("baseline", 16, 1000), ("capped pool", 128, 112)]
            for label, threads, cap in shapes:
                result[f"pages_{label}"] = pages_under_listeners(
                    sim_port,
                    workers=args.workers,
                    threads=threads,
                    cap=cap,
                    listeners=args.listeners,
                    fast=args.fast,
                )
                print(json.dumps(result[f"pages_{label}"], indent=1), flush=True)
    save("audio", result)


if __name__ == "__main__":
    main()
