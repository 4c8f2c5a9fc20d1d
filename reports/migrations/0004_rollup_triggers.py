"""PostgreSQL keeps the rollups (reports.HourCount, DurationCount, ExtensionCount) in step with
the index: statement triggers on index_indexedrecording add present recordings' counts on
insert, move them when a counted field or ``gone_at`` changes, take them back on delete, and
empty the rollups on TRUNCATE, in the statement's own transaction. Existing rows are counted once here. SQLite: nothing (the charts
read the index there).

The hour, duration class and extension are computed as ``reports.selectors`` computes them
on the index; a test on PostgreSQL checks both ways give the same figures.
"""

# ruff: noqa: S608 - constant SQL built from constants, no input reaches it

from typing import Any

from django.db import migrations

# One grouped upsert per table and statement (transition tables), not one per row: the sync
# writes a page of 500 recordings in one statement. ``{delta}`` is the set of changed rows
# with a ``sign``: +1 counts a present recording in, -1 takes one out. Three statements, one
# table after the other, each locking its rows in key order (ORDER BY): two transactions
# moving the same counts (a sync page, a deletion) wait for each other, never deadlock.
KEYED = """
WITH d AS ({delta}), k AS (
    SELECT call_day, coalesce(customer_id, -1) AS c, sign, duration,
           coalesce(size, 0) AS size,
           extract(hour FROM calldate AT TIME ZONE 'America/Sao_Paulo')::integer AS h,
           CASE WHEN duration < 30 THEN 0 WHEN duration < 60 THEN 1 WHEN duration < 120 THEN 2
                WHEN duration < 300 THEN 3 WHEN duration < 600 THEN 4
                WHEN duration < 1200 THEN 5 WHEN duration < 1800 THEN 6 ELSE 7 END AS b,
           CASE WHEN source > '' AND destination > '' AND length(destination) < length(source)
                THEN destination ELSE source END AS e
    FROM d
)"""
APPLY = (
    KEYED
    + """
INSERT INTO reports_hourcount AS t (day, customer_id, hour, calls, seconds, bytes)
SELECT call_day, c, h, sum(sign), sum(sign * duration), sum(sign * size) FROM k
GROUP BY call_day, c, h ORDER BY call_day, c, h
ON CONFLICT (day, customer_id, hour) DO UPDATE
    SET calls = t.calls + EXCLUDED.calls, seconds = t.seconds + EXCLUDED.seconds,
        bytes = t.bytes + EXCLUDED.bytes;
"""
    + KEYED
    + """
INSERT INTO reports_durationcount AS t (day, customer_id, bucket, calls)
SELECT call_day, c, b, sum(sign) FROM k GROUP BY call_day, c, b ORDER BY call_day, c, b
ON CONFLICT (day, customer_id, bucket) DO UPDATE SET calls = t.calls + EXCLUDED.calls;
"""
    + KEYED
    + """
INSERT INTO reports_extensioncount AS t (day, customer_id, extension, calls, seconds)
SELECT call_day, c, e, sum(sign), sum(sign * duration) FROM k WHERE e > ''
GROUP BY call_day, c, e ORDER BY call_day, c, e
ON CONFLICT (day, customer_id, extension) DO UPDATE
    SET calls = t.calls + EXCLUDED.calls, seconds = t.seconds + EXCLUDED.seconds;
"""
)
COLUMNS = "call_day, customer_id, calldate, duration, size, source, destination"
# The sync rewrites last_seen on every read: only a change the charts count moves them.
CHANGED = (
    "(o.gone_at, o.calldate, o.call_day, o.customer_id, o.duration, o.size, o.source, "
    "o.destination) IS DISTINCT FROM (n.gone_at, n.calldate, n.call_day, n.customer_id, "
    "n.duration, n.size, n.source, n.destination)"
)
INSERTED = f"SELECT {COLUMNS}, 1 AS sign FROM new_rows WHERE gone_at IS NULL"
DELETED = f"SELECT {COLUMNS}, -1 AS sign FROM old_rows WHERE gone_at IS NULL"
OLD_COLUMNS = ", ".join(f"o.{c.strip()}" for c in COLUMNS.split(","))
NEW_COLUMNS = ", ".join(f"n.{c.strip()}" for c in COLUMNS.split(","))
UPDATED = (
    f"SELECT {OLD_COLUMNS}, -1 AS sign FROM old_rows o JOIN new_rows n USING (record_id) "
    f"WHERE o.gone_at IS NULL AND {CHANGED} "
    f"UNION ALL SELECT {NEW_COLUMNS}, 1 AS sign FROM old_rows o JOIN new_rows n "
    f"USING (record_id) WHERE n.gone_at IS NULL AND {CHANGED}"
)


