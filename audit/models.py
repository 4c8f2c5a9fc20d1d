"""The audit log: an append-only, HMAC-chained record of everything that happened."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One thing that happened: who did what to which recordings, when, from where.

    Written only through ``audit.services.record_event``, in the same transaction as the
    change it records. On PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE whatever
    the session sets (migration 0002); the table keeps its original name.
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("acesso")
        LOGIN_FAILED = "login_failed", _("acesso recusado")
        LOGIN_BLOCKED = "login_blocked", _("acesso bloqueado por tentativas")
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
        DELETION_STALE = "deletion_stale", _("exclusão desatualizada")
        DELETION_RETRIED = "deletion_retried", _("exclusão retomada")
        DELETION_STARTED = "deletion_started", _("exclusão iniciada")
        DELETION_FINISHED = "deletion_finished", _("exclusão concluída")
        USER_CREATED = "user_created", _("usuário criado")
        USER_CHANGED = "user_changed", _("usuário alterado")
        PASSWORD_SET = "password_set", _("senha definida")
        ACCESS_REQUESTED = "access_requested", _("mudança de acesso pedida")
        ACCESS_APPROVED = "access_approved", _("mudança de acesso aprovada")
        ACCESS_REJECTED = "access_rejected", _("mudança de acesso rejeitada")
        ACCESS_CANCELLED = "access_cancelled", _("mudança de acesso cancelada")
        ACCESS_EXPIRED = "access_expired", _("mudança de acesso expirada")
        INDEX_SYNC_REQUESTED = "index_sync_requested", _("sincronização do índice pedida")
        RETENTION_REQUESTED = "retention_requested", _("política de retenção pedida")
        RETENTION_APPROVED = "retention_approved", _("política de retenção aprovada")
        RETENTION_REJECTED = "retention_rejected", _("política de retenção rejeitada")
        RETENTION_CANCELLED = "retention_cancelled", _("política de retenção cancelada")
        RETENTION_EXPIRED = "retention_expired", _("política de retenção expirada")
        RETENTION_STALE = "retention_stale", _("política de retenção desatualizada")
        RETENTION_RUN = "retention_run", _("execução da retenção")
        HOLD_PLACED = "hold_placed", _("retenção legal aplicada")
        HOLD_LIFT_REQUESTED = "hold_lift_requested", _("liberação de retenção legal pedida")
        HOLD_LIFTED = "hold_lifted", _("retenção legal liberada")
        HOLD_LIFT_REFUSED = "hold_lift_refused", _("liberação de retenção legal recusada")
        QA_NOTE_ADDED = "qa_note_added", _("nota adicionada")
        QA_NOTE_CHANGED = "qa_note_changed", _("nota alterada")
        QA_NOTE_DELETED = "qa_note_deleted", _("nota apagada")
        QA_FORM_SAVED = "qa_form_saved", _("formulário de avaliação salvo")
        QA_FORM_PUBLISHED = "qa_form_published", _("formulário de avaliação publicado")
        QA_EVALUATION_SAVED = "qa_evaluation_saved", _("avaliação salva")
        QA_EVALUATION_SUBMITTED = "qa_evaluation_submitted", _("avaliação enviada")
        QA_EVALUATION_REOPENED = "qa_evaluation_reopened", _("avaliação reaberta")
        QA_QUEUE_CREATED = "qa_queue_created", _("fila de revisão criada")
        HOLD_BLOCKED = "hold_blocked", _("exclusão barrada por retenção legal")
        PRIVACY_REPORT = "privacy_report", _("relatório de acessos (LGPD) produzido")

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
    # Tamper evidence: each event's MAC covers the previous event's MAC and its own content,
    # keyed with AUDIT_HMAC_KEY (never stored in the database). "" = the first, unkeyed
    # SHA-256 chain of events written before keys existed.
    key_id = models.CharField(_("chave"), max_length=16, blank=True, default="")
    seq = models.PositiveBigIntegerField(_("sequência"), unique=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        db_table = "recordings_auditevent"
        verbose_name = _("evento de auditoria")
        verbose_name_plural = _("eventos de auditoria")
        ordering = ("-seq",)
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"


class AuditChainHead(models.Model):
    """The newest event's sequence number and hash: one row, locked by every writer, so
    concurrent writers append one after the other and never fork the chain."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        db_table = "recordings_auditchainhead"
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit chain head #{self.seq}"
