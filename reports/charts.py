"""What the page draws and the CSVs hold, from one ``selectors.Report``: the same figures in
the chart, its data table and its CSV, each bar linked to the recordings it counts."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.forms import ReportFilter
from reports.selectors import DurationClass, Report

CHARTS = ("daily", "heatmap", "durations", "extensions", "storage")
WEEKDAY_NAMES = {
    1: gettext_lazy("domingo"),
    2: gettext_lazy("segunda"),
    3: gettext_lazy("terça"),
    4: gettext_lazy("quarta"),
    5: gettext_lazy("quinta"),
    6: gettext_lazy("sexta"),
    7: gettext_lazy("sábado"),
}


def list_url(filters: ReportFilter, **overrides: str | int | None) -> str:
    """The recordings list showing what one bar counts: the report's filter, narrowed."""
    params = filters.list_params()
    params.update({k: "" if v is None else str(v) for k, v in overrides.items()})
    kept = {k: v for k, v in params.items() if v != "" or k in ("date_ini", "date_end")}
    return f"{reverse('recording_list')}?{urlencode(kept)}"


def day_url(filters: ReportFilter, day: dt.date, customer_id: int | None = None) -> str:
    extra: dict[str, str | int | None] = {"date_ini": day.isoformat(), "date_end": day.isoformat()}
    if customer_id is not None:
        extra["customer_id"] = customer_id
    return list_url(filters, **extra)


def duration_url(filters: ReportFilter, duration: DurationClass) -> str:
    return list_url(
        filters,
        duration_min=duration.start,
        duration_max=None if duration.end is None else duration.end - 1,
    )


def duration_label(duration: DurationClass) -> str:
    def words(seconds: int) -> str:
        return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"

    if duration.end is None:
        return _("%(start)s ou mais") % {"start": words(duration.start)}
    return _("%(start)s a %(end)s") % {"start": words(duration.start), "end": words(duration.end)}


def chart_data(report: Report) -> dict[str, Any]:
    """The figures for Chart.js (read by static/js/reports.js from a json_script)."""
    filters = report.filters
    days = report.daily.days
    return {
        "daily": {
            "labels": [d.isoformat() for d in days],
            "series": [
                {
                    "label": s.label,
                    "values": s.values,
                    "links": [day_url(filters, d, s.customer_id) for d in days],
                }
                for s in report.daily.series
            ],
        },
        "durations": {
            "labels": [duration_label(d) for d in report.durations],
            "values": [d.calls for d in report.durations],
            "links": [duration_url(filters, d) for d in report.durations],
        },
        "top_calls": {
            "labels": [r.extension for r in report.top_by_calls],
            "values": [r.calls for r in report.top_by_calls],
            "links": [list_url(filters, extension=r.extension) for r in report.top_by_calls],
        },
        "top_minutes": {
            "labels": [r.extension for r in report.top_by_minutes],
            "values": [round(r.seconds / 60, 1) for r in report.top_by_minutes],
            "links": [list_url(filters, extension=r.extension) for r in report.top_by_minutes],
        },
        "storage": {
            "labels": [r.day.isoformat() for r in report.storage],
            "values": [round(r.cumulative / 1024**2, 1) for r in report.storage],
            "links": [day_url(filters, r.day) for r in report.storage],
        },
        "text": {
            "calls": _("chamadas"),
            "minutes": _("minutos"),
            "megabytes": _("MB gravados (acumulado)"),
            "open": _("Clique numa barra para ver as gravações."),
        },
    }


def tables(report: Report) -> dict[str, Any]:
    """The data tables under the charts, each row linked to the recordings it counts."""
    filters = report.filters
    daily = report.daily
    return {
        "daily": [
            {
                "day": day,
                "link": day_url(filters, day),
                "values": [s.values[n] for s in daily.series],
                "total": daily.totals[n],
            }
            for n, day in enumerate(daily.days)
        ],
        "heatmap": [
            (str(WEEKDAY_NAMES[weekday]), cells) for weekday, cells in report.heatmap.rows()
        ],
        "durations": [
            {"label": duration_label(d), "calls": d.calls, "link": duration_url(filters, d)}
            for d in report.durations
        ],
        "rankings": [
            {
                "key": key,
                "title": title,
                "rows": [
                    {
                        "extension": r.extension,
                        "calls": r.calls,
                        "minutes": r.seconds / 60,
                        "link": list_url(filters, extension=r.extension),
                    }
                    for r in ranked
                ],
            }
            for key, title, ranked in (
                ("top-calls", _("Os 20 ramais com mais chamadas"), report.top_by_calls),
                ("top-minutes", _("Os 20 ramais com mais minutos"), report.top_by_minutes),
            )
        ],
    }


def csv_table(report: Report, chart: str) -> tuple[list[str], list[list[Any]]]:
    """One chart's data table: its header and rows, as the page's table shows them."""
    if chart == "daily":
        series = report.daily.series
        header = [_("Dia"), *(s.label for s in series), _("Total")]
        return header, [
            [day.isoformat(), *(s.values[n] for s in series), report.daily.totals[n]]
            for n, day in enumerate(report.daily.days)
        ]
    if chart == "heatmap":
        header = [_("Dia da semana"), *(f"{h:02d}h" for h in report.heatmap.hours)]
        return header, [
            [str(WEEKDAY_NAMES[weekday]), *(calls for _hour, calls, _shade in cells)]
            for weekday, cells in report.heatmap.rows()
        ]
    if chart == "durations":
        header = [_("Duração"), _("De (s)"), _("Até (s)"), _("Chamadas")]
        return header, [
            [duration_label(d), d.start, "" if d.end is None else d.end - 1, d.calls]
            for d in report.durations
        ]
    if chart == "extensions":
        header = [_("Posição"), _("Ramal"), _("Chamadas"), _("Minutos"), _("Ordem")]
        rows: list[list[Any]] = []
        for order, ranked in (
            (_("chamadas"), report.top_by_calls),
            (_("minutos"), report.top_by_minutes),
        ):
            rows += [
                [n, r.extension, r.calls, round(r.seconds / 60, 1), order]
                for n, r in enumerate(ranked, start=1)
            ]
        return header, rows
    if chart == "storage":
        header = [_("Dia"), _("Gravado no dia (bytes)"), _("Acumulado (bytes)")]
        return header, [[r.day.isoformat(), r.bytes, r.cumulative] for r in report.storage]
    raise ValueError(f"unknown chart {chart!r}")