def _function(name: str, delta: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{APPLY.format(delta=delta)}\nRETURN NULL;\nEND $$;\n"
    )


FUNCTIONS = (
    _function("reports_rollup_inserted", INSERTED)
    + _function("reports_rollup_deleted", DELETED)
    + _function("reports_rollup_updated", UPDATED)
    + """
CREATE OR REPLACE FUNCTION reports_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE reports_hourcount, reports_durationcount, reports_extensioncount;
    RETURN NULL;
END $$;

CREATE TRIGGER reports_rollup_insert AFTER INSERT ON index_indexedrecording
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_inserted();
CREATE TRIGGER reports_rollup_delete AFTER DELETE ON index_indexedrecording
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_deleted();
CREATE TRIGGER reports_rollup_update AFTER UPDATE ON index_indexedrecording
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_updated();
CREATE TRIGGER reports_rollup_truncate AFTER TRUNCATE ON index_indexedrecording
    FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_truncate();
"""
)

BACKFILL = """
WITH present AS (
    SELECT call_day, coalesce(customer_id, -1) AS c, duration, coalesce(size, 0) AS size,
           extract(hour FROM calldate AT TIME ZONE 'America/Sao_Paulo')::integer AS h,
           CASE WHEN duration < 30 THEN 0 WHEN duration < 60 THEN 1 WHEN duration < 120 THEN 2
                WHEN duration < 300 THEN 3 WHEN duration < 600 THEN 4
                WHEN duration < 1200 THEN 5 WHEN duration < 1800 THEN 6 ELSE 7 END AS b,
           CASE WHEN source > '' AND destination > '' AND length(destination) < length(source)
                THEN destination ELSE source END AS e
    FROM index_indexedrecording WHERE gone_at IS NULL
), hours AS (
    INSERT INTO reports_hourcount (day, customer_id, hour, calls, seconds, bytes)
    SELECT call_day, c, h, count(*), sum(duration), sum(size) FROM present
    GROUP BY call_day, c, h
), buckets AS (
    INSERT INTO reports_durationcount (day, customer_id, bucket, calls)
    SELECT call_day, c, b, count(*) FROM present GROUP BY call_day, c, b
)
INSERT INTO reports_extensioncount (day, customer_id, extension, calls, seconds)
SELECT call_day, c, e, count(*), sum(duration) FROM present WHERE e > ''
GROUP BY call_day, c, e;
"""

DROP = """
DROP TRIGGER IF EXISTS reports_rollup_insert ON index_indexedrecording;
DROP TRIGGER IF EXISTS reports_rollup_delete ON index_indexedrecording;
DROP TRIGGER IF EXISTS reports_rollup_update ON index_indexedrecording;
DROP TRIGGER IF EXISTS reports_rollup_truncate ON index_indexedrecording;
DROP FUNCTION IF EXISTS reports_rollup_inserted();
DROP FUNCTION IF EXISTS reports_rollup_deleted();
DROP FUNCTION IF EXISTS reports_rollup_updated();
DROP FUNCTION IF EXISTS reports_rollup_truncate();
TRUNCATE reports_hourcount, reports_durationcount, reports_extensioncount;
"""


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        # Without parameters: several statements, and the $$ bodies, in one go.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FUNCTIONS)
            cursor.execute(BACKFILL)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_rollups"),
        ("index", "0002_trigram_search"),
    ]

    operations = [migrations.RunPython(create, drop)]
