"""python manage.py sync_recordings [--days N] [--full] [--force] [--enqueue]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from index import services, sync


class Command(BaseCommand):
    help = "Bring the recording index up to date with Vono (or queue the periodic sync)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="the window in days (default INDEX_DAYS)")
        parser.add_argument("--full", action="store_true", help="re-read every day completely")
        parser.add_argument("--force", action="store_true", help="ignore the failure backoff")
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="queue the periodic sync on the worker (manage.py db_worker) and return",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            queued = services.start_up()
            self.stdout.write("periodic sync queued" if queued else "periodic sync already queued")
            return
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        result = sync.sync_run(days=days, full=options["full"], force=options["force"])
        self.stdout.write(
            f"{result.status}: {result.days_read} days read, {result.days_checked} checked, "
            f"{result.records} records, {result.requests} requests"
        )
        for error in result.errors:
            self.stderr.write(error)
        if result.status in ("failed", "busy", "backoff"):
            raise CommandError(f"sync {result.status}")
