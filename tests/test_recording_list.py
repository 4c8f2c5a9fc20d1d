"""The recordings browser: filters, validation, paging, totals, states, htmx, CSV, language."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from recordings import vono
from tests.simulator import SimulatorProcess


def _list_requests(sim: SimulatorProcess) -> int:
    return int(sim.stats()["requests"].get("list", 0))


def _ids(response: Any) -> list[int]:
    return [r.record_id for r in response.context["page"].recordings]


# --- filters and defaults ---


def test_default_is_the_last_seven_days(supervisor_client: Client, sim: SimulatorProcess) -> None:
    today = timezone.localdate()
    response = supervisor_client.get("/recordings/")
    filters = response.context["filters"]
    assert filters.date_ini == today - dt.timedelta(days=6)
    assert filters.date_end == today
    expected = sim.list(f"date_ini={filters.date_ini}&date_end={today}&limit=1")
    assert response.context["page"].total_records == expected["total_records"] > 0


def test_empty_dates_mean_no_bounds(supervisor_client: Client, sim: SimulatorProcess) -> None:
    response = supervisor_client.get("/recordings/?date_ini=&date_end=")
    assert response.context["page"].total_records == 2400


def test_all_filters_reach_the_upstream(supervisor_client: Client, sim: SimulatorProcess) -> None:
    day = timezone.localdate() - dt.timedelta(days=3)
    query = (
        f"date_ini={day}&time_ini=09:00&date_end={day + dt.timedelta(days=1)}"
        "&time_end=18:30:00&customer_id=3"
    )
    response = supervisor_client.get(f"/recordings/?{query}&per_page=100")
    raw = sim.list(
        f"date_ini={day}&time_ini=09:00:00&date_end={day + dt.timedelta(days=1)}"
        "&time_end=18:30:00&limit=100",
        path="/3",
    )
    assert _ids(response) == [r["record_id"] for r in raw["data"]]
    html = response.content.decode()
    assert "09:00:00" in html and "18:30:00" in html, "the page says what it asked"


def test_id_record_filter(supervisor_client: Client, sim: SimulatorProcess) -> None:
    record_id = sim.list("limit=1&start=9")["data"][0]["record_id"]
    response = supervisor_client.get(f"/recordings/?id_record={record_id}&date_ini=&date_end=")
    assert _ids(response) == [record_id]


# --- validation: a clear message next to the field, nothing sent upstream ---


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("date_ini=2026-02-30", "date_ini", "Informe uma data válida."),
        ("date_ini=27/11/2026", "date_ini", "Informe uma data válida."),
        ("date_end=2026-13-01", "date_end", "Informe uma data válida."),
        ("date_ini=2026-11-20&date_end=2026-11-10", "date_end", "anterior à data inicial"),
        (
            "date_ini=2026-11-20&date_end=2026-11-20&time_ini=10:00&time_end=09:00",
            "time_end",
            "hora final é anterior",
        ),
        ("date_ini=2026-11-20&time_ini=25:00", "time_ini", "Informe uma hora válida."),
        ("date_ini=&date_end=2026-11-20&time_ini=08:00", "time_ini", "Informe também a data"),
        ("date_end=2026-11-20&time_end=8h", "time_end", "Informe uma hora válida."),
        ("id_record=abc", "id_record", "Informe um número inteiro."),
        ("id_record=0", "id_record", "Os IDs de gravação começam em 1."),
        ("customer_id=três", "customer_id", "Informe um número inteiro."),
        ("per_page=lots", "per_page", "Escolha 25, 50 ou 100 por página."),
        ("per_page=1000", "per_page", "Escolha 25, 50 ou 100 por página."),
        ("page=0", "page", "As páginas começam em 1."),
        # Unicode digits pass str.isdigit() and fail in int(): issue 9's first 500s.
        ("per_page=²", "per_page", "Escolha 25, 50 ou 100 por página."),
        ("per_page=③", "per_page", "Escolha 25, 50 ou 100 por página."),
        (f"per_page={'9' * 4301}", "per_page", "Escolha 25, 50 ou 100 por página."),
        (f"per_page={'9' * 5000}", "per_page", "Escolha 25, 50 ou 100 por página."),
        ("page=²", "page", "Informe um número inteiro."),
        (f"page={'9' * 5000}", "page", "Informe um número inteiro."),
        (f"id_record={'9' * 5000}", "id_record", "Informe um número inteiro."),
        ("id_record=-5", "id_record", "Os IDs de gravação começam em 1."),
        ("customer_id=%00", "customer_id", "Informe um número inteiro."),
        ("date_ini=2026-11-20%00", "date_ini", "Informe uma data válida."),
    ],
)
def test_invalid_input_is_a_400_naming_the_field_and_never_sent(
    supervisor_client: Client, sim: SimulatorProcess, query: str, field: str, message: str
) -> None:
    response = supervisor_client.get(f"/recordings/?{query}")
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html, "the message sits next to its field"
    assert "Corrija os campos destacados" in html
    assert _list_requests(sim) == 0


# --- totals and paging agree with the simulator ---
# The vendor does not promise an uncapped ``limit``: every paging test runs against an
# upstream that caps it at 50 as well.


@pytest.fixture(params=[None, 50], ids=["uncapped", "limit-capped-at-50"])
def upstream_cap(request: pytest.FixtureRequest, sim: SimulatorProcess) -> int | None:
    cap: int | None = request.param
    if cap is not None:
        sim.configure(max_limit=cap)
    return cap


def _raw_rows(sim: SimulatorProcess, query: str, start: int, count: int) -> list[int]:
    """Rows ``start`` to ``start + count`` straight from the simulator, however it caps."""
    rows: list[int] = []
    while len(rows) < count:
        page = sim.list(f"{query}&start={start + len(rows)}&limit={count - len(rows)}")
        if not page["data"]:
            break
        rows += [r["record_id"] for r in page["data"]]
    return rows[:count]


def test_page_three_is_what_the_simulator_holds(
    supervisor_client: Client, sim: SimulatorProcess, upstream_cap: int | None
) -> None:
    query = "date_ini=2026-01-01&date_end=2100-01-01"
    response = supervisor_client.get(f"/recordings/?{query}&per_page=100&page=3")
    raw = sim.list(f"{query}&start=200&limit=1")
    assert _ids(response) == _raw_rows(sim, query, 200, 100)
    assert len(_ids(response)) == 100
    page = response.context["page"]
    assert page.total_records == raw["total_records"]
    assert page.total_time == raw["total_time"]
    pager = response.context["pager"]
    assert (pager["current"], pager["count"]) == (3, math.ceil(raw["total_records"] / 100))
    assert (pager["from"], pager["to"]) == (201, 300)
    html = response.content.decode()
    assert f"página 3 de {pager['count']}" in html
    assert "per_page=100&amp;page=4" in html.replace(
        "page=4&amp;per_page=100", "per_page=100&amp;page=4"
    )


@pytest.mark.parametrize("cap", [20, 50, 70, 500])
def test_a_shared_link_shows_the_same_rows_whatever_the_upstream_caps(
    supervisor_client: Client, sim: SimulatorProcess, cap: int
) -> None:
    sim.configure(max_limit=cap)
    response = supervisor_client.get("/recordings/?date_ini=&date_end=&page=2&per_page=100")
    assert sim.stats()["requests"]["list"] == math.ceil(100 / cap), "as many calls as needed"
    assert _ids(response) == _raw_rows(sim, "date_ini=&date_end=", 100, 100)
    pager = response.context["pager"]
    assert (pager["size"], pager["current"], pager["count"]) == (100, 2, 24)
    assert (pager["from"], pager["to"]) == (101, 200)
    html = response.content.decode()
    assert "página 2 de 24" in html
    assert "101–200 de 2.400" in html


def test_last_page_link_and_a_page_beyond(
    supervisor_client: Client, sim: SimulatorProcess, upstream_cap: int | None
) -> None:
    response = supervisor_client.get("/recordings/?date_ini=&date_end=&per_page=100&page=24")
    assert response.context["pager"]["next"] is None
    assert len(_ids(response)) == 100
    beyond = supervisor_client.get("/recordings/?date_ini=&date_end=&per_page=100&page=99")
    assert beyond.status_code == 200
    assert "Esta página não existe" in beyond.content.decode()


def test_a_short_last_page_under_a_cap(
    supervisor_client: Client, sim: SimulatorProcess, upstream_cap: int | None
) -> None:
    response = supervisor_client.get("/recordings/?date_ini=&date_end=&per_page=500&page=5")
    assert _ids(response) == _raw_rows(sim, "date_ini=&date_end=", 2000, 400)
    assert (response.context["pager"]["from"], response.context["pager"]["to"]) == (2001, 2400)


def test_empty_state(supervisor_client: Client, sim: SimulatorProcess) -> None:
    response = supervisor_client.get("/recordings/?date_ini=2001-01-01&date_end=2001-01-02")
    assert "Nenhuma gravação encontrada" in response.content.decode()


def test_rows_show_locale_formats(supervisor_client: Client, sim: SimulatorProcess) -> None:
    raw = sim.list("limit=1&date_ini=2000-01-01&date_end=2100-01-01")["data"][0]
    response = supervisor_client.get("/recordings/?date_ini=&date_end=&per_page=25")
    html = response.content.decode()
    stamp = dt.datetime.strptime(raw["calldate"], "%Y-%m-%d %H:%M:%S")
    assert stamp.strftime("%d/%m/%Y %H:%M:%S") in html
    minutes, seconds = divmod(raw["duration"], 60)
    assert f"{minutes}:{seconds:02d}" in html or f"{minutes // 60}:{minutes % 60:02d}:" in html
    assert "2.400" in html, "thousands separated the Brazilian way"


# --- upstream failures: a calm message and a retry, never a 500 ---


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("status", {"status": 503}, "O Vono não respondeu a tempo ou está fora do ar"),
        ("reset", {}, "O Vono não respondeu a tempo ou está fora do ar"),
        ("latency", {"seconds": 1.5}, "O Vono não respondeu a tempo ou está fora do ar"),
        ("error", {"reason": "Serviço em manutenção"}, "O Vono recusou a consulta: Serviço em"),
        ("malformed", {}, "O Vono respondeu algo que não conseguimos entender"),
        ("truncate", {}, "O Vono respondeu algo que não conseguimos entender"),
    ],
)
def test_upstream_failures_are_calm(
    supervisor_client: Client,
    sim: SimulatorProcess,
    settings: Any,
    kind: str,
    options: dict[str, Any],
    message: str,
) -> None:
    settings.VONO_READ_TIMEOUT = 0.5
    sim.fault(kind, target="list", **options)
    response = supervisor_client.get("/recordings/?date_ini=&date_end=&page=2")
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Tentar de novo" in html
    assert 'href="?date_ini=&amp;date_end=&amp;page=2"' in html, "retry repeats the same view"


# --- htmx ---


def test_htmx_gets_the_partial_and_caches_vary(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    full = supervisor_client.get("/recordings/?per_page=50")
    partial = supervisor_client.get("/recordings/?per_page=50", headers={"HX-Request": "true"})
    assert "<html" in full.content.decode()
    body = partial.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="browser">')
    assert "HX-Request" in partial["Vary"]
    assert _ids(full) == _ids(partial)


def test_links_work_without_javascript(
    supervisor_client: Client, sim: SimulatorProcess, upstream_cap: int | None
) -> None:
    html = supervisor_client.get("/recordings/?date_ini=&date_end=").content.decode()
    assert 'method="get" action="/recordings/"' in html
    assert 'href="?date_ini=&amp;date_end=&amp;per_page=25&amp;page=2"' in html
    assert 'hx-get="?date_ini=&amp;date_end=&amp;per_page=25&amp;page=2"' in html


# --- CSV export -------------------------------------------------------------------------------


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize("cap", [70, 50])
def test_export_has_every_row_across_upstream_pages(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any, cap: int
) -> None:
    settings.VONO_PAGE_LIMIT = 100
    sim.configure(max_limit=cap)  # pages smaller than asked: the export follows what came back
    today = timezone.localdate()
    start = today - dt.timedelta(days=10)
    response = supervisor_client.get(f"/recordings/export.csv?date_ini={start}&date_end={today}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="gravacoes_{start}_a_{today}.csv"'
    )
    rows = _csv(response)
    upstream_pages = sim.stats()["requests"]["list"]
    assert rows[0][:4] == ["ID", "Data e hora", "Origem", "Destino"]
    raw: list[dict[str, Any]] = []
    while True:
        page = sim.list(f"date_ini={start}&date_end={today}&start={len(raw)}&limit=500")
        raw += page["data"]
        if len(raw) >= page["total_records"]:
            break
    assert len(raw) > 200
    assert [int(r[0]) for r in rows[1:]] == [r["record_id"] for r in raw]
    first = raw[0]
    stamp = dt.datetime.strptime(first["calldate"], "%Y-%m-%d %H:%M:%S")
    assert rows[1][1] == stamp.strftime("%d/%m/%Y %H:%M:%S")
    assert rows[1][5] == str(first["duration"])
    assert rows[1][8] == first["size"]
    assert rows[1][9] == str(first["customer_id"])
    assert upstream_pages == math.ceil(len(raw) / cap)


def test_export_file_name_follows_the_filter(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get(
        "/recordings/export.csv?date_ini=2026-11-01&date_end=2026-11-02&time_ini=08:00"
        "&time_end=18:00&customer_id=7"
    )
    assert response["Content-Disposition"] == (
        'attachment; filename="gravacoes_2026-11-01_a_2026-11-02_0800-1800_assinante7.csv"'
    )


def test_export_of_invalid_filter_is_400(supervisor_client: Client, sim: SimulatorProcess) -> None:
    response = supervisor_client.get("/recordings/export.csv?date_ini=2026-02-31")
    assert response.status_code == 400
    assert _list_requests(sim) == 0


def test_export_upstream_down_is_a_calm_503(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    sim.fault("status", status=503)
    response = supervisor_client.get("/recordings/export.csv")
    assert response.status_code == 503
    assert "O Vono não respondeu a tempo" in response.content.decode()


def test_export_failing_midway_aborts_instead_of_ending_short(
    supervisor_client: Client, sim: SimulatorProcess, settings: Any
) -> None:
    settings.VONO_PAGE_LIMIT = 100
    sim.fault("status", status=500, target="list", skip=1)
    response = supervisor_client.get("/recordings/export.csv?date_ini=&date_end=")
    assert response.status_code == 200
    lines = 0
    with pytest.raises(vono.VonoUnavailable):
        for _chunk in response.streaming_content:
            lines += 1
    assert lines == 101  # the header and the first page, then the abort


def test_export_neutralises_formulas() -> None:
    from recordings.export import csv_cell

    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("+5511") == "'+5511"
    assert csv_cell("5511") == "5511"


# --- language ---


def test_english_is_selectable(supervisor_client: Client, sim: SimulatorProcess) -> None:
    response = supervisor_client.post("/i18n/setlang/", {"language": "en", "next": "/recordings/"})
    assert response.status_code == 302
    html = supervisor_client.get("/recordings/?date_ini=&date_end=").content.decode()
    assert '<html lang="en">' in html
    assert "Recordings" in html
    assert "2,400" in html
    raw = sim.list("limit=1&date_ini=2000-01-01&date_end=2100-01-01")["data"][0]
    assert raw["calldate"] in html  # ISO date and time in English


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("5511987654321", "(11) 98765-4321"),
        ("551133334444", "(11) 3333-4444"),
        ("11987654321", "(11) 98765-4321"),
        ("5551939809735", "(51) 93980-9735"),
        ("0800123456", "0800123456"),
        ("sup9001", "sup9001"),
        ("4101", "4101"),
        ("", ""),
    ],
)
def test_phone_numbers_are_readable(raw: str, shown: str) -> None:
    from recordings.templatetags.recordings_tags import phone

    assert phone(raw) == shown
