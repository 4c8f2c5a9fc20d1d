"""Deletion requests and their items: asked by one person, approved by another."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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
# Statuses a request reaches only through an approval by someone other than its requester.
EXECUTED_STATUSES = ("approved", "running", "done", "partial", "failed")


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
        # A retention policy's daily run: carries the policy's approval, not one of its own.
        RETENTION = "retention", _("retenção (execução da política)")

    # The only moves a status may make; PostgreSQL refuses any other (migration 0002).
    TRANSITIONS = STATUS_TRANSITIONS

    kind = models.CharField(_("tipo"), max_length=10, choices=Kind.choices)
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
    # The requester's extension set (recordings.scope, canonical text); empty: none. Only
    # approvers whose scope covers it see or decide the request.
    extensions = models.TextField(_("ramais"), blank=True, default="", db_default="")
    filters = models.JSONField(_("filtro"), default=dict, blank=True)
    snapshot = models.JSONField(_("dados no momento do pedido"), default=dict)
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
    # How many recordings the upstream held when an approval found the count changed (stale).
    fresh_count = models.PositiveIntegerField(_("contagem no Vono"), null=True, blank=True)
    started_at = models.DateTimeField(_("início"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fim"), null=True, blank=True)
    runs = models.PositiveIntegerField(_("execuções"), default=0)

    class Meta:
        verbose_name = _("pedido de exclusão")
        verbose_name_plural = _("pedidos de exclusão")
        ordering = ("-requested_at",)
        default_permissions = ("view",)
        db_table = "recordings_deletionrequest"
        constraints = [
            # Four eyes in the database: nothing runs unless someone other than the requester
            # decided it. PostgreSQL's transition trigger (migration 0002) checks it too.
            models.CheckConstraint(
                condition=~models.Q(status__in=EXECUTED_STATUSES)
                | (
                    models.Q(decided_by__isnull=False)
                    & ~models.Q(decided_by=models.F("requested_by"))
                ),
                name="executed_only_when_decided_by_another",
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
        PENDING = "pending", _("aguardando exclusão")
        SENDING = "sending", _("enviado ao Vono")
        DELETED = "deleted", _("excluída")
        ABSENT = "absent", _("já não existia")
        UNKNOWN = "unknown", _("resultado desconhecido")
        FAILED = "failed", _("falhou")
        HELD = "held", _("sob retenção legal: não excluída")

    request = models.ForeignKey(DeletionRequest, on_delete=models.PROTECT, related_name="items")
    record_id = models.PositiveBigIntegerField()
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.PENDING)
    detail = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "recordings_deletionitem"
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["request", "record_id"], name="one_item_per_record")
        ]
        ordering = ("record_id",)

    def __str__(self) -> str:
        return f"{self.record_id}: {self.outcome}"
