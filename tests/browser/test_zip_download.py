"""A supervisor takes recordings as a ZIP from the list: the selection, then the filter."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.simulator import SimulatorProcess

DAY = "2025-06-02"


def _add(sim: SimulatorProcess, count: int) -> list[dict[str, Any]]:
    start = dt.datetime.fromisoformat(f"{DAY}T09:00:00")
    return [
        sim.add_recording(
            calldate=(start + dt.timedelta(minutes=n)).isoformat(), duration=30, customer_id=3
        )
        for n in range(count)
    ]


def _entries(path: Any) -> dict[int, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(open(path, "rb").read()))  # noqa: SIM115
    assert archive.namelist()[-1] == "manifest.csv"
    return {
        int(name.rsplit("_", 1)[1].removesuffix(".mp3")): archive.read(name)
        for name in archive.namelist()[:-1]
    }


def _raw(sim: SimulatorProcess, record_id: int) -> bytes:
    return sim.get(f"id_record={record_id}&is_download=1")[2]


def test_supervisor_zips_the_selection_then_the_whole_filter(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    added = _add(sim, 3)
    sign_in(page, portal, "sup")
    page.goto(f"{portal}/recordings/?date_ini={DAY}&date_end={DAY}")
    expect(page.locator("tbody tr")).to_have_count(3)
    zip_selected = page.get_by_role("button", name="Baixar ZIP das selecionadas")
    expect(zip_selected).to_be_disabled()  # nothing chosen yet
    chosen = [added[0]["record_id"], added[2]["record_id"]]
    for record_id in chosen:
        page.get_by_label(f"Selecionar a gravação {record_id}").check()
    expect(zip_selected).to_be_enabled()
    screenshot(page, "zip-selection")
    with page.expect_download() as download_info:
        zip_selected.click()
    download = download_info.value
    assert download.suggested_filename.startswith("gravacoes_")
    entries = _entries(download.path())
    assert sorted(entries) == sorted(chosen)
    assert all(entries[i] == _raw(sim, i) for i in chosen)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Baixar ZIP das 3 gravações").click()
    download = download_info.value
    assert download.suggested_filename == f"gravacoes_{DAY}_a_{DAY}.zip"
    assert sorted(_entries(download.path())) == sorted(r["record_id"] for r in added)

    page.set_viewport_size({"width": 390, "height": 844})
    expect(zip_selected).to_be_visible()
    screenshot(page, "zip-selection-phone")


def test_a_selection_over_the_limit_says_so_in_a_page(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any], settings: Any
) -> None:
    settings.ZIP_MAX_FILES = 2
    _add(sim, 3)
    sign_in(page, portal, "sup")
    page.goto(f"{portal}/recordings/?date_ini={DAY}&date_end={DAY}")
    page.get_by_role("link", name="Baixar ZIP das 3 gravações").click()
    expect(page.get_by_role("alert")).to_contain_text("São 3 gravações; um ZIP leva no máximo 2.")
    screenshot(page, "zip-over-the-limit")
    page.get_by_role("link", name="Voltar às gravações").click()
    expect(page.locator("tbody tr")).to_have_count(3)


def test_qa_reviewers_are_offered_no_zip(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    _add(sim, 1)
    sign_in(page, portal, "qa")
    page.goto(f"{portal}/recordings/?date_ini={DAY}&date_end={DAY}")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_text("Baixar ZIP")).to_have_count(0)
