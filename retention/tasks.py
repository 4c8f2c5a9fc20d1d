"""The daily retention run, on the existing worker (manage.py db_worker): no scheduler.

``retention_daily`` runs every policy in force, then queues its own next run with
``run_after``. Approving a policy queues a run at once; the schedule row keeps one task
waiting however many workers there are.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.tasks import task

from retention import services


@task()
def retention_daily(due: str) -> int:
    """One daily run (the deletions it queues run as their own tasks), then the next one."""
    if not services.take_turn(due):
        return 0  # an earlier task took this turn
    try:
        started = services.run_all()
    finally:
        services.schedule_next(after=dt.timedelta(hours=settings.RETENTION_RUN_HOURS))
    return len(started)
