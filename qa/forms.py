"""Input of the QA pages: a note, a form's definition, an evaluation, a queue, a report."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qa import scoring
from qa.models import Criterion, ScoreForm

_CLOCK = re.compile(
    r"(?:(\d{1,2}):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?|(\d{1,6})(?:[.,](\d{1,3}))?"
)
MAX_AT_MS = 24 * 3600 * 1000


def parse_moment(text: str) -> int | None:
    """``1:23``, ``1:02:03``, ``83`` or ``83.5`` (seconds) -> milliseconds; None if unreadable."""
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        return None
    hours, minutes, seconds, fraction, plain, plain_fraction = match.groups()
    if plain is not None:
        ms = int(plain) * 1000 + int((plain_fraction or "0").ljust(3, "0"))
    else:
        if int(seconds) >= 60 or (hours and int(minutes) >= 60):
            return None
        ms = (int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)) * 1000
        ms += int((fraction or "0").ljust(3, "0"))
    return ms if ms <= MAX_AT_MS else None


EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def _in_range(form: forms.Form, data: dict[str, Any], first: str, last: str) -> None:
    """Both dates between 2000 and 2100, the first not after the last."""
    for name in (first, last):
        value = data.get(name)
        if value is not None and not EARLIEST <= value <= LATEST:
            form.add_error(name, _("Informe uma data entre 2000 e 2100."))
            data[name] = None
    ini, end = data.get(first), data.get(last)
    if ini and end and ini > end:
        form.add_error(last, _("O fim do período vem antes do início."))


def field_problem(form: forms.Form, field: str) -> str | None:
    """The form field a service's complaint is about, or None (a form-wide error)."""
    return field if field in form.fields else None


