"""A team's list from the index, on PostgreSQL: with and without the lower(source) and
lower(destination) indexes (index/migrations/0004), side by side in the same run.

BENCH_ROWS synthetic recordings (default 1,000,000; half outbound from an extension 1000-9999,
half inbound to one) are loaded with one INSERT ... SELECT generate_series; then, for a team
scoped to ``4101-4120, 2003`` (about 0.2% of the rows), the list's two queries (the total
count, and the first 25 rows newest first) are timed BENCH_REPEATS times through
``index.selectors.search``, then again inside a transaction that drops the two indexes.

    cd bench && BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vp_scope \\
        ../.venv/bin/python bench_scope.py

The database named is migrated and its index table emptied. Results: bench/results/scope.json.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import time

from harness import AUDIT_KEY, ROOT

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "30"))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vp_scope")
TEAM = "4101-4120, 2003"


def setup_django() -> None:
    os.environ.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "AUDIT_HMAC_KEY": AUDIT_KEY,
            "DEBUG": "false",
            "DATABASE_URL": DATABASE_URL,
            "VONO_BASE_URL": "http://127.0.0.1:9/api",
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


LOAD = """
TRUNCATE index_indexedrecording;
INSERT INTO index_indexedrecording (record_id, customer_id, calldate, call_day, clid, source,
    destination, numbers, duration, size, duration_text, size_text, first_seen, last_seen,
    gone_at, gone_how)
SELECT i, (i %% 4) + 1, now() - (i || ' seconds')::interval,
    (now() - (i || ' seconds')::interval)::date, '',
    CASE WHEN i %% 2 = 0 THEN (1000 + i %% 9000)::text ELSE '55419' || (10000000 + i)::text END,
    CASE WHEN i %% 2 = 1 THEN (1000 + i %% 9000)::text ELSE '55419' || (10000000 + i)::text END,
    '', i %% 600, 1000, '', '', now(), now(), NULL, ''
FROM generate_series(1, %s) i;
ANALYZE index_indexedrecording;
"""


def timed() -> dict[str, float | int]:
    from index import selectors
    from recordings.scope import Scope, parse_extensions

    scope = Scope(None, parse_extensions(TEAM))
    counts, pages = [], []
    total = 0
    for _ in range(REPEATS):
        rows = selectors.search(scope=scope)
        start = time.perf_counter()
        total = rows.count()
        counts.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        list(rows[:25])
        pages.append((time.perf_counter() - start) * 1000)
    return {
        "matching": total,
        "count_p50_ms": round(statistics.median(counts), 2),
        "page_p50_ms": round(statistics.median(pages), 2),
    }


def main() -> None:
    setup_django()
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(LOAD, [ROWS])
    with_indexes = timed()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX index_rec_source_lower; DROP INDEX index_rec_dest_lower;")
        without_indexes = timed()
        transaction.set_rollback(True)  # the indexes stay
    result = {"rows": ROWS, "team": TEAM, "with": with_indexes, "without": without_indexes}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "scope.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
