"""PostgreSQL keeps the rollups (reports.HourCount, DurationCount, ExtensionCount) in step with
the index: triggers on index_indexedrecording add a present recording's counts on insert,
move them when a counted field or ``gone_at`` changes, take them back on delete, and empty
the rollups on TRUNCATE. Existing rows are counted once here. SQLite: nothing (the charts
read the index there).

The hour, duration class and extension are computed as ``reports.selectors`` computes them
on the index; a test on PostgreSQL checks both ways give the same figures.
"""

from typing import Any

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION reports_rollup_apply(r index_indexedrecording, sign integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c integer := coalesce(r.customer_id, -1);
    h integer := extract(hour FROM r.calldate AT TIME ZONE 'America/Sao_Paulo');
    b integer := CASE WHEN r.duration < 30 THEN 0 WHEN r.duration < 60 THEN 1
                      WHEN r.duration < 120 THEN 2 WHEN r.duration < 300 THEN 3
                      WHEN r.duration < 600 THEN 4 WHEN r.duration < 1200 THEN 5
                      WHEN r.duration < 1800 THEN 6 ELSE 7 END;
    e text := CASE WHEN r.source > '' AND r.destination > ''
                        AND length(r.destination) < length(r.source)
                   THEN r.destination ELSE r.source END;
BEGIN
    INSERT INTO reports_hourcount AS t (day, customer_id, hour, calls, seconds, bytes)
    VALUES (r.call_day, c, h, sign, sign * r.duration, sign * coalesce(r.size, 0))
    ON CONFLICT (day, customer_id, hour) DO UPDATE
        SET calls = t.calls + EXCLUDED.calls, seconds = t.seconds + EXCLUDED.seconds,
            bytes = t.bytes + EXCLUDED.bytes;
    INSERT INTO reports_durationcount AS t (day, customer_id, bucket, calls)
    VALUES (r.call_day, c, b, sign)
    ON CONFLICT (day, customer_id, bucket) DO UPDATE SET calls = t.calls + EXCLUDED.calls;
    IF e > '' THEN
        INSERT INTO reports_extensioncount AS t (day, customer_id, extension, calls, seconds)
        VALUES (r.call_day, c, e, sign, sign * r.duration)
        ON CONFLICT (day, customer_id, extension) DO UPDATE
            SET calls = t.calls + EXCLUDED.calls, seconds = t.seconds + EXCLUDED.seconds;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION reports_rollup_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.gone_at IS NULL THEN
        PERFORM reports_rollup_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.gone_at IS NULL THEN
        PERFORM reports_rollup_apply(NEW, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reports_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE reports_hourcount, reports_durationcount, reports_extensioncount;
    RETURN NULL;
END $$;

CREATE TRIGGER reports_rollup_insert_delete
    AFTER INSERT OR DELETE ON index_indexedrecording
    FOR EACH ROW EXECUTE FUNCTION reports_rollup_row();
-- The sync rewrites last_seen on every read: only a change the charts count moves them.
CREATE TRIGGER reports_rollup_update
    AFTER UPDATE ON index_indexedrecording
    FOR EACH ROW
    WHEN (OLD.gone_at IS DISTINCT FROM NEW.gone_at
          OR OLD.calldate IS DISTINCT FROM NEW.calldate
          OR OLD.call_day IS DISTINCT FROM NEW.call_day
          OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
          OR OLD.duration IS DISTINCT FROM NEW.duration
          OR OLD.size IS DISTINCT FROM NEW.size
          OR OLD.source IS DISTINCT FROM NEW.source
          OR OLD.destination IS DISTINCT FROM NEW.destination)
    EXECUTE FUNCTION reports_rollup_row();
CREATE TRIGGER reports_rollup_truncate
    AFTER TRUNCATE ON index_indexedrecording
    FOR EACH STATEMENT EXECUTE FUNCTION reports_rollup_truncate();
"""

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
DROP TRIGGER IF EXISTS reports_rollup_insert_delete ON index_indexedrecording;
DROP TRIGGER IF EXISTS reports_rollup_update ON index_indexedrecording;
DROP TRIGGER IF EXISTS reports_rollup_truncate ON index_indexedrecording;
DROP FUNCTION IF EXISTS reports_rollup_row();
DROP FUNCTION IF EXISTS reports_rollup_truncate();
DROP FUNCTION IF EXISTS reports_rollup_apply(index_indexedrecording, integer);
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
