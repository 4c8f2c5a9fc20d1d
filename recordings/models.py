from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A portal user. ``customer_id`` limits them to one Vono subscriber, ``extensions`` to
    the calls of a set of extensions (``recordings.scope``); both may apply."""

    customer_id = models.PositiveIntegerField(
        _("assinante"),
        null=True,
        blank=True,
        help_text=_(
            "Se preenchido, o usuário só vê as gravações deste assinante (customer_id do Vono)."
        ),
    )

    # Canonical text of recordings.scope.parse_extensions ("2003, 4101-4120"); empty: no limit.
    extensions = models.TextField(
        _("ramais"),
        blank=True,
        default="",
        db_default="",  # rows written by raw SQL (a restore, a DBA) are unlimited by extension
        help_text=_(
            "Se preenchido, o usuário só vê as chamadas com origem ou destino nestes ramais "
            "(ex.: 4101-4120, 2003)."
        ),
    )

    # Set when someone else sets the password: the user chooses their own at next sign-in.
    must_change_password = models.BooleanField(_("deve trocar a senha"), default=False)

    # accounts.seal: the app's keyed seal over this row's reach; empty or wrong: no access.
    seal = models.CharField(
        _("selo da conta"), max_length=100, blank=True, default="", db_default="", editable=False
    )

    class Meta:
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("usuário")
        verbose_name_plural = _("usuários")

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        # A superuser holds every permission before any backend is asked: not with a bad seal.
        if self.is_active and self.is_superuser and not _sealed(self):
            return False
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.is_superuser and not _sealed(self):
            return False
        return super().has_module_perms(app_label)


def _sealed(user: User) -> bool:
    from accounts import seal

    return seal.is_valid(user)


class Recording(models.Model):
    """No table: recordings live on Vono. This model only carries the portal's permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_recording", _("Pode ver gravações")),
            ("play_recording", _("Pode ouvir gravações")),
            ("download_recording", _("Pode baixar gravações")),
            ("export_recordings", _("Pode exportar gravações")),
            ("request_deletion", _("Pode pedir exclusão de gravações")),
            ("approve_deletion", _("Pode aprovar exclusão de gravações")),
            ("view_audit_log", _("Pode ver o registro de auditoria")),
        ]

    def __str__(self) -> str:
        return f"Recording {self.pk}"
