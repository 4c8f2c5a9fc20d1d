"""The recording index at production scale, on PostgreSQL.

1. Sync ingest: a full sync (``sync_run(full=True)``, page ``limit`` 500, no rate cap) from a
   simulator holding BENCH_SIM_COUNT recordings over 60 days, into an empty index; the peak
   Python memory of the run (tracemalloc) at two sizes shows whether it stays flat.
2. Search: 1,000,000 synthetic recordings generated inside PostgreSQL in time order, then
   partial-number searches as the list page would run them (first 100 rows in the default
   order, the total count, and the count up to 1,000), p50/p95 over many typed fragments:
   first the old query (LIKE, migration 0002's trigram index), then ``index.selectors.search``
   (runs of four digits, migration 0003), on the same rows in the same run.
   ``BENCH_SEARCH_ONLY=1`` reuses the rows loaded before; ``BENCH_SIM_COUNTS=`` skips ingest.
   Each ingest runs with the reports' rollup triggers and again without them (their cost).

    cd bench && BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vp_index_bench \\
        ../.venv/bin/python bench_index.py

The database named is emptied (its index tables truncated). Results: bench/results/index.json.
"""

from __future__ import annotations

import importlib
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
from typing import Any

from harness import AUDIT_KEY, KEY, PYTHON, ROOT, TOKEN, free_port, wait_for

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
SIM_COUNTS = [int(c) for c in os.environ.get("BENCH_SIM_COUNTS", "12000,48000").split(",") if c]
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vp_index_bench"
)
SEARCHES = int(os.environ.get("BENCH_SEARCHES", "300"))


def setup_django(sim_port: int) -> None:
    os.environ.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "AUDIT_HMAC_KEY": AUDIT_KEY,
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


ROLLUP_TRIGGERS = ("reports_rollup_insert", "reports_rollup_update", "reports_rollup_delete")


def _rollups(enabled: bool) -> None:
    """Switch the reports' rollup triggers (a throwaway database: the bench's own)."""
    from django.db import connection

    verb = "ENABLE" if enabled else "DISABLE"
    with connection.cursor() as cursor:
        for name in ROLLUP_TRIGGERS:
            cursor.execute(f"ALTER TABLE index_indexedrecording {verb} TRIGGER {name}")


def bench_ingest(count: int, *, rollups: bool = True) -> dict[str, float | bool]:
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
        _rollups(rollups)
        tracemalloc.start()
        started = time.perf_counter()
        try:
            result = sync.sync_run(days=60, full=True)
        finally:
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            _rollups(True)
        assert result.status == "done", result
        return {
            "sim_records": count,
            "rollup_triggers": rollups,
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
), calls AS (
    SELECT *, CASE WHEN outbound THEN ext || ' ' || phone || ' ' || ext
                   ELSE phone || ' ' || ext || ' ' || phone END AS nums
    FROM base
)
INSERT INTO index_indexedrecording (
    record_id, customer_id, calldate, call_day, clid, source, destination, numbers,
    duration, size, duration_text, size_text, first_seen, last_seen, gone_at, gone_how,
    number_grams)
SELECT 1000000 + g, customer, cd, (cd AT TIME ZONE 'America/Sao_Paulo')::date,
       CASE WHEN outbound THEN ext ELSE '55' || phone END,
       CASE WHEN outbound THEN ext ELSE '55' || phone END,
       CASE WHEN outbound THEN '55' || phone ELSE ext END,
       nums, dur, dur * 4000, '', '', now(), now(), NULL, '', GRAMS
