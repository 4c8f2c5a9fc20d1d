"""The audit log viewer: filters, pages, CSV."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from audit import services as audit
from audit.models import AuditEvent
from recordings.export import BOM, Echo, csv_cell
from recordings.forms import MAX_RECORD_ID, whole_number
from recordings.pages import invalid_parameter
from vonoportal.http import AuthedRequest


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=gettext_lazy("Usuário"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=gettext_lazy("Ação"),
        required=False,
        choices=[("", gettext_lazy("Todas")), *AuditEvent.Action.choices],
    )
    date_ini = forms.DateField(
        label=gettext_lazy("De"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_end = forms.DateField(
        label=gettext_lazy("Até"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    record_id = forms.IntegerField(
        label=gettext_lazy("ID da gravação"),
        required=False,
        min_value=1,
        max_value=MAX_RECORD_ID,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_ini"), cleaned.get("date_end")
        if start and end and end < start:
            self.add_error("date_end", _("A data final é anterior à data inicial."))
        return cleaned

    def events(self, visible: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        """The visible events that match the filters."""
        events = visible
        data = self.cleaned_data
        if data.get("actor"):
            events = events.filter(actor_username__icontains=data["actor"])
        if data.get("action"):
            events = events.filter(action=data["action"])
        tz = timezone.get_current_timezone()
        if data.get("date_ini"):
            start = dt.datetime.combine(data["date_ini"], dt.time.min, tzinfo=tz)
            events = events.filter(created_at__gte=start)
        if data.get("date_end") and data["date_end"] < dt.date.max:  # 9999-12-31: no bound
            end = dt.datetime.combine(
                data["date_end"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz
            )
            events = events.filter(created_at__lt=end)
        if data.get("record_id"):
            if _json_contains():
                events = events.filter(record_ids__contains=[data["record_id"]])
            else:  # SQLite: match the id as a whole number inside the JSON text
                events = events.filter(record_ids__regex=rf"(^|\D){data['record_id']}(\D|$)")
        return events


def _json_contains() -> bool:
    from django.db import connection

    return bool(connection.features.supports_json_field_contains)


@require_GET
@login_required
@permission_required("recordings.view_audit_log", raise_exception=True)
def audit_list(request: AuthedRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    page = None
    if form.is_valid():
        number = request.GET.get("page", "")
        if number and whole_number(number) is None and number != "last":
            return invalid_parameter(request, "page", _("informe o número da página."))
        page = Paginator(form.events(audit.visible_events(request.user)), 50).get_page(number)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=400 if form.errors else 200,
    )


@require_GET
@login_required
@permission_required("recordings.view_audit_log", raise_exception=True)
def audit_export(request: AuthedRequest) -> HttpResponseBase:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/list.html", {"form": form}, status=400)
    header = [
        _("Sequência"),
        _("Quando (horário de Brasília)"),
        _("Usuário"),
        _("Ação"),
        _("Código da ação"),
        _("Gravações"),
        _("Assinante"),
        _("Resultado"),
        _("IP"),
        _("Requisição"),
        _("Detalhes"),
        _("Hash"),
    ]
    response = StreamingHttpResponse(
        _rows(header, form.events(audit.visible_events(request.user)), _reader_formats()),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="auditoria.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _reader_formats() -> tuple[str, dict[str, str]]:
    """The page's date format and the action labels, in the reader's language: taken while
    the request is active, as the CSV streams after the view has returned."""
    labels = {str(code): str(label) for code, label in AuditEvent.Action.choices}
    return str(get_format("DATETIME_FORMAT")), labels


def _rows(
    header: list[str], events: QuerySet[AuditEvent], formats: tuple[str, dict[str, str]]
) -> Iterator[str]:
    import json

    date_format, labels = formats

    writer = csv.writer(Echo(), delimiter=";", lineterminator="\r\n")
    yield BOM + writer.writerow(header)
    for e in events.iterator(chunk_size=1000):
        yield writer.writerow(
            [
                e.seq,
                dateformat.format(timezone.localtime(e.created_at), date_format),
                csv_cell(e.actor_username),
                labels.get(e.action, e.action),
                e.action,
                " ".join(map(str, e.record_ids)),
                "" if e.customer_id is None else e.customer_id,
                e.outcome,
                e.ip or "",
                e.request_id,
                csv_cell(json.dumps(e.details, ensure_ascii=False)),
                e.hash,
            ]
        )
