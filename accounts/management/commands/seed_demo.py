"""Create the demo users, one per role, for ``make run``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounts import roles
from recordings.scope import canonical_extensions

DEMO_USERS = (
    ("supervisor", roles.SUPERVISORS, "Sara Supervisora"),
    ("qa", roles.QA_REVIEWERS, "Quésia Revisora"),
    ("admin", roles.ADMINISTRATORS, "Adão Administrador"),
    ("admin2", roles.ADMINISTRATORS, "Alice Administradora"),
    ("access", roles.ACCESS_MANAGERS, "Gustavo Gestor"),
    ("access2", roles.ACCESS_MANAGERS, "Gabriela Gestora"),
    ("coord", roles.QA_COORDINATORS, "Cora Coordenadora"),
    ("dpo", roles.DATA_PROTECTION_OFFICERS, "Débora Encarregada"),
)
# A team supervisor: only the calls of these extensions (in the simulator's subscribers 7
# and 21), listed from the index.
TEAM_USER = ("equipe", roles.SUPERVISORS, "Estela Equipe", "2003, 4101-4110")
DEMO_PASSWORD = "vono-demo"  # noqa: S105 - printed by make run; demo databases only


class Command(BaseCommand):
    help = (
        "Create the demo users supervisor, qa, admin, admin2, access, access2, coord, dpo and "
        "equipe (limited to extensions 2003, 4101-4110; password vono-demo), one retention "
        "policy awaiting approval, a published sample evaluation form and a review queue "
        "for qa."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            # Every demo user's password is printed in the README: on a real database it
            # would be a door anyone could open, an administrator's among them.
            raise CommandError(
                "seed_demo creates users whose password (vono-demo) is published: it runs "
                "only with DEBUG=1, as make run sets it. Nothing was created."
            )
        roles.ensure_groups()
        user_model = get_user_model()
        for username, group_name, full_name in DEMO_USERS:
            self._user(user_model, username, group_name, full_name)
        username, group_name, full_name, extensions = TEAM_USER
        user = self._user(user_model, username, group_name, full_name)
        user.extensions = canonical_extensions(extensions)
        user.save(update_fields=["extensions"])
        self._retention_policy_awaiting_approval()
        from qa.demo import seed_qa_demo

        self.stdout.write(seed_qa_demo())

    def _retention_policy_awaiting_approval(self) -> None:
        """One policy asked by admin, for admin2 to approve (or reject) in the demo."""
        from django.utils import timezone

        from retention import services as retention
        from retention.models import RetentionPolicy

        waiting = RetentionPolicy.objects.filter(
            status=RetentionPolicy.Status.PENDING, expires_at__gt=timezone.now()
        )
        if waiting.exists():
            self.stdout.write("kept the retention policy awaiting approval")
            return
        retention.policy_request(
            actor=get_user_model().objects.get(username="admin"),
            days=30,
            customer_id=12,
            reason="Demonstração: contrato do assinante 12 pede 30 dias.",
        )
        self.stdout.write("asked a retention policy (30 days, subscriber 12): admin2 approves")

    def _user(self, user_model: Any, username: str, group_name: str, full_name: str) -> Any:
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
        return user
