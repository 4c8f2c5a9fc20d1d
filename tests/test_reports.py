"""The call-volume charts: figures counted by the database, scoped, filtered, drillable."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from index import sync
from recordings import vono
from tests.conftest import make_recording, make_user

pytestmark = pytest.mark.django_db

SP = sync.SAO_PAULO
DAY = dt.date(2026, 11, 16)  # a Monday
PERIOD = "date_ini=2026-11-16&date_end=2026-11-22"


def _recording(
    record_id: int,
    *,
    source: str,
    destination: str,
    when: dt.datetime,
    duration: int = 60,
    size: int | None = 1000,
    customer_id: int = 3,
) -> vono.Recording:
    return make_recording(
        record_id,
        when,
        customer_id=customer_id,
        source=source,
        destination=destination,
        duration=duration,
        size=size,
    )


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SP)


@pytest.fixture
def calls(db: None) -> None:
    monday, tuesday = DAY, DAY + dt.timedelta(days=1)
    rows = [
        # subscriber 3, extension 4101: three calls on Monday at 9h, one on Tuesday at 14h
        _recording(1, source="4101", destination="5541985977963", when=_at(monday, 9), duration=20),
        _recording(
            2, source="5511988887777", destination="4101", when=_at(monday, 9, 30), duration=45
        ),
        _recording(
            3, source="4101", destination="5521933334444", when=_at(monday, 9, 59), duration=400
        ),
        _recording(
            4,
            source="4102",
            destination="5541985977963",
            when=_at(tuesday, 14),
            duration=1900,
            size=None,
        ),
        # subscriber 7, extension 2001: two calls on Monday at 23h (late evening in São Paulo:
        # still Monday there, already Tuesday in UTC)
        _recording(
            5,
            source="2001",
            destination="5531922221111",
            when=_at(monday, 23),
            duration=90,
            customer_id=7,
        ),
        _recording(
            6,
            source="5531922221111",
            destination="2001",
            when=_at(monday, 23, 30),
            duration=100,
            customer_id=7,
        ),
        # outside the period
        _recording(
            7, source="4101", destination="5541985977963", when=_at(DAY - dt.timedelta(days=3), 10)
        ),
    ]
    sync.upsert_page(rows, timezone.now())


@pytest.fixture
def supervisor_client(client: Client, db: None) -> Client:
    client.force_login(make_user("sup-reports", "Supervisores"))
    return client


def _get(client: Client, query: str = PERIOD) -> Any:
    response = client.get(f"/reports/?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.context["report"]


def test_calls_per_day_are_stacked_by_subscriber(calls: None, supervisor_client: Client) -> None:
    report = _get(supervisor_client)
    assert report.calls == 6
    assert report.daily.days[0] == DAY and report.daily.days[-1] == DAY + dt.timedelta(days=1)
    by_label = {s.customer_id: s.values for s in report.daily.series}
    assert by_label == {3: [3, 1], 7: [2, 0]}
    assert report.daily.totals == [5, 1]


def test_the_heatmap_counts_hours_in_sao_paulo(calls: None, supervisor_client: Client) -> None:
    heatmap = _get(supervisor_client).heatmap
    monday, tuesday = 2, 3  # Django's week_day: 1 = Sunday
    assert heatmap.counts == {(monday, 9): 3, (monday, 23): 2, (tuesday, 14): 1}
    assert heatmap.peak == 3


def test_durations_fall_into_their_classes(calls: None, supervisor_client: Client) -> None:
    durations = _get(supervisor_client).durations
    counts = {(d.start, d.end): d.calls for d in durations}
    assert counts[(0, 30)] == 1  # 20 s
    assert counts[(30, 60)] == 1  # 45 s
    assert counts[(60, 120)] == 2  # 90 s, 100 s
    assert counts[(300, 600)] == 1  # 400 s
    assert counts[(1800, None)] == 1  # 1900 s
    assert sum(counts.values()) == 6


def test_top_extensions_by_calls_and_by_minutes(calls: None, supervisor_client: Client) -> None:
    report = _get(supervisor_client)
    assert [(r.extension, r.calls) for r in report.top_by_calls] == [
        ("4101", 3),
        ("2001", 2),
        ("4102", 1),
    ]
    assert [(r.extension, r.seconds) for r in report.top_by_minutes] == [
        ("4102", 1900),
        ("4101", 465),
        ("2001", 190),
    ]


def test_storage_accumulates_day_by_day(calls: None, supervisor_client: Client) -> None:
    storage = _get(supervisor_client).storage
    assert [(r.bytes, r.cumulative) for r in storage] == [(5000, 5000), (0, 5000)]


def test_filters_narrow_every_chart(calls: None, supervisor_client: Client) -> None:
    assert _get(supervisor_client, f"{PERIOD}&customer_id=7").calls == 2
    assert _get(supervisor_client, f"{PERIOD}&extension=4101").calls == 3
    # A number typed the way people type it.
    assert _get(supervisor_client, f"{PERIOD}&number=(41) 98597-7963").calls == 2
    assert _get(supervisor_client, "date_ini=&date_end=").calls == 7


def test_a_scoped_supervisor_sees_only_their_subscriber(calls: None, client: Client) -> None:
    client.force_login(make_user("scoped-reports", "Supervisores", customer_id=7))
    report = _get(client)
    assert report.calls == 2
    assert {s.customer_id for s in report.daily.series} == {7}
    assert client.get(f"/reports/?{PERIOD}&customer_id=3").status_code == 404
    assert client.get(f"/reports/data.csv?chart=daily&{PERIOD}&customer_id=3").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_ini=2026-02-30", "date_ini"),
        ("date_ini=2026-11-20&date_end=2026-11-01", "date_end"),
        ("customer_id=-1", "customer_id"),
        ("extension=ramal", "extension"),
        ("number=" + "9" * 81, "number"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(
    calls: None, supervisor_client: Client, query: str, field: str
) -> None:
    response = supervisor_client.get(f"/reports/?{query}")
    assert response.status_code == 400
    assert response.context["field"] == field


def test_a_csv_names_an_unknown_chart(supervisor_client: Client) -> None:
    response = supervisor_client.get("/reports/data.csv?chart=pie")
    assert response.status_code == 400
    assert response.context["field"] == "chart"


def test_each_chart_has_a_csv_with_its_table(calls: None, supervisor_client: Client) -> None:
    response = supervisor_client.get(f"/reports/data.csv?chart=daily&{PERIOD}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Dia", "Assinante 3", "Assinante 7", "Total"]
    assert rows[1:] == [["2026-11-16", "3", "2", "5"], ["2026-11-17", "1", "0", "1"]]
    for chart in ("heatmap", "durations", "extensions", "storage"):
        response = supervisor_client.get(f"/reports/data.csv?chart={chart}&{PERIOD}")
        assert response.status_code == 200
        assert len(response.content.decode("utf-8-sig").splitlines()) > 1


def test_bars_and_table_rows_link_to_the_matching_recordings(
    calls: None, supervisor_client: Client
) -> None:
    response = supervisor_client.get(f"/reports/?{PERIOD}&number=41985977963")
    data = response.context["chart_data"]
    series = data["daily"]["series"][0]
    link = data["daily"]["link"].replace("{day}", data["daily"]["labels"][0])
    link = link.replace("{customer}", f"&customer_id={series['customer_id']}")
    url = urlsplit(link)
    assert url.path == "/recordings/"
    assert parse_qs(url.query) == {
        "date_ini": ["2026-11-16"],
        "date_end": ["2026-11-16"],
        "customer_id": ["3"],
        "number": ["41985977963"],
    }
    top = parse_qs(urlsplit(data["top_calls"]["links"][0]).query)
    assert top["extension"] == ["4101"] and top["date_ini"] == ["2026-11-16"]
    durations = parse_qs(urlsplit(data["durations"]["links"][1]).query)
    assert durations["duration_min"] == ["30"] and durations["duration_max"] == ["59"]
    page = response.content.decode()
    assert 'href="/recordings/?date_ini=2026-11-16&amp;date_end=2026-11-16' in page  # no-JS


def test_days_are_written_in_the_readers_language(calls: None, supervisor_client: Client) -> None:
    response = supervisor_client.get(f"/reports/?{PERIOD}")
    data, tables = response.context["chart_data"], response.context["tables"]
    assert data["daily"]["labels"][0] == "2026-11-16", "the links keep the ISO day"
    assert data["daily"]["ticks"][0] == "16/11/2026"
    assert data["storage"]["ticks"][0] == "16/11/2026"
    assert tables["daily"][0]["day"].endswith(" 16/11/2026")
    assert tables["storage"][0]["day"] == "16/11/2026"

    supervisor_client.post("/i18n/setlang/", {"language": "en", "next": "/reports/"})
    response = supervisor_client.get(f"/reports/?{PERIOD}")
    data, tables = response.context["chart_data"], response.context["tables"]
    assert data["daily"]["ticks"][0] == "2026-11-16"
    assert tables["daily"][0]["day"] == "Mon 2026-11-16"
    assert tables["storage"][0]["day"] == "2026-11-16"


def test_the_page_works_without_javascript(calls: None, supervisor_client: Client) -> None:
    page = supervisor_client.get(f"/reports/?{PERIOD}").content.decode()
    assert page.count('<details class="chart-data" open>') == 5  # open until a chart is drawn
    assert 'class="heatmap"' in page
    assert page.count("/reports/data.csv?chart=") == 6
    assert "/static/vendor/chartjs/chart.umd.min." in page
    assert not re.search(r'src="(https?:)?//', page), "no script from another host"


def test_figures_come_from_a_few_aggregate_queries(calls: None, supervisor_client: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        _get(supervisor_client)
    # The index itself, or on PostgreSQL the rollups its triggers keep.
    tables = (
        "index_indexedrecording",
        "reports_hourcount",
        "reports_durationcount",
        "reports_extensioncount",
    )
    counted = [q["sql"] for q in queries if any(t in q["sql"] for t in tables)]
    assert len(counted) == 5
    assert all("GROUP BY" in sql for sql in counted)


def test_qa_reviewers_and_dpos_have_no_charts(client: Client, db: None) -> None:
    for role in ("Revisores de QA", "Encarregado de dados (DPO)", "Gestores de acesso"):
        client.force_login(make_user(f"user-{role[:5]}", role))
        assert client.get("/reports/").status_code == 403


# --- PostgreSQL: the rollups the triggers keep say what the index says --------------------


def _figures(rollups: bool, filters: Any) -> tuple[Any, ...]:
    from reports import selectors

    r = selectors.report(filters, scope=None, rollups=rollups)
    return (
        r.calls,
        r.seconds,
        r.bytes,
        [(s.customer_id, s.values) for s in r.daily.series],
        r.heatmap.counts,
        [d.calls for d in r.durations],
        [(e.extension, e.calls, e.seconds) for e in r.top_by_calls],
        [(e.extension, e.calls, e.seconds) for e in r.top_by_minutes],
        [(s.day, s.bytes, s.cumulative) for s in r.storage],
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the rollups are PostgreSQL's")
def test_the_rollups_follow_every_change_to_the_index(calls: None) -> None:
    from index import services
    from index.models import IndexedRecording
    from reports.forms import ReportFilter

    cases = [
        ReportFilter(date_ini=DAY, date_end=DAY + dt.timedelta(days=6)),
        ReportFilter(date_ini=DAY, date_end=DAY, customer_id=7),
        ReportFilter(),
    ]

    def same() -> None:
        for filters in cases:
            assert _figures(True, filters) == _figures(False, filters)

    same()
    assert _figures(True, cases[0])[0] == 6
    # The sync reads a call again with another duration and size; one is deleted; one arrives.
    sync.upsert_page(
        [
            _recording(
                3,
                source="4101",
                destination="5521933334444",
                when=_at(DAY, 9, 59),
                duration=1500,
                size=7,
            ),
            _recording(
                8, source="5511977776666", destination="4103", when=_at(DAY, 3), customer_id=12
            ),
        ],
        timezone.now(),
    )
    same()
    services.recordings_mark_deleted(record_ids=[1, 5])
    same()
    assert _figures(True, cases[0])[0] == 5
    IndexedRecording.objects.filter(record_id=2).delete()
    same()
    # A re-read that changes nothing the charts count leaves them alone.
    sync.upsert_page(
        [
            _recording(
                4,
                source="4102",
                destination="5541985977963",
                when=_at(DAY + dt.timedelta(days=1), 14),
                duration=1900,
                size=None,
            )
        ],
        timezone.now(),
    )
    same()
