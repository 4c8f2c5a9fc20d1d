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
