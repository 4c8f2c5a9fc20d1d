"""Forms: the recordings filter (its field names mirror the API's) and a throttled sign-in."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from qa import forms as qa_forms
from recordings import signin, throttle, vono
from recordings.listing import DEFAULT_SORT, ListSearch
from recordings.scope import Scope

PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_DAYS = 7
MAX_PER_PAGE = 500
# The upstream's own filters; then the ones only the index can answer (recordings.listing).
UPSTREAM_FIELDS = ("date_ini", "date_end", "time_ini", "time_end", "id_record", "customer_id")
INDEX_FIELDS = ("number", "extension", "duration_min", "duration_max", "sort")
# Everything Vono cannot apply itself: the index's filters and QA's evaluation filter.
LOCAL_FIELDS = (*INDEX_FIELDS, *qa_forms.EVALUATION_FILTER_FIELDS)
FILTER_FIELDS = (*UPSTREAM_FIELDS, *LOCAL_FIELDS)
MAX_RECORD_ID = 2**53
_WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")
# 90, 1:30 or 1:02:30: seconds, m:ss or h:mm:ss.
_DURATION = re.compile(r"(?:(?:([0-9]{1,4}):)?([0-9]{1,5}):)?([0-9]{1,7})")
MAX_DURATION = 10**7  # seconds: about 115 days, longer than any call
SORT_CHOICES = (
    ("-calldate", _("Mais recentes primeiro")),
    ("calldate", _("Mais antigas primeiro")),
    ("-duration", _("Mais longas primeiro")),
    ("duration", _("Mais curtas primeiro")),
    ("-size", _("Maiores primeiro")),
    ("size", _("Menores primeiro")),
)


def whole_number(text: str) -> int | None:
    """``text`` as a non-negative whole number written in ASCII digits, or None.

    ``str.isdigit`` accepts ``²`` and ``③``, which ``int`` refuses, and ``int`` refuses more
    than 4,300 digits: neither may reach ``int`` unchecked.
    """
    text = text.strip()
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else None


def parse_duration(text: str) -> int | None:
    """``90``, ``1:30`` and ``0:01:30`` are all 90 seconds; None when it cannot be read
    (minutes and seconds after a colon are two digits, below 60)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    if minutes is not None and (len(seconds) != 2 or int(seconds) > 59):
        return None
    if hours is not None and (len(minutes) != 2 or int(minutes) > 59):
        return None
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds)
    return total if total <= MAX_DURATION else None


class DurationField(forms.CharField):
    """A call's length typed as seconds or ``m:ss``, cleaned to whole seconds."""

    default_error_messages = {
        "invalid": _("Informe a duração em segundos (90) ou em minutos e segundos (1:30)."),
    }

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        seconds = parse_duration(text) if len(text) <= 20 else None
        if seconds is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return seconds


