"""Where the recordings page's time goes when the index answers, in process, phase by phase.

Against a database ``bench_list_index.py`` prepared (1,000,000 rows, the last 30 days marked
complete and fresh): the SQL of one page, each statement timed, then the phases.

    cd bench && BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vp_index_bench \\
        ../.venv/bin/python profile_list_index.py
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from harness import ROOT

N = int(os.environ.get("BENCH_N", "60"))


def ms(fn: Callable[[], object]) -> float:
    for _ in range(5):
        fn()
    samples = []
    for _ in range(N):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vonoportal.settings",
        SECRET_KEY="bench",
        AUDIT_HMAC_KEY="bench-audit-key-0123456789",
        DEBUG="false",
        ALLOWED_HOSTS="localhost",
        VONO_BASE_URL="http://127.0.0.1:9/api",
        VONO_API_TOKEN="t",
        VONO_API_KEY="k",
        DATABASE_URL=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vp_index_bench"
        ),
        CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/10"),
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from recordings import listing, vono

    day = dt.datetime.now(ZoneInfo("America/Sao_Paulo")).date() - dt.timedelta(days=1)
    client = Client(HTTP_HOST="localhost")
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="supervisor"))
    url = f"/recordings/?date_ini={day}&date_end={day}&per_page=100"
    search = listing.ListSearch(filters=vono.RecordingFilter(date_ini=day, date_end=day))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert b"data-index-age" in response.content, "the index is not fresh: run bench_list_index.py"
    print(f"{len(queries)} statements for one page:")
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                print(f"  {'-':>7}     {sql[:150]}")
                continue

            def run(sql: str = sql) -> None:
                cursor.execute(sql)
                cursor.fetchall()

            print(f"  {ms(run):7.2f} ms  {sql[:150]}")
    rows = listing.rows(search, scope=None)
    from index import selectors

    phases = {
        "listing.plan (coverage + sync state)": ms(lambda: listing.plan(search, None)),
        "page_of: totals + 100 rows": ms(lambda: selectors.page_of(rows, start=0, count=100)),
        "100 rows alone": ms(lambda: list(rows[:100])),
        "whole request (Django test client)": ms(lambda: client.get(url)),
    }
    width = max(map(len, phases))
    for name, value in phases.items():
        print(f"{name:<{width}}  {value:6.2f} ms")


if __name__ == "__main__":
    main()
