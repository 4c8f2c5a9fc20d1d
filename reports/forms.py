"""The charts' filters: the list's period, subscriber, number and extension, in the URL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from index.numbers import digits

DEFAULT_DAYS = 30
FILTER_FIELDS = ("date_ini", "date_end", "customer_id", "number", "extension")


@dataclass(frozen=True)
class ReportFilter:
    """What the charts count. ``customer_id`` is already the scope when the user has one."""

    date_ini: dt.date | None = None
    date_end: dt.date | None = None
    customer_id: int | None = None
    number: str = ""
    extension: str = ""

    def list_params(self) -> dict[str, str]:
        """The same filter as the recordings list reads it (for links into the list)."""
        params = {
            "date_ini": self.date_ini.isoformat() if self.date_ini else "",
            "date_end": self.date_end.isoformat() if self.date_end else "",
            "customer_id": "" if self.customer_id is None else str(self.customer_id),
            "number": self.number,
            "extension": self.extension,
        }
        return {k: v for k, v in params.items() if v or k in ("date_ini", "date_end")}


class ReportFilterForm(forms.Form):
    """Bound to the query string. With no dates at all, the last 30 days; a date sent empty
    means no bound, as in the list, so every view is a URL that reloads the same."""

    date_ini = forms.DateField(
        label=_("De"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_end = forms.DateField(
        label=_("Até"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    customer_id = forms.IntegerField(
        label=_("Assinante"),
        required=False,
        min_value=0,
        max_value=2**31,
        error_messages={
            "min_value": _("O assinante não pode ser negativo."),
            "max_value": _("Nenhum assinante tem um número tão grande."),
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    number = forms.CharField(
        label=_("Número"),
        required=False,
        max_length=80,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    extension = forms.CharField(
        label=_("Ramal"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, query: QueryDict, *, scope: int | None) -> None:
        data = query.copy()
        if "date_ini" not in data and "date_end" not in data:
            today = timezone.localdate()
            data["date_ini"] = (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
            data["date_end"] = today.isoformat()
        super().__init__(data)
        self.scope = scope
        if scope is not None:
            del self.fields["customer_id"]

    def clean_number(self) -> str:
        return _printable(self.cleaned_data.get("number") or "")

    def clean_extension(self) -> str:
        extension = _printable(self.cleaned_data.get("extension") or "")
        if extension and not digits(extension):
            raise forms.ValidationError(_("Informe o ramal com seus dígitos, como 4101."))
        return extension

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_ini, date_end = cleaned.get("date_ini"), cleaned.get("date_end")
        if date_ini and date_end and date_end < date_ini:
            self.add_error("date_end", _("A data final é anterior à data inicial."))
        return cleaned

    def filters(self) -> ReportFilter:
        data = self.cleaned_data
        return ReportFilter(
            date_ini=data.get("date_ini"),
            date_end=data.get("date_end"),
            customer_id=self.scope if self.scope is not None else data.get("customer_id"),
            number=data.get("number") or "",
            extension=data.get("extension") or "",
        )

    def first_error(self) -> tuple[str, str] | None:
        """The first field that cannot be understood, and what is wrong with it (for a 400)."""
        for field, errors in self.errors.items():
            return field, " ".join(str(e) for e in errors)
        return None


def _printable(text: str) -> str:
    """Typed text without control characters (a NUL reaches no query)."""
    return "".join(c for c in text if c.isprintable()).strip()
