"""The recordings list through gunicorn over the 1,000,000-row index, and the same page live.

A signed-in supervisor GETs /recordings/ (100 rows a page) through gunicorn as in production
(gunicorn.conf.py, 2 gthread workers, 128 threads), PostgreSQL and Redis, sequentially on a
keep-alive connection:

- ``index day``: one whole day (about 11,000 rows at this size) from the index;
- ``index week``: ``/recordings/`` as it opens, the last 7 days (about 70,000 rows), 25 a
  page;
- ``index number``: a 5-7 digit fragment of a number, over the last 30 days, from the index;
- ``live day``: the same URL as ``index day``, with the index made stale (its last sync an
  hour old), so ``listing.plan`` sends it to the simulator, which answers every list call
  120 ms late (its ``latency`` fault).

The three are interleaved in blocks, so machine noise hits them alike. The index must hold
the rows already (``bench_index.py`` loads them; BENCH_LOAD=1 does it here); this script
marks the last 30 days complete (DayCoverage) and fresh (SyncState) itself.

    cd bench && BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vp_index_bench \\
        BENCH_CACHE_URL=redis://127.0.0.1:6379/10 ../.venv/bin/python bench_list_index.py

Results: bench/results/list_index.json.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import random
import subprocess
import time
import urllib.request
from zoneinfo import ZoneInfo

import psycopg
from bench_index import start_simulator
from harness import PYTHON, ROOT, percentiles, portal, save

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vp_index_bench"
)
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/10")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))  # per index kind
LIVE_REQUESTS = int(os.environ.get("BENCH_LIVE_REQUESTS", "200"))
BLOCK = 25
LATENCY = 0.120
COVERED_DAYS = 30
MARKER = b"data-index-age"  # the index's age badge: only an index answer has it


def mark_covered(connection: psycopg.Connection, today: dt.date, fresh: dt.datetime) -> None:
    """The last COVERED_DAYS days complete, for every subscriber, as of ``fresh``."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM index_daycoverage")
        for back in range(COVERED_DAYS):
            day = today - dt.timedelta(days=back)
            cursor.execute("SELECT count(*) FROM index_indexedrecording WHERE call_day = %s", [day])
            (count,) = cursor.fetchone()  # type: ignore[misc]
            cursor.execute(
                "INSERT INTO index_daycoverage (day, customer_id, upstream_count, "
                "indexed_count, last_full_read, last_checked, status, error) "
                "VALUES (%s, NULL, %s, %s, %s, %s, 'complete', '')",
                [day, count, count, fresh, fresh],
            )
        cursor.execute("DELETE FROM index_syncstate")
        cursor.execute(
            "INSERT INTO index_syncstate (name, holder, last_success, fresh_as_of, failures, "
            "phase, days_total, days_done, records_read, requests_sent, errors) "
            "VALUES ('recordings', '', %s, %s, 0, '', 0, 0, 0, 0, '[]')",
            [fresh, fresh],
        )
    connection.commit()


