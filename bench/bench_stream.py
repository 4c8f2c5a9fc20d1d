"""Audio streaming through the portal (gunicorn, gthread) against direct simulator downloads.

Usage: .venv/bin/python bench/bench_stream.py [--big-mb 200] [--workers 2] [--threads 16]

Measures, in one run on one machine:
- time to first byte (median of 40), portal vs direct;
- throughput of one stream of the big recording, portal vs direct;
- aggregate throughput of 50 concurrent streams of a 3-hour recording, portal vs direct;
- errors with 200 concurrent streams of a 30-minute recording through the portal;
- the gunicorn workers' RSS growth while the big recording streams.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from harness import KEY, TOKEN, portal, save, simulator

CHUNK = 256 * 1024


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, float, float, int]:
    """(bytes received, seconds to first byte, total seconds, status)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    began = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    first = response.read(1)
    ttfb = time.perf_counter() - began
    received = len(first)
    expected = int(response.getheader("Content-Length") or -1)
    while True:
        block = response.read(CHUNK)
        if not block:
            break
        received += len(block)
    total = time.perf_counter() - began
    connection.close()
    status = response.status if expected in (-1, received) else -1
    return received, ttfb, total, status


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
def rss_growth(pids: list[int]) -> Iterator[dict[str, int]]:
    """Peak RSS growth of each process while the block runs, sampled every 50 ms."""
    baseline = {pid: rss_kb(pid) for pid in pids}
    peak = dict(baseline)
    growth: dict[str, int] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in pids:
                peak[pid] = max(peak[pid], rss_kb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield growth
    finally:
        done.set()
        sampler.join()
        growth.update({str(pid): peak[pid] - baseline[pid] for pid in pids})


def concurrent(port: int, path: str, headers: dict[str, str], count: int) -> dict[str, float]:
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(lambda _: fetch(port, path, headers), range(count)))
    elapsed = time.perf_counter() - began
    errors = sum(1 for _, _, _, status in results if status not in (200, 206))
    moved = sum(r[0] for r in results)
    return {
        "streams": count,
        "errors": errors,
        "seconds": round(elapsed, 2),
        "aggregate_MBps": round(moved / elapsed / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    result: dict[str, object] = {
        "cores": os.cpu_count(),
        "workers": args.workers,
        "threads": args.threads,
    }
    with simulator() as sim_port:

        def add(duration: int) -> int:
            import json

            connection = http.client.HTTPConnection("127.0.0.1", sim_port)
            connection.request(
                "POST", "/_sim/records", body=json.dumps({"duration": duration, "customer_id": 3})
            )
            return int(json.loads(connection.getresponse().read())["record"]["record_id"])

        big = add(args.big_mb * 1_000_000 // 4000)
        call = add(1800)  # a 30-minute call: 7.2 MB
        long_call = add(3 * 3600)  # 43 MB: long enough that 50 streams measure streaming
        direct_path = f"/api/recording/{TOKEN}/{KEY}?is_download=1&id_record={{}}"
        with portal(sim_port, workers=args.workers, threads=args.threads) as (port, session):
            headers = {"Cookie": session["Cookie"]}
            portal_path = "/recordings/{}/audio"
            fetch(port, portal_path.format(call), headers)  # warm-up

            ttfb_direct = [fetch(sim_port, direct_path.format(call), {})[1] for _ in range(40)]
            ttfb_portal = [fetch(port, portal_path.format(call), headers)[1] for _ in range(40)]
            result["ttfb_ms"] = {
                "direct_p50": round(statistics.median(ttfb_direct) * 1000, 2),
                "portal_p50": round(statistics.median(ttfb_portal) * 1000, 2),
            }

            workers = children(int(session["pid"]))
            with rss_growth(workers) as growth_big:
                size, _, seconds, status = fetch(port, portal_path.format(big), headers)
            assert status == 200, status
            direct_size, _, direct_seconds, _ = fetch(sim_port, direct_path.format(big), {})
            result["one_stream"] = {
                "bytes": size,
                "portal_MBps": round(size / seconds / 1e6, 1),
                "direct_MBps": round(direct_size / direct_seconds / 1e6, 1),
                "portal_vs_direct": round((size / seconds) / (direct_size / direct_seconds), 2),
            }
            result["rss_growth_kb_while_streaming_big"] = growth_big

            direct50 = concurrent(sim_port, direct_path.format(long_call), {}, 50)
            with rss_growth(workers) as growth_fifty:
                portal50 = concurrent(port, portal_path.format(long_call), headers, 50)
            result["rss_growth_kb_per_stream_with_50"] = round(sum(growth_fifty.values()) / 50, 1)
            result["fifty_streams"] = {
                "direct": direct50,
                "portal": portal50,
                "portal_vs_direct": round(
                    portal50["aggregate_MBps"] / direct50["aggregate_MBps"], 2
                ),
            }
            result["two_hundred_streams"] = concurrent(port, portal_path.format(call), headers, 200)
    save("stream", result)


if __name__ == "__main__":
    main()
