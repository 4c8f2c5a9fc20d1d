from __future__ import annotations

import pgtrigger
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
    # Tamper evidence: each event's hash covers the previous event's hash and its own content.
    seq = models.PositiveBigIntegerField(_("sequência"), unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("evento de auditoria")
        verbose_name_plural = _("eventos de auditoria")
        ordering = ("-seq",)
        default_permissions = ("view",)
        triggers = [
            pgtrigger.Protect(name="append_only_update", operation=pgtrigger.Update),
            pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
            pgtrigger.Trigger(
                name="append_only_truncate",
                when=pgtrigger.Before,
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                func="RAISE EXCEPTION 'the audit log is append-only: TRUNCATE refused';",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"


class AuditChainHead(models.Model):
    """The newest event's sequence number and hash: one row, locked by every writer, so
    concurrent writers append one after the other and never fork the chain."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit chain head #{self.seq}"


STATUS_TRANSITIONS = (
    ("pending", "approved"),
    ("pending", "rejected"),
    ("pending", "cancelled"),
    ("pending", "expired"),
    ("pending", "stale"),
    ("approved", "running"),
    ("running", "done"),
    ("running", "partial"),
    ("running", "failed"),
    ("partial", "approved"),  # run again: only what remains
    ("failed", "approved"),
    ("running", "approved"),  # a worker died mid-run: resume (only after a long silence)
)


class DeletionRequest(models.Model):
    """A request to delete recordings on Vono: asked by one person, approved by another."""

    class Status(models.TextChoices):
        PENDING = "pending", _("aguardando aprovação")
        APPROVED = "approved", _("aprovado, na fila")
        RUNNING = "running", _("excluindo")
        DONE = "done", _("concluído")
        PARTIAL = "partial", _("concluído em parte")
        FAILED = "failed", _("falhou")
        REJECTED = "rejected", _("rejeitado")
        CANCELLED = "cancelled", _("cancelado")
        EXPIRED = "expired", _("expirado")
        STALE = "stale", _("desatualizado")

    class Kind(models.TextChoices):
        IDS = "ids", _("gravações escolhidas")
        FILTER = "filter", _("todas as gravações do filtro")

    # The only moves a status may make; PostgreSQL refuses any other (trigger below).
    TRANSITIONS = STATUS_TRANSITIONS

    kind = models.CharField(_("tipo"), max_length=8, choices=Kind.choices)
    status = models.CharField(
        _("situação"),
        max_length=10,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pedido por"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("pedido em"))
    reason = models.TextField(_("motivo"))
    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    filters = models.JSONField(_("filtro"), default=dict, blank=True)
    snapshot = models.JSONField(_("retrato no pedido"), default=dict)
    expires_at = models.DateTimeField(_("expira em"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decidido por"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decidido em"), null=True, blank=True)
    decision_note = models.TextField(_("observação da decisão"), blank=True)
    started_at = models.DateTimeField(_("início"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fim"), null=True, blank=True)
    runs = models.PositiveIntegerField(_("execuções"), default=0)

    class Meta:
        verbose_name = _("pedido de exclusão")
        verbose_name_plural = _("pedidos de exclusão")
        ordering = ("-requested_at",)
        default_permissions = ("view",)
        triggers = [
            pgtrigger.FSM(
                name="status_transitions",
                field="status",
                transitions=list(STATUS_TRANSITIONS),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_status_display()}"

    @property
    def count(self) -> int:
        return int(self.snapshot.get("count", 0))


class DeletionItem(models.Model):
    """One recording of an approved request, and what happened to it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("a excluir")
        SENDING = "sending", _("enviado ao Vono")
        DELETED = "deleted", _("excluída")
        ABSENT = "absent", _("já não existia")
        UNKNOWN = "unknown", _("resultado desconhecido")
        FAILED = "failed", _("falhou")

    request = models.ForeignKey(DeletionRequest, on_delete=models.PROTECT, related_name="items")
    record_id = models.PositiveBigIntegerField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING)
    detail = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["request", "record_id"], name="one_item_per_record")
        ]
        ordering = ("record_id",)

    def __str__(self) -> str:
        return f"{self.record_id}: {self.outcome}"
