"""Background tasks (Django's tasks framework, database-backed worker: manage.py db_worker)."""

from __future__ import annotations

from django.tasks import task

from deletions import services as deletions


@task()
def execute_deletion(deletion_id: int) -> str | None:
    """Carry out an approved deletion request (never inside a web request)."""
    return deletions.deletion_request_execute(deletion_id=deletion_id)
