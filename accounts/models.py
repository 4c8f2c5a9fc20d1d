"""Changes to a user's reach that wait for a second person: roles that carry approval or
access management, a wider subscriber scope, a privileged user's new password."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessChange(models.Model):
    """A change to one user, asked by one access manager and applied when another approves.

    ``before`` is the user's state when asked (groups, scope, active); ``after`` the state
    asked for. Approval applies ``after`` only if the user is still in ``before``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("aguardando aprovação")
        APPLIED = "applied", _("aprovada e aplicada")
        REJECTED = "rejected", _("rejeitada")
        CANCELLED = "cancelled", _("cancelada")
        EXPIRED = "expired", _("expirada")
        STALE = "stale", _("desatualizada")

    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("usuário"),
        on_delete=models.PROTECT,
        related_name="access_changes",
    )
    status = models.CharField(
        _("situação"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pedida por"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("pedida em"))
    reason = models.TextField(_("motivo"))
    expires_at = models.DateTimeField(_("expira em"))
    before = models.JSONField(_("antes"), default=dict)
    after = models.JSONField(_("depois"), default=dict)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decidida por"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decidida em"), null=True, blank=True)
    decision_note = models.TextField(_("observação"), blank=True)

    class Meta:
        verbose_name = _("mudança de acesso")
        verbose_name_plural = _("mudanças de acesso")
        ordering = ("-requested_at",)
        default_permissions = ("view",)
        permissions = [("manage_access", _("Pode gerir usuários e acessos"))]
        constraints = [
            # Four eyes in the database: an applied change was decided by someone who neither
            # asked for it nor receives it.
            models.CheckConstraint(
                condition=~models.Q(status="applied")
                | (
                    models.Q(decided_by__isnull=False)
                    & ~models.Q(decided_by=models.F("requested_by"))
                    & ~models.Q(decided_by=models.F("target"))
                ),
                name="access_change_applied_by_a_third_person",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"
