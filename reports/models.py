"""The reports read the recording index; they own no table, only the permission to read them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CallReport(models.Model):
    """No rows: the holder of ``reports.view_reports`` (a permission needs a model)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", _("Ver os gráficos de chamadas"))]
        verbose_name = _("relatório de chamadas")
        verbose_name_plural = _("relatórios de chamadas")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


# --- rollups of the index, kept by PostgreSQL triggers (migration 0003) --------------------
# The charts over a year of a million calls read these few thousand rows instead of the index.
# Each present recording (gone_at NULL) counts once in each table; the triggers move the counts
# in the same transaction as the index row's insert, change or deletion. SQLite (demo scale)
# has no triggers: there the charts read the index itself. ``customer_id`` -1: no subscriber.

NO_CUSTOMER = -1


class HourCount(models.Model):
    """Calls, seconds and bytes per day, subscriber and hour of the day (São Paulo)."""

    day = models.DateField()
    customer_id = models.IntegerField()
    hour = models.SmallIntegerField()
    calls = models.BigIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["day", "customer_id", "hour"], name="reports_hour_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.customer_id} {self.hour}h: {self.calls}"


class DurationCount(models.Model):
    """Calls per day, subscriber and duration class (``selectors.DURATION_EDGES``)."""

    day = models.DateField()
    customer_id = models.IntegerField()
    bucket = models.SmallIntegerField()
    calls = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "customer_id", "bucket"], name="reports_duration_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.customer_id} #{self.bucket}: {self.calls}"


class ExtensionCount(models.Model):
    """Calls and seconds per day, subscriber and extension (``selectors.EXTENSION``)."""

    day = models.DateField()
    customer_id = models.IntegerField()
    extension = models.CharField(max_length=80)
    calls = models.BigIntegerField(default=0)
    seconds = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["day", "customer_id", "extension"], name="reports_extension_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.customer_id} {self.extension}: {self.calls}"
