"""Check every user's account seal; after a key rotation, remake valid seals with the new key."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import seal


class Command(BaseCommand):
    help = (
        "List the users whose account seal does not verify (someone wrote their row outside "
        "the app: they cannot sign in). With --rekey, remake every valid seal made with a "
        "retired key (AUDIT_HMAC_OLD_KEYS) with the current one, so that key can be dropped. "
        "An invalid seal is never remade here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rekey", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        invalid, rekeyed = seal.audit_seals(get_user_model(), rekey=options["rekey"])
        if options["rekey"]:
            self.stdout.write(f"{rekeyed} seal(s) remade with the current key")
        if invalid:
            raise CommandError(
                f"{len(invalid)} user(s) without a valid account seal: {', '.join(invalid)}"
            )
        self.stdout.write("every account seal verifies")