class NoteForm(forms.Form):
    SUGGESTED_TAGS = ("saudação", "objeção", "elogio", "reclamação", "procedimento", "encerramento")

    at = forms.CharField(label=_("Momento"), required=False, max_length=20)
    text = forms.CharField(
        label=_("Nota"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    tag = forms.CharField(label=_("Marcador"), required=False, max_length=40)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing

    def clean_at(self) -> int | None:
        if self.editing:
            return None
        ms = parse_moment(self.cleaned_data["at"] or "0")
        if ms is None:
            raise forms.ValidationError(_("Informe o momento como 1:23 ou em segundos."))
        return ms

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["at_ms"] = data.get("at") or 0
        data["tag"] = (data.get("tag") or "").strip()
        return data


class FormDefinitionForm(forms.Form):
    name = forms.CharField(label=_("Nome"), max_length=120)
    definition = forms.CharField(
        label=_("Seções e critérios"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        strip=False,
    )

    def clean_definition(self) -> str:
        text = str(self.cleaned_data["definition"]).replace("\x00", "")
        try:
            scoring.parse_definition(text)
        except scoring.DefinitionError as exc:
            raise forms.ValidationError(str(exc)) from None
        return text


class EvaluationForm(forms.Form):
    """One field per criterion (``c<id>``) and a comment; a submission needs every answer."""

    comment = forms.CharField(
        label=_("Comentário"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(
        self,
        *args: Any,
        criteria: list[Criterion],
        submit: bool = False,
        initial_answers: dict[int, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        initial_answers = initial_answers or {}
        yes_no = [
            (scoring.YES, _("Sim")),
            (scoring.NO, _("Não")),
            (scoring.NOT_APPLICABLE, _("N/A")),
        ]
        scale = [(str(n), str(n)) for n in range(11)]
        for criterion in criteria:
            choices = yes_no if criterion.kind == scoring.YES_NO else scale
            self.fields[f"c{criterion.pk}"] = forms.ChoiceField(
                label=criterion.text,
                choices=choices,
                required=submit,
                # The inputs are hidden; their labels are the (thumb-sized) buttons.
                widget=forms.RadioSelect(attrs={"class": "visually-hidden"}),
                initial=initial_answers.get(criterion.pk),
                error_messages={"required": _("Responda este critério para enviar.")},
            )

    def rows(self) -> list[tuple[str, list[tuple[Criterion, forms.BoundField]]]]:
        """The criteria grouped by section, for the template."""
        grouped: list[tuple[str, list[tuple[Criterion, forms.BoundField]]]] = []
        for criterion in self.criteria:
            if not grouped or grouped[-1][0] != criterion.section.title:
                grouped.append((criterion.section.title, []))
            grouped[-1][1].append((criterion, self[f"c{criterion.pk}"]))
        return grouped

    def answers(self) -> dict[int, str]:
        return {
            c.pk: self.cleaned_data.get(f"c{c.pk}") or ""
            for c in self.criteria
            if self.cleaned_data.get(f"c{c.pk}")
        }


def _reviewers() -> Any:
    perm = Q(groups__permissions__codename="evaluate_recording") | Q(
        user_permissions__codename="evaluate_recording"
    )
    return get_user_model().objects.filter(perm, is_active=True).distinct().order_by("username")


class QueueForm(forms.Form):
    FROM_FILTER = "filter"
    PER_EXTENSION = "per_extension"

    name = forms.CharField(label=_("Nome da fila"), max_length=120)
    form = forms.ModelChoiceField(
        label=_("Formulário"),
        queryset=ScoreForm.objects.filter(versions__published_at__isnull=False).distinct(),
        empty_label=_("Escolha um formulário publicado"),
    )
    # The queryset is set per form (the user model is not ready when this module is imported).
    reviewers: forms.ModelMultipleChoiceField[Any] = forms.ModelMultipleChoiceField(
        label=_("Revisores"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    mode = forms.ChoiceField(
        label=_("Amostra"),
        choices=[
            (FROM_FILTER, _("as chamadas do filtro atual da lista (até 500)")),
            (PER_EXTENSION, _("N chamadas ao acaso por ramal no período")),
        ],
        widget=forms.RadioSelect(attrs={"class": "visually-hidden"}),
        initial=PER_EXTENSION,
    )
    per_extension = forms.IntegerField(
        label=_("Chamadas por ramal"), min_value=1, max_value=50, initial=3
    )
    period_ini = forms.DateField(label=_("De"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Até"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = _reviewers()  # type: ignore[attr-defined]

    @staticmethod
    def initial_from(query: QueryDict) -> dict[str, Any]:
        today = timezone.localdate()
        return {
            "period_ini": today - dt.timedelta(days=7),
            "period_end": today,
            "mode": QueueForm.FROM_FILTER if query else QueueForm.PER_EXTENSION,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _in_range(self, data, "period_ini", "period_end")
        return data


class ReportFilterForm(forms.Form):
    date_ini = forms.DateField(
        label=_("Chamadas de"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_end = forms.DateField(
        label=_("até"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _in_range(self, data, "date_ini", "date_end")
        return data


# --- the recordings list's evaluation filter (a hook RecordingFilterForm adds) ---------------

EVALUATION_FILTER_FIELDS = ("evaluation", "score_min", "score_max")


def evaluation_filter_fields() -> dict[str, forms.Field]:
    """Fields the recordings list's filter form gains: evaluated or not, and a score range."""
    score = {
        "required": False,
        "min_value": 0,
        "max_value": 100,
        "max_digits": 5,
        "decimal_places": 2,
        "widget": forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        "error_messages": {"invalid": _("Informe uma nota de 0 a 100.")},
    }
    return {
        "evaluation": forms.ChoiceField(
            label=_("Avaliação"),
            required=False,
            choices=[
                ("", _("Todas")),
                ("evaluated", _("Avaliadas")),
                ("not_evaluated", _("Não avaliadas")),
            ],
        ),
        "score_min": forms.DecimalField(label=_("Nota mínima"), **score),  # type: ignore[arg-type]
        "score_max": forms.DecimalField(label=_("Nota máxima"), **score),  # type: ignore[arg-type]
    }


def evaluation_filter(cleaned: dict[str, Any]) -> Q | None:
    """The ``Q`` (on ``record_id``) the cleaned evaluation fields ask for; None when unset."""
    from qa.selectors import filter_by_evaluation

    state = cleaned.get("evaluation") or ""
    low, high = cleaned.get("score_min"), cleaned.get("score_max")
    if not state and low is None and high is None:
        return None
    return filter_by_evaluation(state=state, score_min=low, score_max=high)
