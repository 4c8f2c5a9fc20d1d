"""The LGPD access report reads the index, the deletions and the audit log; it owns no table,
only the permission to produce it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PrivacyReport(models.Model):
    """No rows: the holder of ``privacy.view_privacy_report`` (a permission needs a model)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_privacy_report", _("Produzir o relatório de acessos da LGPD por número"))
        ]
        verbose_name = _("relatório de acessos (LGPD)")
        verbose_name_plural = _("relatórios de acessos (LGPD)")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
