"""The call-volume charts over a year of 1,000,000 calls, on PostgreSQL.

1,000,000 synthetic recordings over the last 365 days are generated inside PostgreSQL (as
bench_index.py does): business hours, weekdays busier than weekends, four subscribers with
their extensions, a lognormal-ish duration. Then, in process, p50/p95 over repeated runs of:

- ``reports.selectors.report`` for the whole year (every chart: five aggregate queries on
  the rollups the triggers keep), and narrowed to one subscriber, one month, and to one
  extension or one number fragment (those are counted on the index itself);
- the same year counted on the index itself (``rollups=False``), side by side;
- each chart's queries alone, both ways, to show where the time goes;
- the page end to end through Django's test client (auth, the figures, the template);

and in the same run: the floor on the index (one ``COUNT(*)`` over the same rows) and the
naive way (every row fetched and counted in Python, one chart's worth).

    cd bench && BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vp_reports \\
        ../.venv/bin/python bench_reports.py

The database named is emptied (its index table truncated). Results: bench/results/reports.json.
``BENCH_REPORTS_REUSE=1`` keeps rows a previous run loaded.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from harness import AUDIT_KEY, ROOT

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vp_reports")

LOAD_SQL = """
WITH base AS (
    SELECT g,
           -- a day of the last year, weekdays three times as likely as weekend days
           (current_date - (floor(random() * 365))::int) AS day,
           -- 07:30 to 21:00, busiest late morning (a triangle, like the simulator's)
           CASE WHEN random() < 0.5
                THEN 27000 + sqrt(random()) * 12600
                ELSE 75600 - sqrt(random()) * 36000 END AS second_of_day,
           random() AS weekend_roll,
           (array[3, 7, 12, 21])[1 + floor(random() * 4)::int] AS customer,
           floor(random() * 20)::int AS agent,
           (array['11','21','31','41','47','48','51','61','71','81','85','19'])
               [1 + floor(random() * 12)::int]
           || '9' || lpad(floor(random() * 100000000)::bigint::text, 8, '0') AS phone,
           random() < 0.55 AS outbound,
           least(2700, greatest(3, floor(exp(4.9 + 0.8 * (random() + random() + random()
               - 1.5) * 2))::int)) AS dur
    FROM generate_series(0, %s - 1) AS g
), calls AS (
    SELECT g, customer, phone, outbound, dur,
           ((CASE WHEN extract(isodow FROM day) >= 6 AND weekend_roll < 0.65
                  THEN day - 2 ELSE day END)::timestamp
            + second_of_day * interval '1 second') AT TIME ZONE 'America/Sao_Paulo' AS cd,
           (customer * 1000 + 100 + agent)::text AS ext
    FROM base
), numbered AS (
    SELECT *, CASE WHEN outbound THEN ext || ' ' || phone || ' ' || ext
                   ELSE phone || ' ' || ext || ' ' || phone END AS nums
    FROM calls
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
FROM numbered
"""


def setup_django() -> None:
    os.environ.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "AUDIT_HMAC_KEY": AUDIT_KEY,
            "DEBUG": "false",
            "DATABASE_URL": DATABASE_URL,
            "VONO_BASE_URL": "http://127.0.0.1:9/api",  # never called: the charts read the index
            "VONO_API_TOKEN": "bench",
            "VONO_API_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "vonoportal.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load_rows(rows: int) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE index_indexedrecording")
        # The index's runs of four digits, as its migration computes them.
        grams_of = importlib.import_module("index.migrations.0003_number_grams").GRAMS_OF
        cursor.execute(LOAD_SQL.replace("GRAMS", grams_of.format(numbers="nums")), [rows])
        cursor.execute("VACUUM ANALYZE index_indexedrecording")
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(action: Callable[[], object], runs: int = RUNS) -> dict[str, float]:
    action()  # warm: plans cached, pages in shared buffers
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
    }


def main() -> None:
    setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from index.models import IndexedRecording
    from reports import selectors
    from reports.forms import ReportFilter

    results: dict[str, object] = {"database": DATABASE_URL.rsplit("@", 1)[-1], "rows": ROWS}
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        results["server"] = cursor.fetchone()[0].split(" on ")[0]
    if not os.environ.get("BENCH_REPORTS_REUSE"):
        results["load_seconds"] = round(load_rows(ROWS), 1)
        print("loaded", results["load_seconds"], "s", flush=True)
    today = dt.date.today()
    year = ReportFilter(date_ini=today - dt.timedelta(days=364), date_end=today)
    rows_in_year = IndexedRecording.objects.filter(call_day__gte=year.date_ini).count()
    results["rows_in_year"] = rows_in_year

    cases = {
        "a year, every subscriber": year,
        "a year, one subscriber": ReportFilter(
            date_ini=year.date_ini, date_end=today, customer_id=7
        ),
        "a year, one extension": ReportFilter(
            date_ini=year.date_ini, date_end=today, extension="7105"
        ),
        "a year, a number fragment": ReportFilter(
            date_ini=year.date_ini, date_end=today, number="98597"
        ),
        "the last 30 days": ReportFilter(date_ini=today - dt.timedelta(days=29), date_end=today),
    }
    figures: dict[str, object] = {}
    for name, filters in cases.items():
        figures[name] = {
            **timed(lambda f=filters: selectors.report(f, scope=None)),
            "calls": selectors.report(filters, scope=None).calls,
        }
        print(name, figures[name], flush=True)
    results["report"] = figures
    # The same year counted on the index itself, as SQLite (and a number or extension) does.
    results["report_on_the_index"] = timed(
        lambda: selectors.report(year, scope=None, rollups=False), runs=3
    )
    print("on the index", results["report_on_the_index"], flush=True)

    parts: dict[str, object] = {}
    for part in ("totals", "heatmap", "durations", "extensions"):
        parts[part] = {
            "rollups": timed(
                lambda p=part: selectors.report(year, scope=None, parts=frozenset({p}))
            ),
            "index": timed(
                lambda p=part: selectors.report(
                    year, scope=None, parts=frozenset({p}), rollups=False
                ),
                runs=3,
            ),
        }
        print(part, parts[part], flush=True)
    results["queries"] = parts

    base = selectors.matching(year, scope=None)
    results["floor_count"] = timed(lambda: base.count())
    print("floor", results["floor_count"], flush=True)

    def naive() -> int:
        per_day: Counter[tuple[object, object]] = Counter()
        for day, customer in base.values_list("call_day", "customer_id").iterator(chunk_size=10000):
            per_day[(day, customer)] += 1
        return len(per_day)

    results["naive_python_one_chart"] = timed(naive, runs=2)
    print("naive", results["naive_python_one_chart"], flush=True)

    setup_test_environment()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import ensure_groups

    ensure_groups()
    user, _ = get_user_model().objects.get_or_create(username="bench-reports")
    user.groups.set([Group.objects.get(name="Supervisores")])
    client = Client()
    client.force_login(user)
    query = f"/reports/?date_ini={year.date_ini}&date_end={today}"

    def page() -> None:
        response = client.get(query)
        assert response.status_code == 200, response.status_code

    results["page_end_to_end"] = timed(page)
    print("page", results["page_end_to_end"], flush=True)

    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "reports.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