class RecordingFilterForm(forms.Form):
    """The recordings browser's filters. Bound to the query string, never to the session.

    With no dates in the query at all, the last seven days are shown; a date sent empty means
    no bound, so every state is a URL that reloads to the same view.
    """

    date_ini = forms.DateField(
        label=_("De"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    time_ini = forms.TimeField(
        label=_("Hora inicial"),
        required=False,
        input_formats=["%H:%M:%S", "%H:%M"],
        widget=forms.TimeInput(attrs={"type": "time", "step": "1"}, format="%H:%M:%S"),
    )
    date_end = forms.DateField(
        label=_("Até"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    time_end = forms.TimeField(
        label=_("Hora final"),
        required=False,
        input_formats=["%H:%M:%S", "%H:%M"],
        widget=forms.TimeInput(attrs={"type": "time", "step": "1"}, format="%H:%M:%S"),
    )
    id_record = forms.IntegerField(
        label=_("ID da gravação"),
        required=False,
        min_value=1,
        max_value=MAX_RECORD_ID,
        error_messages={
            "min_value": _("Os IDs de gravação começam em 1."),
            "max_value": _("Nenhuma gravação tem um ID tão grande."),
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
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
        help_text=_("Origem, destino ou número exibido; parte dele, escrito de qualquer jeito."),
        error_messages={"max_length": _("Número longo demais.")},
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "inputmode": "tel",
                "autocomplete": "off",
                "placeholder": "(41) 98597-7963",
                "size": 16,
            }
        ),
    )
    extension = forms.CharField(
        label=_("Ramal"),
        required=False,
        max_length=40,
        error_messages={"max_length": _("Ramal longo demais.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "size": 6}),
    )
    duration_min = DurationField(
        label=_("Duração mínima"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "0:30", "autocomplete": "off", "size": 6}),
    )
    duration_max = DurationField(
        label=_("Duração máxima"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "10:00", "autocomplete": "off", "size": 6}),
    )
    # Set by the column headers; a hidden field so that filtering again keeps the order.
    sort = forms.ChoiceField(
        label=_("Ordem"),
        required=False,
        choices=SORT_CHOICES,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": _(
                "Ordene por calldate, duration ou size, com - na frente para a ordem inversa."
            )
        },
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**7,
        widget=forms.HiddenInput,
        # Django's "Certifique-se que este valor seja maior ou igual a 1." is stiff.
        error_messages={
            "min_value": _("As páginas começam em 1."),
            "max_value": _("Número de página grande demais."),
        },
    )
    per_page = forms.TypedChoiceField(
        label=_("Por página"),
        required=False,
        coerce=int,
        choices=[(n, n) for n in PER_PAGE_CHOICES],
        error_messages={"invalid_choice": _("Escolha 25, 50 ou 100 por página.")},
    )

    field_order = (
        "date_ini",
        "time_ini",
        "date_end",
        "time_end",
        "number",
        "extension",
        "duration_min",
        "duration_max",
        "id_record",
        "customer_id",
    )

    def __init__(self, query: QueryDict, *, scope: Scope) -> None:
        data = query.copy()
        if "date_ini" not in data and "date_end" not in data:
            today = timezone.localdate()
            data["date_ini"] = (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat()
            data["date_end"] = today.isoformat()
        super().__init__(data)
        per_page = whole_number(str(data.get("per_page", "")))
        if per_page is not None and 0 < per_page <= MAX_PER_PAGE:
            # A link from elsewhere may ask for another size: any up to the maximum is fine.
            field = self.fields["per_page"]
            field.choices = sorted({(n, n) for n in (*PER_PAGE_CHOICES, per_page)})  # type: ignore[attr-defined]
        self.scope = scope
        if scope.customer_id is not None:
            del self.fields["customer_id"]
        # The QA app's hook: evaluated or not, and a score range (served by the local index).
        self.fields.update(qa_forms.evaluation_filter_fields())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        date_ini, date_end = cleaned.get("date_ini"), cleaned.get("date_end")
        time_ini, time_end = cleaned.get("time_ini"), cleaned.get("time_end")
        if date_ini and date_end:
            if date_end < date_ini:
                self.add_error("date_end", _("A data final é anterior à data inicial."))
            elif date_end == date_ini and time_ini and time_end and time_end < time_ini:
                self.add_error("time_end", _("No mesmo dia, a hora final é anterior à inicial."))
        low, high = cleaned.get("score_min"), cleaned.get("score_max")
        if low is not None and high is not None and high < low:
            self.add_error("score_max", _("A nota máxima é menor que a mínima."))
        if (time_ini and not date_ini) or (time_end and not date_end):
            field = "time_ini" if time_ini and not date_ini else "time_end"
            self.add_error(field, _("Informe também a data: a hora vale junto com ela."))
        low, high = cleaned.get("duration_min"), cleaned.get("duration_max")
        if low is not None and high is not None and high < low:
            self.add_error("duration_max", _("A duração máxima é menor que a mínima."))
        extension = cleaned.get("extension") or ""
        if extension and not any(ch.isdigit() for ch in extension):
            self.add_error("extension", _("Informe o ramal com números, como 4101."))
        return cleaned

    def filters(self) -> vono.RecordingFilter:
        """The validated filter, with the user's scope applied."""
        data = self.cleaned_data
        return vono.RecordingFilter(
            date_ini=data.get("date_ini"),
            date_end=data.get("date_end"),
            time_ini=data.get("time_ini"),
            time_end=data.get("time_end"),
            id_record=data.get("id_record"),
            customer_id=(
                self.scope.customer_id
                if self.scope.customer_id is not None
                else data.get("customer_id")
            ),
        )

    def evaluation_filter(self) -> Q | None:
        """The evaluation filter asked for (qa.forms.evaluation_filter), or None."""
        return qa_forms.evaluation_filter(self.cleaned_data)

    def search(self) -> ListSearch:
        """The validated filter with what only the index can answer (number, extension,
        durations, order)."""
        data = self.cleaned_data
        return ListSearch(
            filters=self.filters(),
            number=data.get("number") or "",
            extension=data.get("extension") or "",
            duration_min=data.get("duration_min"),
            duration_max=data.get("duration_max"),
            sort=data.get("sort") or DEFAULT_SORT,
            asked_customer=data.get("customer_id"),
            evaluation=self.evaluation_filter(),
            evaluation_asked={
                name: str(data[name])
                for name in qa_forms.EVALUATION_FILTER_FIELDS
                if data.get(name) not in (None, "")
            },
        )

    @property
    def page_number(self) -> int:
        return int(self.cleaned_data.get("page") or 1)

    @property
    def page_size(self) -> int:
        return int(self.cleaned_data.get("per_page") or PER_PAGE_CHOICES[0])


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in, refusing to check passwords after repeated failures.

    The limits are in ``recordings.throttle``; their counters live in the configured cache
    (Redis in production), so they hold across every gunicorn instance. Every refused
    attempt is an audit event: a wrong password is ``login_failed`` (Django's
    ``user_login_failed`` signal, see ``recordings.signals``), an attempt refused before its
    password was checked is ``login_blocked`` (repeats aggregated per minute, see
    ``recordings.signin``). Neither stores the password.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        # Django's own wording ("Por favor, entre com um usuário e senha corretos…") is stiff.
        "invalid_login": _(
            "Usuário ou senha incorretos. Confira e tente de novo: maiúsculas e minúsculas "
            "fazem diferença."
        ),
        "inactive": _("Este usuário está desativado. Fale com um administrador."),
    }

    def clean(self) -> dict[str, Any]:
        request: HttpRequest | None = self.request
        username = (self.cleaned_data.get("username") or "").strip()
        if not username or not self.cleaned_data.get("password"):
            return super().clean()  # an empty field: nothing is checked, nothing to count
        keys = throttle.login_keys(request, username)
        refusal = throttle.admit(keys)
        if refusal is not None:
            signin.record_refusal(request, username, refusal)
            raise forms.ValidationError(_refusal_message(refusal), code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(keys)
            raise
        throttle.record_success(keys)
        return cleaned


def _refusal_message(refusal: throttle.Refusal) -> str:
    if refusal.limit == "slowdown":
        return ngettext(
            "Muitas tentativas recentes para este usuário. Tente de novo daqui a %(n)s segundo.",
            "Muitas tentativas recentes para este usuário. Tente de novo daqui a %(n)s segundos.",
            refusal.retry_after,
        ) % {"n": refusal.retry_after}
    minutes = max(1, math.ceil(refusal.retry_after / 60))
    return ngettext(
        "Muitas tentativas de acesso sem sucesso. Aguarde %(n)s minuto e tente de novo.",
        "Muitas tentativas de acesso sem sucesso. Aguarde %(n)s minutos e tente de novo.",
        minutes,
    ) % {"n": minutes}
