"""The LGPD access report by phone number: a printable page and a CSV, both audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from privacy import export, selectors, services
from recordings import access
from recordings.pages import invalid_parameter
from reports.selectors import subscriber_of
from vonoportal.http import AuthedRequest

PERMISSION = "privacy.view_privacy_report"


def _number_problem() -> str:
    return _("informe um número de telefone ou ramal, com %(min)s a %(max)s dígitos.") % {
        "min": selectors.MIN_DIGITS,
        "max": selectors.MAX_DIGITS,
    }


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def privacy_report(request: AuthedRequest) -> HttpResponse:
    access.check_requested_scope(request)
    typed = request.GET.get("number", "")
    scope = access.scope_of(request.user)
    context: dict[str, Any] = {
        "typed": typed,
        "scope": subscriber_of(scope),
        "extensions": getattr(scope, "extensions", None),
    }
    if not typed.strip():
        return render(request, "privacy/report.html", context)
    number = selectors.wanted_number(typed)
    if number is None:
        return invalid_parameter(request, "number", _number_problem())
    report = services.privacy_report_produce(
        request=request, actor=request.user, number=number, output="page"
    )
    rows = [(entry, export.deletion_text(entry)) for entry in report.recordings]
    accesses = [(a, export.access_note(a)) for a in report.accesses]
    context.update(report=report, rows=rows, accesses=accesses, number=number)
    return render(request, "privacy/report.html", context)


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def privacy_report_csv(request: AuthedRequest) -> HttpResponseBase:
    access.check_requested_scope(request)
    number = selectors.wanted_number(request.GET.get("number", ""))
    if number is None:
        return invalid_parameter(request, "number", _number_problem())
    report = services.privacy_report_produce(
        request=request, actor=request.user, number=number, output="csv"
    )
    response = StreamingHttpResponse(
        export.csv_lines(report), content_type="text/csv; charset=utf-8"
    )
    name = _("lgpd_acessos") + f"_{number}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
