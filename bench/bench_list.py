"""The recordings page (100 rows) through gunicorn, against the same query sent directly.

Usage: .venv/bin/python bench/bench_list.py [--requests 400]
Both are timed in one run on the same machine, sequentially, over keep-alive connections.
"""

from __future__ import annotations

import argparse
import http.client
import time

from harness import KEY, TOKEN, percentiles, portal, save, simulator

PAGE = "/recordings/?date_ini=&date_end=&per_page=100&page=3"
DIRECT = f"/api/recording/{TOKEN}/{KEY}?date_ini=&date_end=&time_ini=&time_end=&start=200&limit=100"


def timed(port: int, path: str, headers: dict[str, str], count: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        samples.append(time.perf_counter() - began)
        assert response.status == 200, (response.status, body[:200])
        if response.getheader("Connection", "").lower() == "close" or response.version == 10:
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    with simulator() as sim_port, portal(sim_port) as (port, session):
        headers = {"Cookie": session["Cookie"]}
        timed(port, PAGE, headers, 30)  # warm-up: imports, connection pools, caches
        timed(sim_port, DIRECT, {}, 30)
        # Interleave the two so machine noise hits both alike.
        dashboard: list[float] = []
        direct: list[float] = []
        for _ in range(args.requests // 50):
            direct += timed(sim_port, DIRECT, {}, 50)
            dashboard += timed(port, PAGE, headers, 50)
    result = {
        "dashboard": percentiles(dashboard),
        "direct": percentiles(direct),
    }
    result["added_p50_ms"] = result["dashboard"]["p50_ms"] - result["direct"]["p50_ms"]
    result["added_p95_ms"] = result["dashboard"]["p95_ms"] - result["direct"]["p95_ms"]
    save("list", result)


if __name__ == "__main__":
    main()
