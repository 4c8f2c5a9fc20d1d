"""Create the demo users, one per role, for ``make run``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts import roles

DEMO_USERS = (
    ("supervisor", roles.SUPERVISORS, "Sara Supervisora"),
    ("qa", roles.QA_REVIEWERS, "Quésia Revisora"),
    ("admin", roles.ADMINISTRATORS, "Adão Administrador"),
    ("admin2", roles.ADMINISTRATORS, "Alice Administradora"),
    ("access", roles.ACCESS_MANAGERS, "Gustavo Gestor"),
    ("access2", roles.ACCESS_MANAGERS, "Gabriela Gestora"),
)
DEMO_PASSWORD = "vono-demo"  # noqa: S105 - printed by make run; demo databases only


class Command(BaseCommand):
    help = (
        "Create the demo users supervisor, qa, admin, admin2, access and access2 "
        "(password vono-demo)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        roles.ensure_groups()
        user_model = get_user_model()
        for username, group_name, full_name in DEMO_USERS:
            first, _, last = full_name.partition(" ")
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.is_staff = group_name == roles.ADMINISTRATORS
                user.save()
            user.groups.set([Group.objects.get(name=group_name)])
            self.stdout.write(f"{'created' if created else 'kept'} {username} ({group_name})")
