"""The index's periodic sync, on the existing worker (manage.py db_worker).

``sync_index`` runs one bounded sync and queues its own next run with ``run_after``: no
scheduler process. ``sync_recordings --enqueue`` (run by ``make run``) or the status page
seeds it; the lease and the claimed ``scheduled_for`` keep it single however many workers
there are.
"""

from __future__ import annotations

from django.conf import settings
from django.tasks import task

from index import services, sync


@task()
def sync_index() -> str:
    """One periodic run, then the next one queued."""
    result = sync.SyncResult(status="failed")
    try:
        result = sync.sync_run(budget_seconds=settings.INDEX_RUN_SECONDS)
    finally:
        services.schedule_next(after=services.delay_after(result))
    return result.status


@task()
def sync_index_now() -> str:
    """An admin's "sync now": one run ignoring the backoff; the periodic task carries on."""
    result = sync.sync_run(force=True, budget_seconds=settings.INDEX_RUN_SECONDS)
    if result.status == "partial":
        services.schedule_next(after=services.delay_after(result))
    return result.status
