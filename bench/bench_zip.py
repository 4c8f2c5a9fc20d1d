"""The bulk ZIP download against single downloads of the same recordings, in one run.

Usage: .venv/bin/python bench/bench_zip.py [--count 200] [--seconds 300] [--big-mb 0]

gunicorn as in production (gthread, 1 worker, 8 threads), the simulator, SQLite, a fresh
audio cache. Two sets of ``count`` recordings of ``seconds`` each, on days of their own:

- set A as one ZIP, cold (every recording comes from the simulator through the cache);
- set B as ``count`` single downloads, one after another, cold;
- set A again as one ZIP, then as single downloads, both from the warm cache;
- set A straight from the simulator (no portal), the floor.

For each: seconds, MB/s, time to first byte, and the worker's peak RSS growth (sampled every
20 ms). ``--big-mb N`` adds a ZIP of 4 recordings of N MB each: memory must not grow with a
member's size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import KEY, TOKEN, portal, save, simulator

CHUNK = 256 * 1024


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, float, float]:
    """(bytes, seconds to first byte, seconds); raises unless a whole 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    began = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    first = response.read(1)
    ttfb = time.perf_counter() - began
    received = len(first)
    while block := response.read(CHUNK):
        received += len(block)
    seconds = time.perf_counter() - began
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}")
    return received, ttfb, seconds


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@contextmanager
def peak_rss_growth(pid: int) -> Iterator[dict[str, int]]:
    baseline = rss_kb(pid)
    peak = {"kb": baseline}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["kb"] = max(peak["kb"], rss_kb(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    result: dict[str, int] = {}
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        result["rss_growth_kb"] = peak["kb"] - baseline


def measured(pid: int, run: callable) -> dict[str, float]:  # type: ignore[valid-type]
    with peak_rss_growth(pid) as memory:
        received, ttfb, seconds = run()
    print(f"  {received / 1e6:.1f} MB in {seconds:.2f} s", flush=True)
    return {
        "MB": round(received / 1e6, 1),
        "seconds": round(seconds, 2),
        "MBps": round(received / seconds / 1e6, 1),
        "ttfb_ms": round(ttfb * 1000, 1),
        **memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--big-mb", type=int, default=0)
    args = parser.parse_args()
    result: dict[str, object] = {"count": args.count, "seconds_each": args.seconds}
    days = {"A": "2025-03-03", "B": "2025-03-04", "big": "2025-03-05"}
    with simulator() as sim_port:

        def add(day: str, n: int, duration: int) -> int:
            at = dt.datetime.fromisoformat(f"{day}T08:00:00") + dt.timedelta(seconds=30 * n)
            connection = http.client.HTTPConnection("127.0.0.1", sim_port)
            body = {"duration": duration, "customer_id": 3, "calldate": at.isoformat()}
            connection.request("POST", "/_sim/records", body=json.dumps(body))
            return int(json.loads(connection.getresponse().read())["record"]["record_id"])

        sets = {
            name: [add(days[name], n, args.seconds) for n in range(args.count)] for name in "AB"
        }
        if args.big_mb:
            sets["big"] = [add(days["big"], n, args.big_mb * 1_000_000 // 4000) for n in range(4)]
        cache = tempfile.mkdtemp(prefix="vonobench-zipcache-")
        extra = {
            "AUDIO_CACHE_DIR": cache,
            "AUDIO_CACHE_MB": "8192",
            "AUDIT_HMAC_KEY": "bench-audit-key",
            "AUDIT_CHECKPOINT_DIR": f"{cache}/checkpoints",
        }
        with portal(sim_port, workers=1, threads=8, extra_env=extra) as (port, session):
            headers = {"Cookie": session["Cookie"]}
            (worker,) = children(int(session["pid"]))

            def zip_of(name: str) -> tuple[int, float, float]:
                day = days[name]
                path = f"/recordings/download.zip?date_ini={day}&date_end={day}"
                return fetch(port, path, headers)

            def singles(name: str, where: int = 0) -> tuple[int, float, float]:
                total, first, began = 0, None, time.perf_counter()
                for record_id in sets[name]:
                    if where:
                        path = f"/api/recording/{TOKEN}/{KEY}?is_download=1&id_record={record_id}"
                        received, ttfb, _ = fetch(where, path, {})
                    else:
                        path = f"/recordings/{record_id}/download"
                        received, ttfb, _ = fetch(port, path, headers)
                    total += received
                    first = ttfb if first is None else first
                return total, first or 0.0, time.perf_counter() - began

            fetch(port, "/recordings/?per_page=25", headers)  # warm-up: imports, first queries
            result["zip_cold"] = measured(worker, lambda: zip_of("A"))
            result["singles_cold"] = measured(worker, lambda: singles("B"))
            result["zip_warm"] = measured(worker, lambda: zip_of("A"))
            result["singles_warm"] = measured(worker, lambda: singles("A"))
            result["direct_from_simulator"] = measured(worker, lambda: singles("A", sim_port))
            if args.big_mb:
                result["zip_4_big_cold"] = measured(worker, lambda: zip_of("big"))
            result["worker_rss_kb_after"] = rss_kb(worker)
    save("zip", result)


if __name__ == "__main__":
    main()
