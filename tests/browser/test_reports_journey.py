"""A supervisor reads the charts and drills from a bar into the list; the DPO produces the LGPD
access report for a number, prints it and downloads its CSV."""

from __future__ import annotations

import csv
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from index import sync
from index.numbers import normalise
from recordings import vono
from tests.browser.conftest import screenshot
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

PHONE = {"width": 390, "height": 844}


def _index(sim: SimulatorProcess) -> None:
    """The index as a sync leaves it: every recording the simulator holds."""
    client = vono.get_client()
    start, total = 0, None
    while total is None or start < total:
        page = client.list_recordings(vono.RecordingFilter(), start=start, limit=500)
        sync.upsert_page(page.recordings, timezone.now())
        total, start = page.total_records, start + len(page.recordings)


def _sign_in(page: Page, portal: str, username: str, lands_on: str) -> None:
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("Usuário").fill(username)
    page.get_by_label("Senha").fill("pw-for-tests")
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{portal}{lands_on}")


def _csp_watch(page: Page) -> list[str]:
    reports: list[str] = []
    page.on(
        "console",
        lambda m: reports.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return reports


def test_a_supervisor_reads_the_charts_and_drills_into_the_list(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    _index(sim)
    csp = _csp_watch(page)
    _sign_in(page, portal, "sup", "/recordings/")
    page.get_by_role("link", name="Gráficos").click()
    expect(page.get_by_role("heading", name="Gráficos de chamadas", level=1)).to_be_visible()
    for chart in ("daily", "durations", "storage", "top-calls", "top-minutes"):
        expect(page.locator(f"#chart-{chart}")).to_have_class(re.compile(r"\bdrawn\b"))
    # Drawn: the tables fold away, one click from view.
    expect(page.locator("#chart-daily details.chart-data")).not_to_have_attribute("open", "")
    expect(page.locator("#chart-heatmap td.heat-5")).not_to_have_count(0)
    screenshot(page, "reports-desktop")
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#chart-daily")).to_have_class(re.compile(r"\bdrawn\b"))
    screenshot(page, "reports-phone")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.reload()
    expect(page.locator("#chart-daily")).to_have_class(re.compile(r"\bdrawn\b"))

    # The tallest bar of the first subscriber's stack: where it is, and what it counts.
    bar = page.evaluate(
        """() => {
            const canvas = document.querySelector('#chart-daily canvas');
            const chart = Chart.getChart(canvas);
            const values = chart.data.datasets[0].data;
            const index = values.indexOf(Math.max(...values));
            const element = chart.getDatasetMeta(0).data[index];
            return {x: element.x, y: (element.y + element.base) / 2, index: index,
                    calls: values[index], label: chart.data.labels[index],
                    subscriber: chart.data.datasets[0].label};
        }"""
    )
    assert bar["calls"] > 0
    box = page.locator("#chart-daily canvas").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + bar["x"], box["y"] + bar["y"])
    page.wait_for_url(re.compile(r"/recordings/\?"))
    query = parse_qs(urlsplit(page.url).query)
    day = bar["label"]
    subscriber = bar["subscriber"].rsplit(" ", 1)[-1]
    assert query["date_ini"] == [day] and query["date_end"] == [day]
    assert query["customer_id"] == [subscriber]
    expect(page.locator("[data-total=records]")).to_have_text(str(bar["calls"]))
    listed = sim.list(f"date_ini={day}&date_end={day}&limit=1", path=f"/{subscriber}")
    assert listed["total_records"] == bar["calls"], "the bar counts what the list lists"
    assert csp == [], csp


def test_the_dpo_produces_a_report_for_a_number(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    _index(sim)
    call = next(
        item
        for item in sim.list("limit=200")["data"]
        if len(item["source"]) == 13 and item["customer_id"] == 3
    )
    # Someone listened to the call and downloaded it, from a known address.
    office = Client(REMOTE_ADDR="203.0.113.7")
    office.force_login(users["supervisor"])
    assert office.get(f"/recordings/{call['record_id']}/audio").status_code == 200
    assert office.get(f"/recordings/{call['record_id']}/download").status_code == 200
    # ... and exported a filter that held it: the report's note for that row is a sentence.
    day = call["calldate"][:10]
    export = office.get(
        f"/recordings/export.csv?number={call['source']}&date_ini={day}&date_end={day}"
    )
    assert export.status_code == 200
    b"".join(export.streaming_content)
    make_user("debora", "Encarregado de dados (DPO)", first_name="Débora")
    csp = _csp_watch(page)

    _sign_in(page, portal, "debora", "/privacy/")
    national = normalise(call["source"])
    typed = f"({national[:2]}) {national[2:7]}-{national[7:]}"
    page.get_by_label("Número de telefone ou ramal").fill(typed)
    page.get_by_role("button", name="Produzir relatório").click()
    expect(page.locator("table.recordings-involving tbody tr")).to_have_count(1)
    row = page.locator("table.recordings-involving tbody tr").first
    expect(row).to_contain_text(str(call["record_id"]))
    expect(row).to_contain_text("ligou (origem)")
    accesses = page.locator("table.accesses tbody")
    expect(accesses).to_contain_text("reprodução")
    expect(accesses).to_contain_text("download")
    expect(accesses).to_contain_text("203.0.113.7")
    expect(accesses).to_contain_text("sup")
    screenshot(page, "privacy-desktop")
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("form.filters")).to_be_hidden()
    screenshot(page, "privacy-print")
    # On A4 paper (some 720 px), the notes wrap: no column is cut at the page's edge.
    page.set_viewport_size({"width": 720, "height": 1000})
    expect(accesses).to_contain_text("pelo filtro registrado")
    wrap = (
        "() => { const w = document.querySelector('table.accesses').parentElement;"
        " return w.scrollWidth - w.clientWidth; }"
    )
    assert page.evaluate(wrap) <= 0
    page.set_viewport_size({"width": 1360, "height": 900})
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)
    screenshot(page, "privacy-phone")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Baixar CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"lgpd_acessos_{national}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert [r[1] for r in rows if r[0] == "gravação"] == [str(call["record_id"])]
    assert {"reprodução", "download"} <= {r[3] for r in rows if r[0] == "acesso"}
    assert csp == [], csp
