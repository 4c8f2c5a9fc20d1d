"""The recording index at production scale, on PostgreSQL.

1. Sync ingest: a full sync (``sync_run(full=True)``, page ``limit`` 500, no rate cap) from a
   simulator holding BENCH_SIM_COUNT recordings over 60 days, into an empty index; the peak
   Python memory of the run (tracemalloc) at two sizes shows whether it stays flat.
2. Search: 1,000,000 synthetic recordings loaded with COPY, then partial-number searches
   through ``index.selectors.search`` as the list page would run them (first 100 rows in the
   default order, and the total count), p50/p95 over many typed fragments.

    cd bench && BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vp_index_bench \\
        ../.venv/bin/python bench_index.py

The database named is emptied (its index tables truncated). Results: bench/results/index.json.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from harness import KEY, PYTHON, ROOT, TOKEN, free_port, wait_for

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
SIM_COUNTS = [int(c) for c in os.environ.get("BENCH_SIM_COUNTS", "12000,48000").split(",")]
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vp_index_bench"
)
SEARCHES = int(os.environ.get("BENCH_SEARCHES", "300"))


def setup_django(sim_port: int) -> None:
    os.environ.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "AUDIT_HMAC_KEY": secrets.token_urlsafe(32),
            "DEBUG": "false",
            "DATABASE_URL": DATABASE_URL,
            "VONO_BASE_URL": f"http://127.0.0.1:{sim_port}/api",
            "VONO_API_TOKEN": TOKEN,
            "VONO_API_KEY": KEY,
            "VONO_READ_TIMEOUT": "60",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "vonoportal.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_simulator(count: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "vonosim",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--key",
            KEY,
            "--count",
            str(count),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    wait_for(f"http://127.0.0.1:{port}/_sim/health", timeout=120)
    return process, port


def truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE index_indexedrecording, index_daycoverage, index_syncstate")


def bench_ingest(count: int) -> dict[str, float]:
    from django.conf import settings

    from index import sync

    process, port = start_simulator(count)
    try:
        settings.VONO_BASE_URL = f"http://127.0.0.1:{port}/api"
        from recordings import vono

        vono.get_client.cache_clear()
        settings.INDEX_MAX_RPS = 100000
        settings.INDEX_PAGE_LIMIT = 500
        truncate()
        tracemalloc.start()
        started = time.perf_counter()
        result = sync.sync_run(days=60, full=True)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.status == "done", result
        return {
            "sim_records": count,
            "records": result.records,
            "requests": result.requests,
            "seconds": round(elapsed, 2),
            "records_per_second": round(result.records / elapsed),
            "peak_python_mb": round(peak / 1024**2, 1),
        }
    finally:
        process.terminate()
        process.wait()


LOAD_SQL = """
WITH base AS (
    SELECT g,
           now() - random() * interval '90 days' AS cd,
           (4101 + floor(random() * 99))::int::text AS ext,
           (array['11','21','31','41','47','48','51','61','71','81','85','19'])
               [1 + floor(random() * 12)::int]
           || '9' || lpad(floor(random() * 100000000)::bigint::text, 8, '0') AS phone,
           random() < 0.55 AS outbound,
           3 + floor(random() * 1797)::int AS dur,
           (array[3, 7, 12, 21])[1 + floor(random() * 4)::int] AS customer
    FROM generate_series(0, %s - 1) AS g
)
INSERT INTO index_indexedrecording (
    record_id, customer_id, calldate, call_day, clid, source, destination, numbers,
    duration, size, duration_text, size_text, first_seen, last_seen, gone_at, gone_how)
SELECT 1000000 + g, customer, cd, (cd AT TIME ZONE 'America/Sao_Paulo')::date,
       CASE WHEN outbound THEN ext ELSE '55' || phone END,
       CASE WHEN outbound THEN ext ELSE '55' || phone END,
       CASE WHEN outbound THEN '55' || phone ELSE ext END,
       CASE WHEN outbound THEN ext || ' ' || phone || ' ' || ext
            ELSE phone || ' ' || ext || ' ' || phone END,
       dur, dur * 4000, '', '', now(), now(), NULL, ''
FROM base
"""


def load_rows(rows: int) -> tuple[float, list[str]]:
    """Generate ``rows`` synthetic recordings inside PostgreSQL (the numbers normalised as
    index.numbers does: a national number without 55); returns seconds and sample phones."""
    from django.db import connection

    truncate()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(LOAD_SQL, [rows])
        cursor.execute("ANALYZE index_indexedrecording")
        elapsed = time.perf_counter() - started
        cursor.execute(
            "SELECT destination FROM index_indexedrecording TABLESAMPLE SYSTEM (1) "
            "WHERE destination LIKE '55%%' LIMIT 400"
        )
        sample = [row[0] for row in cursor.fetchall()]
    return elapsed, sample


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_search(sample: list[str]) -> dict[str, object]:
    from index.selectors import search

    rng = random.Random(5)
    typed: list[str] = []
    for _ in range(SEARCHES):
        phone = rng.choice(sample)[2:]  # national number
        kind = rng.random()
        if kind < 0.25:
            typed.append(f"({phone[:2]}) {phone[2:-4]}-{phone[-4:]}")  # whole, formatted
        elif kind < 0.5:
            typed.append(f"+55 {phone[:2]} {phone[2:]}")
        elif kind < 0.8:
            start = rng.randrange(0, len(phone) - 5)
            typed.append(phone[start : start + rng.randrange(5, 8)])  # a fragment
        else:
            typed.append(str(rng.randrange(4101, 4200)))  # an extension: many matches
    page_ms, count_ms, hits = [], [], []
    for text in typed:
        started = time.perf_counter()
        rows = list(search(number=text)[:100])
        page_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        hits.append(search(number=text).count())
        count_ms.append((time.perf_counter() - started) * 1000)
        assert rows or hits[-1] == 0
    return {
        "searches": len(typed),
        "first_100_rows_p50_ms": round(statistics.median(page_ms), 2),
        "first_100_rows_p95_ms": round(percentile(page_ms, 0.95), 2),
        "count_p50_ms": round(statistics.median(count_ms), 2),
        "count_p95_ms": round(percentile(count_ms, 0.95), 2),
        "page_and_count_p95_ms": round(
            percentile([a + b for a, b in zip(page_ms, count_ms, strict=True)], 0.95), 2
        ),
        "matches_median": statistics.median(hits),
        "matches_max": max(hits),
    }


def main() -> None:
    # Django's settings need the simulator's port before any run starts its own simulator.
    port_probe, port = start_simulator(10)
    port_probe.terminate()
    setup_django(port)
    results: dict[str, object] = {"database": DATABASE_URL.rsplit("@", 1)[-1]}
    if os.environ.get("BENCH_SEARCH_ONLY"):  # reuse the rows a previous run loaded
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT destination FROM index_indexedrecording TABLESAMPLE SYSTEM (1) "
                "WHERE destination LIKE '55%%' LIMIT 400"
            )
            sample = [row[0] for row in cursor.fetchall()]
    else:
        results["ingest"] = [bench_ingest(count) for count in SIM_COUNTS]
        print(json.dumps(results["ingest"], indent=2), flush=True)
        seconds, sample = load_rows(ROWS)
        results["load"] = {"rows": ROWS, "seconds": round(seconds, 1)}
        print(json.dumps(results["load"]), flush=True)
    results["search"] = bench_search(sample)
    print(json.dumps(results["search"], indent=2), flush=True)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "index.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
