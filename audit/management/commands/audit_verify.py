"""Check the audit log's chain, from the first event to the last, against its checkpoints."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit log's HMAC chain from one consistent snapshot, and the signed "
        "checkpoints in AUDIT_CHECKPOINT_DIR; name the first broken or missing event."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain()
        broken = result.broken
        if broken is not None:
            where = f"event #{broken.seq}" + (f" (id {broken.event_id})" if broken.event_id else "")
            raise CommandError(
                f"audit chain broken at {where}: {broken.reason}; "
                f"{result.checked} event(s) before it are intact"
            )
        self.stdout.write(
            f"audit chain intact: {result.checked} event(s) verified, "
            f"{result.checkpoints} signed checkpoint(s) matched"
        )
