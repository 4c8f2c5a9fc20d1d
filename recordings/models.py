from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A portal user. ``customer_id`` limits them to one Vono subscriber."""

    customer_id = models.PositiveIntegerField(
        _("assinante"),
        null=True,
        blank=True,
        help_text=_(
            "Se preenchido, o usuário só vê as gravações deste assinante (customer_id do Vono)."
        ),
    )

    class Meta:
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("usuário")
        verbose_name_plural = _("usuários")


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


class AuditEvent(models.Model):
    """One thing that happened: who did what to which recordings, when, from where.

    Written only through ``recordings.audit.record_event``, in the same transaction as the
    change it records.
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("entrada")
        LOGIN_FAILED = "login_failed", _("entrada recusada")
        LOGOUT = "logout", _("saída")
        SEARCH = "search", _("consulta")
        EXPORT = "export", _("exportação")
        PLAY = "play", _("reprodução")
        DOWNLOAD = "download", _("download")
        ACCESS_DENIED = "access_denied", _("acesso negado")
        DELETION_REQUESTED = "deletion_requested", _("exclusão pedida")
        DELETION_APPROVED = "deletion_approved", _("exclusão aprovada")
        DELETION_REJECTED = "deletion_rejected", _("exclusão rejeitada")
        DELETION_CANCELLED = "deletion_cancelled", _("exclusão cancelada")
        DELETION_EXPIRED = "deletion_expired", _("exclusão expirada")
        DELETION_STARTED = "deletion_started", _("exclusão iniciada")
        DELETION_FINISHED = "deletion_finished", _("exclusão concluída")

    created_at = models.DateTimeField(_("quando"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("quem"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("usuário"), max_length=150, blank=True)
    action = models.CharField(_("ação"), max_length=32, choices=Action.choices, db_index=True)
    record_ids = models.JSONField(_("gravações"), default=list, blank=True)
    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    details = models.JSONField(_("detalhes"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    user_agent = models.CharField(_("navegador"), max_length=300, blank=True)
    request_id = models.CharField(_("requisição"), max_length=64, blank=True)
    outcome = models.CharField(_("resultado"), max_length=32, default="ok")

    class Meta:
        verbose_name = _("evento de auditoria")
        verbose_name_plural = _("eventos de auditoria")
        ordering = ("-id",)
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"
