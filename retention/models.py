"""Retention policies ("keep N days") and legal holds (never delete these).

A policy is asked by one person and approved by another, like a deletion; once approved a
daily task deletes what it says through the deletion engine. A hold blocks every deletion
of what it covers until a second person agrees to lift it. Only retention.services writes
these models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

POLICY_TRANSITIONS = (
    ("pending", "active"),
    ("pending", "rejected"),
    ("pending", "cancelled"),
    ("pending", "expired"),
    ("pending", "stale"),
    ("active", "superseded"),
)
HOLD_TRANSITIONS = (
    ("active", "lift_pending"),
    ("lift_pending", "active"),  # the lift was refused or withdrawn
    ("lift_pending", "lifted"),
)
# Below this many days the page warns: SAC lines keep recordings longer (Decreto 11.034/2022).
SAC_MINIMUM_DAYS = 90


class RetentionPolicy(models.Model):
    """Keep recordings ``days`` days, for one subscriber or (customer_id None) for all."""

    class Status(models.TextChoices):
        PENDING = "pending", _("aguardando aprovação")
        ACTIVE = "active", _("em vigor")
        SUPERSEDED = "superseded", _("substituída")
        REJECTED = "rejected", _("rejeitada")
        CANCELLED = "cancelled", _("cancelada")
        EXPIRED = "expired", _("expirada")
        STALE = "stale", _("desatualizada")

    TRANSITIONS = POLICY_TRANSITIONS

    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    days = models.PositiveIntegerField(_("dias"))
    status = models.CharField(
        _("situação"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    reason = models.TextField(_("motivo"))
    # The policy in force for this scope when this one was asked (None: none was): if another
    # is approved meanwhile, this request no longer says what its approver would read.
    replaces = models.ForeignKey(
        "self",
        verbose_name=_("substitui"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pedido por"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("pedido em"))
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
    last_run_at = models.DateTimeField(_("última execução"), null=True, blank=True)

    class Meta:
        verbose_name = _("política de retenção")
        verbose_name_plural = _("políticas de retenção")
        ordering = ("-requested_at",)
        default_permissions = ()
        permissions = [("manage_retention", _("Gerir retenção e retenções legais"))]
        constraints = [
            models.CheckConstraint(condition=models.Q(days__gte=1), name="retention_days_positive"),
            # Four eyes in the database: nothing is in force unless someone else approved it.
            models.CheckConstraint(
                condition=~models.Q(status__in=("active", "superseded"))
                | (
                    models.Q(decided_by__isnull=False)
                    & ~models.Q(decided_by=models.F("requested_by"))
                ),
                name="retention_active_only_when_decided_by_another",
            ),
            # One policy in force per scope (NULL is distinct in a plain unique constraint).
            models.UniqueConstraint(
                fields=["customer_id"],
                condition=models.Q(status="active", customer_id__isnull=False),
                name="retention_one_active_per_customer",
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active", customer_id__isnull=True),
                name="retention_one_active_for_all",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.days}d {self.customer_id or '*'} {self.status}"

    @property
    def below_sac_minimum(self) -> bool:
        return self.days < SAC_MINIMUM_DAYS


class LegalHold(models.Model):
    """Recordings that no deletion may touch: by number, ids, subscriber and/or period.

    Every criterion given must match (a number within a period, a subscriber's calls of a
    month); at least one is given.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("em vigor")
        LIFT_PENDING = "lift_pending", _("liberação aguardando aprovação")
        LIFTED = "lifted", _("liberada")

    TRANSITIONS = HOLD_TRANSITIONS

    status = models.CharField(
        _("situação"), max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    number = models.CharField(_("número"), max_length=40, blank=True)
    number_digits = models.CharField(max_length=40, blank=True)  # index.numbers.normalise
    record_ids = models.JSONField(_("gravações"), default=list, blank=True)
    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    period_start = models.DateField(_("de"), null=True, blank=True)
    period_end = models.DateField(_("até"), null=True, blank=True)
    reason = models.TextField(_("motivo"))
    ends_on = models.DateField(_("vale até"), null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("aplicada por"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    placed_at = models.DateTimeField(_("aplicada em"))
    lift_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("liberação pedida por"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    lift_requested_at = models.DateTimeField(_("liberação pedida em"), null=True, blank=True)
    lift_reason = models.TextField(_("motivo da liberação"), blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("liberada por"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    lifted_at = models.DateTimeField(_("liberada em"), null=True, blank=True)

    class Meta:
        verbose_name = _("retenção legal")
        verbose_name_plural = _("retenções legais")
        ordering = ("-placed_at",)
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="lifted")
                | (
                    models.Q(lifted_by__isnull=False, lift_requested_by__isnull=False)
                    & ~models.Q(lifted_by=models.F("lift_requested_by"))
                ),
                name="hold_lifted_only_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"


class RetentionSchedule(models.Model):
    """The one row the daily task's workers share: when the next run is queued for."""

    name = models.CharField(max_length=16, primary_key=True, default="daily")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.name} {self.scheduled_for}"