FROM calls
ORDER BY cd  -- written in time order, as the sync writes day after day
"""


def load_rows(rows: int) -> tuple[float, list[str]]:
    """Generate ``rows`` synthetic recordings inside PostgreSQL (the numbers normalised as
    index.numbers does: a national number without 55); returns seconds and sample phones."""
    from django.db import connection

    grams_of = importlib.import_module("index.migrations.0003_number_grams").GRAMS_OF
    truncate()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(LOAD_SQL.replace("GRAMS", grams_of.format(numbers="nums")), [rows])
        cursor.execute("VACUUM ANALYZE index_indexedrecording")
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


def old_search(text: str) -> Any:
    """The query before runs of four digits: LIKE alone, served by the pg_trgm index."""
    from index.models import IndexedRecording
    from index.numbers import normalise_query

    return IndexedRecording.objects.filter(
        gone_at__isnull=True, numbers__contains=normalise_query(text)
    ).order_by("-calldate", "-record_id")


TRIGRAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS index_rec_numbers_trgm ON index_indexedrecording "
    "USING gin (numbers gin_trgm_ops)"
)


STATISTICS = "ALTER TABLE index_indexedrecording ALTER COLUMN numbers SET STATISTICS"


def bench_search(sample: list[str]) -> dict[str, object]:
    """Each typed fragment through the old query (LIKE, the pg_trgm index of migration 0002)
    and then the new one (runs of four digits, migration 0003), on the same rows in the same
    run; rows and counts must agree."""
    from django.db import connection

    from index.selectors import count_up_to, search

    rng = random.Random(5)
    typed: list[tuple[str, str]] = []
    for _ in range(SEARCHES):
        phone = rng.choice(sample)[2:]  # national number
        kind = rng.random()
        if kind < 0.25:
            typed.append(("whole, formatted", f"({phone[:2]}) {phone[2:-4]}-{phone[-4:]}"))
        elif kind < 0.5:
            typed.append(("whole, +55", f"+55 {phone[:2]} {phone[2:]}"))
        elif kind < 0.8:
            start = rng.randrange(0, len(phone) - 5)
            typed.append(("5-7 digits", phone[start : start + rng.randrange(5, 8)]))
        else:
            typed.append(("extension", str(rng.randrange(4101, 4200))))  # many matches
    result: dict[str, object] = {"searches": len(typed)}
    answers: dict[str, list[tuple[list[int], int]]] = {}
    for name, query in (("old", old_search), ("new", lambda t: search(number=t))):
        with connection.cursor() as cursor:
            if name == "old":  # migration 0002's index and default statistics
                cursor.execute(TRIGRAM_INDEX)
                cursor.execute(f"{STATISTICS} -1")
            else:  # migration 0003's
                cursor.execute("DROP INDEX IF EXISTS index_rec_numbers_trgm")
                cursor.execute(f"{STATISTICS} 1000")
            cursor.execute("ANALYZE index_indexedrecording")
        result[f"{name}_load_average_before"] = os.getloadavg()
        times: dict[str, list[float]] = {}
        answers[name] = []
        for kind, text in typed:
            started = time.perf_counter()
            rows = [r.record_id for r in query(text)[:100]]
            page = (time.perf_counter() - started) * 1000
            counted_rows = (
                old_search(text) if name == "old" else search(number=text, for_count=True)
            )
            started = time.perf_counter()
            count = counted_rows.count()
            counted = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            capped, more = count_up_to(counted_rows)
            capped_ms = (time.perf_counter() - started) * 1000
            assert capped == min(count, 1000) and more == (count > 1000)
            answers[name].append((rows, count))
            for part, ms in (
                ("page", page),
                ("count", counted),
                ("count_up_to_1000", capped_ms),
                ("page_and_count", page + counted),
                ("page_and_count_up_to_1000", page + capped_ms),
            ):
                times.setdefault(part, []).append(ms)
                times.setdefault(f"{part}[{kind}]", []).append(ms)
        for part, values in times.items():
            result[f"{name}_{part}_p50_ms"] = round(statistics.median(values), 2)
            result[f"{name}_{part}_p95_ms"] = round(percentile(values, 0.95), 2)
        result[f"{name}_load_average_after"] = os.getloadavg()
    assert answers["old"] == answers["new"]
    hits = [count for _, count in answers["new"]]
    result["matches_median"] = statistics.median(hits)
    result["matches_max"] = max(hits)
    return result


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
        # With the rollup triggers and without them, alternately: what the charts' rollups
        # cost the sync (BENCH_INGEST_ROUNDS rounds of each).
        rounds = int(os.environ.get("BENCH_INGEST_ROUNDS", "1"))
        results["ingest"] = [
            bench_ingest(count, rollups=rollups)
            for _ in range(rounds)
            for count in SIM_COUNTS
            for rollups in (True, False)
        ]
        print(json.dumps(results["ingest"], indent=2), flush=True)
        seconds, sample = load_rows(ROWS)
        results["load"] = {"rows": ROWS, "seconds": round(seconds, 1)}
        print(json.dumps(results["load"]), flush=True)
    if sample:
        results["search"] = bench_search(sample)
        print(json.dumps(results["search"], indent=2), flush=True)
    else:  # too few rows loaded (BENCH_ROWS) to type numbers from
        print("no numbers to search: raise BENCH_ROWS", file=sys.stderr)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "index.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
