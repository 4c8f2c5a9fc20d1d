"""The recording index: a local catalogue of the upstream's recording metadata.

Vono stays the truth for audio and for deletion; the index answers searches. Rows are
written only by ``index.sync`` (and marked gone by the deletion worker through
``index.services``); nothing else writes these models.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class IndexedRecording(models.Model):
    """One recording as last read from Vono, with the vendor's own texts kept."""

    class GoneHow(models.TextChoices):
        DELETED = "deleted", _("excluída pelo portal")
        VANISHED = "vanished", _("sumiu do Vono")

    record_id = models.PositiveBigIntegerField(_("gravação"), primary_key=True)
    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    calldate = models.DateTimeField(_("data da chamada"))
    # The call's day in America/Sao_Paulo, as the upstream filters by it.
    call_day = models.DateField(_("dia"))
    clid = models.CharField(_("identificador de chamada"), max_length=80, blank=True)
    source = models.CharField(_("origem"), max_length=80, blank=True)
    destination = models.CharField(_("destino"), max_length=80, blank=True)
    # Source, destination and caller id normalised (index.numbers), separated by spaces so
    # that a search never matches across two of them; one trigram index serves all three.
    numbers = models.CharField(_("números"), max_length=260, blank=True)
    # Every run of four digits in ``numbers`` (index.numbers.grams): on PostgreSQL a GIN index
    # finds the rows holding all of a typed fragment's runs (migration 0003), and ``numbers``
    # confirms the fragment itself.
    number_grams = models.JSONField(default=list, blank=True)
    duration = models.PositiveIntegerField(_("duração"))
    size = models.PositiveBigIntegerField(_("tamanho"), null=True, blank=True)
    duration_text = models.CharField(max_length=60, blank=True)
    size_text = models.CharField(max_length=60, blank=True)
    first_seen = models.DateTimeField(_("visto primeiro"))
    last_seen = models.DateTimeField(_("visto por último"))
    gone_at = models.DateTimeField(_("saiu em"), null=True, blank=True)
    gone_how = models.CharField(_("como saiu"), max_length=16, choices=GoneHow.choices, blank=True)

    class Meta:
        verbose_name = _("gravação indexada")
        verbose_name_plural = _("gravações indexadas")
        default_permissions = ()
        permissions = [("view_index", _("Ver e sincronizar o índice de gravações"))]
        indexes = [
            # The default order and date windows, overall and per subscriber.
            models.Index(fields=["-calldate", "-record_id"], name="index_rec_calldate"),
            models.Index(
                fields=["customer_id", "-calldate", "-record_id"], name="index_rec_cust_calldate"
            ),
            models.Index(fields=["duration", "record_id"], name="index_rec_duration"),
            models.Index(fields=["size", "record_id"], name="index_rec_size"),
            # Per-day coverage counts and the sync's "what did this read not see".
            models.Index(fields=["call_day", "last_seen"], name="index_rec_day_seen"),
            # A team's scope compares each end of the call, lower-cased, to its ranges
            # (index.selectors.scope_q): ranges and equality served by these.
            models.Index(Lower("source"), name="index_rec_source_lower"),
            models.Index(Lower("destination"), name="index_rec_dest_lower"),
        ]
        # The GIN index on ``number_grams`` is created by migration 0003, on PostgreSQL only:
        # SQLite has no GIN and falls back to a scan with LIKE at demo scale.

    def __str__(self) -> str:
        return f"{self.record_id} {self.calldate:%Y-%m-%d %H:%M} {self.source}→{self.destination}"


class DayCoverage(models.Model):
    """How well one day (for one subscriber scope) is indexed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pendente")
        COMPLETE = "complete", _("completo")
        DIFFERS = "differs", _("diferente do Vono")
        ERROR = "error", _("erro")

    day = models.DateField(_("dia"))
    # The subscriber the portal is limited to (VONO_CUSTOMER_ID), None: every subscriber.
    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    upstream_count = models.PositiveIntegerField(_("no Vono"), null=True, blank=True)
    indexed_count = models.PositiveIntegerField(_("no índice"), default=0)
    last_full_read = models.DateTimeField(_("última leitura completa"), null=True, blank=True)
    last_checked = models.DateTimeField(_("última verificação"), null=True, blank=True)
    status = models.CharField(
        _("situação"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    error = models.CharField(_("erro"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("cobertura do dia")
        verbose_name_plural = _("cobertura por dia")
        default_permissions = ()
        ordering = ("-day",)
        constraints = [
            # NULL is distinct in a plain unique constraint: two partial ones instead.
            models.UniqueConstraint(
                fields=["day"], condition=Q(customer_id__isnull=True), name="index_day_all"
            ),
            models.UniqueConstraint(
                fields=["day", "customer_id"],
                condition=Q(customer_id__isnull=False),
                name="index_day_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.customer_id or '*'} {self.status}"


class SyncState(models.Model):
    """The one row every sync worker shares: the lease, the schedule, progress and errors.

    The lease is taken and renewed with conditional UPDATEs, so any number of workers on any
    number of machines never run two syncs at once; a worker that dies leaves a lease that
    expires after INDEX_LEASE_SECONDS.
    """

    name = models.CharField(max_length=16, primary_key=True, default="recordings")
    holder = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # At most one periodic task waits in the queue: it is due at this time.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_success = models.DateTimeField(null=True, blank=True)
    # The newest moment the index is known complete up to (start of the last good run).
    fresh_as_of = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive
    retry_after = models.DateTimeField(null=True, blank=True)  # backoff
    phase = models.CharField(max_length=40, blank=True)
    days_total = models.PositiveIntegerField(default=0)
    days_done = models.PositiveIntegerField(default=0)
    records_read = models.PositiveBigIntegerField(default=0)
    requests_sent = models.PositiveBigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # the last few, newest first

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.name} {self.holder or '-'}"
