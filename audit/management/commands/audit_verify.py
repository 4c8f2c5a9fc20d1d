"""Check the audit log's hash chain from the first event to the last."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's SHA-256 chain; name the first broken event."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        if broken is not None:
            where = f"event #{broken.seq}" + (f" (id {broken.event_id})" if broken.event_id else "")
            raise CommandError(
                f"audit chain broken at {where}: {broken.reason}; "
                f"{checked} event(s) before it are intact"
            )
        self.stdout.write(f"audit chain intact: {checked} event(s) verified")
