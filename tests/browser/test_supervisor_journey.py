"""A supervisor's day: sign in, filter, page, share the URL, export; and what QA cannot do."""

from __future__ import annotations

import csv
import datetime as dt
import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.simulator import SimulatorProcess


def _first_row_id(page: Page) -> str:
    return str(page.locator("tbody tr").first.get_attribute("data-record-id"))


def test_supervisor_filters_pages_reloads_and_exports(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    expect(page.get_by_role("heading", name="Gravações")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(25)

    today = dt.date.today()
    start = today - dt.timedelta(days=20)
    end = today - dt.timedelta(days=5)
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("De", exact=True).fill(start.isoformat())
    page.get_by_label("Até", exact=True).fill(end.isoformat())
    page.get_by_label("Por página").select_option("25")
    page.get_by_role("button", name="Filtrar").click()
    expect(page).to_have_url(re.compile(rf"date_ini={start}&.*date_end={end}"))
    expect(page.locator(".asked")).to_contain_text(start.strftime("%d/%m/%Y"))
    assert page.evaluate("window.stillTheSamePage") is True, "htmx swapped, no full reload"

    raw = sim.list(f"date_ini={start}&date_end={end}&limit=25&start=50")
    page.get_by_role("link", name="Próxima ›").click()
    expect(page.locator(".where")).to_contain_text("página 2 de")
    page.get_by_role("link", name="Próxima ›").click()
    expect(page.locator(".where")).to_contain_text("página 3 de")
    expect(page).to_have_url(re.compile(r"page=3"))
    assert _first_row_id(page) == str(raw["data"][0]["record_id"])
    screenshot(page, "supervisor-page-3")

    url = page.url
    page.reload()
    expect(page).to_have_url(url)
    expect(page.locator(".where")).to_contain_text("página 3 de")
    assert _first_row_id(page) == str(raw["data"][0]["record_id"])
    expect(page.get_by_label("De", exact=True)).to_have_value(start.isoformat())

    page.go_back()
    expect(page.locator(".where")).to_contain_text("página 2 de")

    page.goto(url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Exportar CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"gravacoes_{start}_a_{end}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert len(rows) - 1 == raw["total_records"]


def test_validation_message_appears_next_to_the_field(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    page.get_by_label("ID da gravação").fill("abc")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator("#id_id_record_error")).to_have_text("Informe um número inteiro.")
    screenshot(page, "supervisor-validation")


def test_upstream_outage_shows_a_retry_that_works(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    sim.fault("status", status=503, target="list")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.get_by_role("alert")).to_contain_text("O Vono não respondeu a tempo")
    screenshot(page, "supervisor-outage")
    sim.clear_faults()
    page.get_by_role("link", name="Tentar de novo").click()
    expect(page.locator("tbody tr")).to_have_count(25)


def test_qa_reviewer_sees_no_export_or_delete_controls(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    expect(page.locator("tbody tr")).to_have_count(25)
    expect(page.get_by_role("link", name="Exportar CSV")).to_have_count(0)
    expect(page.locator("input[type=checkbox]")).to_have_count(0)
    expect(page.get_by_text("exclusão", exact=False)).to_have_count(0)
    screenshot(page, "qa-list")
