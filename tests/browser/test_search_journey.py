"""A supervisor finds a call from a number typed the way people type it, plays it, exports it."""

from __future__ import annotations

import csv
import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from index import sync
from tests.browser.conftest import screenshot, sign_in
from tests.simulator import SimulatorProcess

PHONE = (390, 844)


@pytest.fixture
def a_customers_calls(sim: SimulatorProcess, settings: Any) -> list[dict[str, Any]]:
    """Two calls with one customer (stored by Vono as 5541985977963) among the demo's, and
    the index synced over the list's default week."""
    settings.INDEX_DAYS = 8
    settings.INDEX_RECENT_DAYS = 1
    settings.INDEX_MAX_RPS = 1000
    today = dt.date.today()
    calls = [
        sim.add_recording(
            source="5541985977963",
            destination="4107",
            clid="5541985977963",
            customer_id=21,
            duration=95,
            calldate=f"{today - dt.timedelta(days=2)}T09:15:00",
        ),
        sim.add_recording(
            source="4112",
            destination="5541985977963",
            clid="4112",
            customer_id=21,
            duration=240,
            calldate=f"{today - dt.timedelta(days=1)}T16:40:00",
        ),
    ]
    assert sync.sync_run().status == "done"
    return calls


def test_supervisor_finds_a_call_by_a_typed_number_plays_it_and_exports(
    page: Page,
    portal: str,
    sim: SimulatorProcess,
    users: dict[str, Any],
    a_customers_calls: list[dict[str, Any]],
) -> None:
    sign_in(page, portal, "sup")
    expect(page.locator(".age")).to_contain_text("índice atualizado há")
    page.evaluate("window.stillTheSamePage = true")

    # Typed as people write it, and only half of it.
    page.get_by_label("Número").fill("(41) 98597-79")
    page.get_by_role("button", name="Filtrar").click()
    expect(page).to_have_url(re.compile(r"number=(\(|%28)41(\)|%29)(%20|\+)98597-79"))
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    newest, older = (str(c["record_id"]) for c in reversed(a_customers_calls))
    expect(rows.first).to_have_attribute("data-record-id", newest)
    expect(page.locator(".asked")).to_contain_text("(41) 98597-79")
    expect(page.locator("[data-total=records]")).to_have_text("2")
    assert page.evaluate("window.stillTheSamePage") is True, "htmx swapped, no full reload"
    screenshot(page, "search-by-number")

    # The longest first, from the column header; the page says so to assistive technology.
    page.get_by_role("link", name="Duração").click()
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Duração")
    expect(page).to_have_url(re.compile(r"sort=-duration"))
    expect(rows.first).to_have_attribute("data-record-id", newest)
    page.get_by_role("link", name="Duração").click()
    expect(page.locator('th[aria-sort="ascending"]')).to_contain_text("Duração")
    expect(rows.first).to_have_attribute("data-record-id", older)
    list_url = page.url

    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=f"Gravação {older}")).to_be_visible()
    expect(page.locator("[data-player]")).to_have_attribute("data-peaks", "loaded")
    page.get_by_role("button", name="Tocar").click()
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0.5")
    expect(page.get_by_role("button", name="Pausar")).to_be_visible()
    # Next in the search, not in the whole list.
    page.get_by_role("link", name="Próxima ›").click()
    expect(page.get_by_role("heading", name=f"Gravação {newest}")).to_be_visible()

    page.goto(list_url)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Exportar CSV").click()
    download = download_info.value
    assert "_numero4198597" in download.suggested_filename
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        exported = list(csv.reader(handle, delimiter=";"))
    assert [row[0] for row in exported[1:]] == [older, newest]
    assert exported[1][2] == "(41) 98597-7963" and exported[1][3] == "4107"


def test_on_a_phone_the_search_and_its_warning_fit(
    page: Page,
    portal: str,
    sim: SimulatorProcess,
    users: dict[str, Any],
    a_customers_calls: list[dict[str, Any]],
) -> None:
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    sign_in(page, portal, "sup")
    page.get_by_label("Número").fill("98597-7963")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # Cards have no header row, but the order is still a tap away.
    page.get_by_role("link", name="Tamanho").click()
    expect(page.locator('th[aria-sort="descending"]')).to_contain_text("Tamanho")
    screenshot(page, "search-by-number-phone")

    # A window reaching past the index: the answer says it covers only indexed days.
    start = dt.date.today() - dt.timedelta(days=30)
    page.get_by_label("De", exact=True).fill(start.isoformat())
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator("[data-coverage=partial]")).to_contain_text("Resposta parcial")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "search-partial-phone")
    page.get_by_role("link", name="Ver a lista direta do Vono só com as datas").click()
    expect(page.locator("[data-coverage=live]")).to_contain_text("vem direto do Vono")
    expect(page.get_by_label("Número")).to_have_value("")
