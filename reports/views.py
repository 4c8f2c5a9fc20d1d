"""The call-volume charts: one page, and each chart's data as CSV."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from recordings import access
from recordings.export import BOM, Echo, csv_cell
from recordings.pages import invalid_parameter
from reports import charts, selectors
from reports.forms import ReportFilterForm
from vonoportal.http import AuthedRequest

PERMISSION = "reports.view_reports"


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def report_charts(request: AuthedRequest) -> HttpResponse:
    access.check_requested_scope(request)
    form = ReportFilterForm(
        request.GET, scope=selectors.subscriber_of(access.scope_of(request.user))
    )
    if problem := form.first_error():
        return invalid_parameter(request, *problem)
    report = selectors.report(form.filters(), scope=access.scope_of(request.user))
    context = {
        "form": form,
        "report": report,
        "chart_data": charts.chart_data(report),
        "tables": charts.tables(report),
        "query": urlencode(report.filters.list_params()),
    }
    return render(request, "reports/charts.html", context)


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def report_csv(request: AuthedRequest) -> HttpResponse:
    access.check_requested_scope(request)
    chart = request.GET.get("chart", "")
    if chart not in charts.CHARTS:
        return invalid_parameter(
            request,
            "chart",
            _("escolha um destes: %(names)s.") % {"names": ", ".join(charts.CHARTS)},
        )
    form = ReportFilterForm(
        request.GET, scope=selectors.subscriber_of(access.scope_of(request.user))
    )
    if problem := form.first_error():
        return invalid_parameter(request, *problem)
    report = selectors.report(
        form.filters(), scope=access.scope_of(request.user), parts=frozenset({chart})
    )
    header, rows = charts.csv_table(report, chart)
    writer = csv.writer(Echo(), delimiter=";", lineterminator="\r\n")
    body = (
        BOM
        + writer.writerow(header)
        + "".join(writer.writerow([csv_cell(cell) for cell in row]) for row in rows)
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = _("relatorio") + f"_{chart}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