def set_fresh(connection: psycopg.Connection, when: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE index_syncstate SET fresh_as_of = %s", [when])
        cursor.execute("UPDATE index_daycoverage SET last_checked = %s", [when])
    connection.commit()


def timed(port: int, headers: dict[str, str], paths: list[str], index: bool) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for path in paths:
        began = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        samples.append(time.perf_counter() - began)
        assert response.status == 200, (response.status, body[:300])
        assert (MARKER in body) == index, f"{path}: expected {'index' if index else 'live'}"
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.close()
    return samples


def sim(port: int, path: str, data: dict[str, object] | None = None) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(data).encode() if data is not None else None,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def main() -> None:
    if os.environ.get("BENCH_LOAD"):
        env = {**os.environ, "BENCH_DATABASE_URL": DATABASE_URL, "BENCH_SIM_COUNTS": ""}
        # bench_index.py loads the rows, then times its searches (a few seconds).
        subprocess.run([PYTHON, "bench_index.py"], cwd=ROOT / "bench", env=env, check=True)
    today = dt.datetime.now(ZoneInfo("America/Sao_Paulo")).date()
    day = today - dt.timedelta(days=1)
    first = today - dt.timedelta(days=COVERED_DAYS - 1)
    with psycopg.connect(DATABASE_URL) as db:
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT destination FROM index_indexedrecording TABLESAMPLE SYSTEM (1) "
                "WHERE destination LIKE '55%%' AND call_day >= %s LIMIT 400",
                [first],
            )
            sample = [row[0][2:] for row in cursor.fetchall()]
            cursor.execute("SELECT count(*) FROM index_indexedrecording")
            (total,) = cursor.fetchone()  # type: ignore[misc]
        now = dt.datetime.now(dt.UTC)
        mark_covered(db, today, now)
        rng = random.Random(11)
        fragments = []
        for _ in range(REQUESTS):
            phone = rng.choice(sample)
            start = rng.randrange(0, len(phone) - 5)
            fragments.append(phone[start : start + rng.randrange(5, 8)])
        day_path = f"/recordings/?date_ini={day:%Y-%m-%d}&date_end={day:%Y-%m-%d}&per_page=100"
        # What a supervisor sees first: the last 7 days, 25 rows (the form's defaults).
        week_path = "/recordings/"
        number_paths = [
            f"/recordings/?date_ini={first:%Y-%m-%d}&date_end={today:%Y-%m-%d}"
            f"&number={fragment}&per_page=100"
            for fragment in fragments
        ]
        sim_process, sim_port = start_simulator(int(os.environ.get("BENCH_SIM_COUNT", "24000")))
        try:
            extra = {"CACHE_URL": CACHE_URL, "BENCH_DATABASE_URL": DATABASE_URL}
            os.environ["BENCH_DATABASE_URL"] = DATABASE_URL
            with portal(sim_port, workers=2, threads=128, extra_env=extra) as (port, session):
                headers = {"Cookie": session["Cookie"]}
                timed(port, headers, [day_path] * 20, True)  # warm-up: imports, pools, caches
                timed(port, headers, number_paths[:20], True)
                sim(
                    sim_port,
                    "/_sim/faults",
                    {"kind": "latency", "target": "list", "seconds": LATENCY},
                )
                set_fresh(db, now - dt.timedelta(hours=1))
                timed(port, headers, [day_path] * 5, False)
                samples: dict[str, list[float]] = {
                    "index_day": [],
                    "index_week": [],
                    "index_number": [],
                    "live_day": [],
                }
                loads = [os.getloadavg()]
                upstream = {"index": 0, "live": 0}
                live_block = max(1, LIVE_REQUESTS * BLOCK // REQUESTS)
                for block in range(REQUESTS // BLOCK):
                    set_fresh(db, dt.datetime.now(dt.UTC))
                    before = sim(sim_port, "/_sim/stats")
                    samples["index_day"] += timed(port, headers, [day_path] * BLOCK, True)
                    samples["index_week"] += timed(port, headers, [week_path] * BLOCK, True)
                    samples["index_number"] += timed(
                        port, headers, number_paths[block * BLOCK : (block + 1) * BLOCK], True
                    )
                    between = sim(sim_port, "/_sim/stats")
                    set_fresh(db, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
                    samples["live_day"] += timed(port, headers, [day_path] * live_block, False)
                    after = sim(sim_port, "/_sim/stats")
                    upstream["index"] += _lists(between) - _lists(before)
                    upstream["live"] += _lists(after) - _lists(between)
                    loads.append(os.getloadavg())
        finally:
            sim_process.terminate()
            sim_process.wait()
        set_fresh(db, dt.datetime.now(dt.UTC))
    result: dict[str, object] = {
        "rows_in_index": total,
        "day": str(day),
        "number_window": [str(first), str(today)],
        "simulator_latency_ms": LATENCY * 1000,
        **{name: percentiles(values) for name, values in samples.items()},
        "upstream_list_calls": upstream,
        "load_average_1m_min_max": [min(x[0] for x in loads), max(x[0] for x in loads)],
        "load_averages": loads,
        "cpus": os.cpu_count(),
    }
    save("list_index", result)


def _lists(stats: dict[str, object]) -> int:
    requests = stats.get("requests", {})
    return int(requests.get("list", 0)) if isinstance(requests, dict) else 0


if __name__ == "__main__":
    main()
