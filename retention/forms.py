"""What a manager types for a policy or a hold, read strictly: a field that cannot be
understood is a 400 naming it, never a silent default."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from recordings.forms import MAX_RECORD_ID, whole_number
from retention import services
from retention.services import MAX_DAYS, MAX_HOLD_IDS

MAX_CUSTOMER_ID = 2_147_483_647


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise forms.ValidationError(_("o texto tem um caractere nulo."))


class PolicyForm(forms.Form):
    days = forms.IntegerField(label=_("Manter por (dias)"), min_value=1, max_value=MAX_DAYS)
    customer_id = forms.IntegerField(
        label=_("Assinante (vazio: todos)"), required=False, min_value=1, max_value=MAX_CUSTOMER_ID
    )
    reason = forms.CharField(label=_("Motivo"), max_length=2000, validators=[_no_nul])


class HoldForm(forms.Form):
    number = forms.CharField(
        label=_("Número (qualquer formato)"), required=False, max_length=40, validators=[_no_nul]
    )
    record_ids = forms.CharField(
        label=_("IDs de gravações (separados por espaço ou vírgula)"),
        required=False,
        max_length=10_000,
        validators=[_no_nul],
    )
    customer_id = forms.IntegerField(
        label=_("Assinante"), required=False, min_value=1, max_value=MAX_CUSTOMER_ID
    )
    period_start = forms.DateField(label=_("Período: de"), required=False)
    period_end = forms.DateField(label=_("Período: até"), required=False)
    reason = forms.CharField(label=_("Motivo"), max_length=2000, validators=[_no_nul])
    ends_on = forms.DateField(label=_("Vale até (opcional)"), required=False)

    def clean_ends_on(self) -> dt.date | None:
        ends_on: dt.date | None = self.cleaned_data["ends_on"]
        try:
            services.check_hold_ends_on(ends_on)
        except services.RetentionError as exc:
            raise forms.ValidationError(str(exc)) from None
        return ends_on

    def clean_record_ids(self) -> tuple[int, ...]:
        parts = [p for p in self.cleaned_data["record_ids"].replace(",", " ").split() if p]
        ids = [whole_number(p) for p in parts]
        if not all(i is not None and 0 < i <= MAX_RECORD_ID for i in ids):
            raise forms.ValidationError(_("cada id é um número inteiro positivo."))
        if len(ids) > MAX_HOLD_IDS:
            raise forms.ValidationError(_("no máximo %(max)s ids.") % {"max": MAX_HOLD_IDS})
        return tuple(sorted({i for i in ids if i is not None}))


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, validators=[_no_nul])
