"""Partial-number search by runs of four digits (index.numbers.grams) instead of trigrams.

Digit trigrams are too few (a thousand) to narrow a search: each is in tens of thousands of
rows. Runs of four digits are ten thousand, each in about a thousand rows at a million
recordings; a GIN index (jsonb_path_ops) finds the rows that hold all of a fragment's runs,
and LIKE on ``numbers`` confirms the fragment. The trigram index goes: beside this one the
planner ANDs both, paying for the long trigram lists again, and every sync write maintained
it. A fragment of one to three digits (thousands of matches) is found by walking the date
order. SQLite stores the runs too (the same code writes them) and searches with LIKE alone,
as before.
"""

from typing import Any

from django.db import migrations, models

INDEX = "index_rec_number_grams"
TRIGRAM_INDEX = "index_rec_numbers_trgm"  # migration 0002
# Every run of four digits of each space-separated number, as the Python does it.
GRAMS_OF = """COALESCE((
    SELECT jsonb_agg(DISTINCT g ORDER BY g) FROM (
        SELECT substr(w, i, 4)::int AS g
        FROM unnest(string_to_array({numbers}, ' ')) AS w,
             generate_series(1, length(w) - 3) AS i
        WHERE w ~ '^[0-9]+$'
    ) AS runs
), '[]'::jsonb)"""
FILL_SQL = "UPDATE index_indexedrecording AS r SET number_grams = " + GRAMS_OF.format(  # noqa: S608 (a constant)
    numbers="r.numbers"
)


def fill(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL_SQL)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON index_indexedrecording "
            "USING gin (number_grams jsonb_path_ops)"
        )
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
        # A finer histogram, so the planner sees that an extension is in thousands of rows
        # (and walks the date order for a page) rather than guessing a few dozen.
        schema_editor.execute(
            "ALTER TABLE index_indexedrecording ALTER COLUMN numbers SET STATISTICS 1000"
        )
        return
    from index.numbers import grams

    IndexedRecording = apps.get_model("index", "IndexedRecording")
    batch = []
    for row in IndexedRecording.objects.only("record_id", "numbers").iterator(chunk_size=2000):
        row.number_grams = grams(row.numbers)
        batch.append(row)
        if len(batch) == 2000:
            IndexedRecording.objects.bulk_update(batch, ["number_grams"])
            batch = []
    IndexedRecording.objects.bulk_update(batch, ["number_grams"])


def drop_index(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
        schema_editor.execute(
            "ALTER TABLE index_indexedrecording ALTER COLUMN numbers SET STATISTICS -1"
        )
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON index_indexedrecording "
            "USING gin (numbers gin_trgm_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("index", "0002_trigram_search")]

    operations = [
        migrations.AddField(
            model_name="indexedrecording",
            name="number_grams",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(fill, drop_index),
    ]
