"""Partial-number search on PostgreSQL: pg_trgm and a GIN trigram index on ``numbers``.

SQLite has neither; there both operations do nothing and a search scans with LIKE, which
is fine at demo scale. Creating the extension needs a role allowed to (the superuser, or
``CREATE`` on the database with pg_trgm trusted, as it is since PostgreSQL 13).
"""

from typing import Any

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEX = "index_rec_numbers_trgm"


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)


class Migration(migrations.Migration):
    dependencies = [("index", "0001_initial")]

    operations = [
        TrigramExtension(),
        PostgresOnlySQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON index_indexedrecording "
            "USING gin (numbers gin_trgm_ops)",
            f"DROP INDEX IF EXISTS {INDEX}",
        ),
    ]
