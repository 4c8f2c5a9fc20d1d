"""What the page draws and the CSVs hold, from one ``selectors.Report``: the same figures in
the chart, its data table and its CSV, each bar linked to the recordings it counts."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import dateformat, formats
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


class Links:
    """Links into the recordings list for one report: its filter, narrowed to what a bar
    counts. The list's path and the filter's own part are worked out once: a year's chart
    has some two thousand bars."""

    def __init__(self, filters: ReportFilter) -> None:
        self.path = reverse("recording_list")
        self.params = filters.list_params()
        self.day_prefix = self._query(date_ini=None, date_end=None, customer_id=None)

    def _query(self, **overrides: str | int | None) -> str:
        params = {k: v for k, v in self.params.items() if k not in overrides}
        params.update({k: str(v) for k, v in overrides.items() if v is not None and v != ""})
        return urlencode(params)

    def to(self, **overrides: str | int | None) -> str:
        """The list with the report's filter and these values in place of its own."""
        params = dict(self.params)
        params.update({k: "" if v is None else str(v) for k, v in overrides.items()})
        kept = {k: v for k, v in params.items() if v != "" or k in ("date_ini", "date_end")}
        return f"{self.path}?{urlencode(kept)}"

    def day(self, day: dt.date, customer_id: int | None = None) -> str:
        """One day, for one subscriber if given (else the report's): string work only."""
        iso = day.isoformat()
        customer = customer_id if customer_id is not None else self.params.get("customer_id")
        tail = f"&customer_id={customer}" if customer not in (None, "") else ""
        rest = f"&{self.day_prefix}" if self.day_prefix else ""
        return f"{self.path}?date_ini={iso}&date_end={iso}{tail}{rest}"

    def day_template(self) -> str:
        """``day`` as a template: ``{day}`` for the date, ``{customer}`` for
        ``&customer_id=N`` or nothing (static/js/reports.js fills them)."""
        rest = f"&{self.day_prefix}" if self.day_prefix else ""
        customer = self.params.get("customer_id")
        fixed = f"&customer_id={customer}" if customer else "{customer}"
        return f"{self.path}?date_ini={{day}}&date_end={{day}}{fixed}{rest}"

    def duration(self, duration: DurationClass) -> str:
        return self.to(
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
    links = Links(report.filters)
    days = report.daily.days
    return {
        "daily": {
            "labels": [d.isoformat() for d in days],
            # What the axis and the tooltip show: the language's date (the labels stay ISO,
            # for the links).
            "ticks": [formats.date_format(d, "SHORT_DATE_FORMAT") for d in days],
            "series": [
                {"label": s.label, "values": s.values, "customer_id": s.customer_id}
                for s in report.daily.series
            ],
            # A bar's link: the day's ISO date for {day}; a year has ~2,000 bars.
            "link": links.day_template(),
        },
        "durations": {
            "labels": [duration_label(d) for d in report.durations],
            "values": [d.calls for d in report.durations],
            "links": [links.duration(d) for d in report.durations],
        },
        "top_calls": {
            "labels": [r.extension for r in report.top_by_calls],
            "values": [r.calls for r in report.top_by_calls],
            "links": [links.to(extension=r.extension) for r in report.top_by_calls],
        },
        "top_minutes": {
            "labels": [r.extension for r in report.top_by_minutes],
            "values": [round(r.seconds / 60, 1) for r in report.top_by_minutes],
            "links": [links.to(extension=r.extension) for r in report.top_by_minutes],
        },
        "storage": {
            "labels": [r.day.isoformat() for r in report.storage],
            "ticks": [formats.date_format(r.day, "SHORT_DATE_FORMAT") for r in report.storage],
            "values": [round(r.cumulative / 1024**2, 1) for r in report.storage],
            "link": links.day_template(),
        },
        "text": {
            "calls": _("chamadas"),
            "minutes": _("minutos"),
            "megabytes": _("MB gravados (acumulado)"),
            "open": _("Clique numa barra para ver as gravações."),
        },
    }


def tables(report: Report) -> dict[str, Any]:
    """The data tables under the charts, formatted here (a year is some three thousand
    cells: template filters per cell would cost more than the figures), each row linked to
    the recordings it counts."""
    links = Links(report.filters)
    daily = report.daily
    whole = _grouped_formatter()
    return {
        "daily": [
            {
                "day": dateformat.format(day, "D ") + formats.date_format(day, "SHORT_DATE_FORMAT"),
                "link": links.day(day),
                "values": [whole(s.values[n]) for s in daily.series],
                "total": whole(daily.totals[n]),
            }
            for n, day in enumerate(daily.days)
        ],
        "heatmap": [
            (str(WEEKDAY_NAMES[weekday]), cells) for weekday, cells in report.heatmap.rows()
        ],
        "durations": [
            {"label": duration_label(d), "calls": whole(d.calls), "link": links.duration(d)}
            for d in report.durations
        ],
        "storage": [
            {
                "day": formats.date_format(r.day, "SHORT_DATE_FORMAT"),
                "bytes": _megabytes(r.bytes),
                "cumulative": _megabytes(r.cumulative),
            }
            for r in report.storage
        ],
        "rankings": [
            {
                "key": key,
                "title": title,
                "rows": [
                    {
                        "extension": r.extension,
                        "calls": whole(r.calls),
                        "minutes": formats.number_format(r.seconds / 60, 1, use_l10n=True),
                        "link": links.to(extension=r.extension),
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


def _grouped_formatter() -> Any:
    """Whole numbers with the language's thousands separator (``1.229``, ``1,229``)."""
    separator = str(formats.get_format("THOUSAND_SEPARATOR"))

    def whole(value: int) -> str:
        return f"{value:,}".replace(",", separator)

    return whole


def _megabytes(value: int) -> str:
    return formats.number_format(value / 1024**2, 1, use_l10n=True) + " MB"


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
