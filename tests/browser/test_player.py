"""A QA reviewer listens: playback streams, seeking, speed, keyboard, next and previous."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.simulator import SimulatorProcess


def _current_time(page: Page) -> float:
    return float(page.evaluate("document.querySelector('audio').currentTime"))


def _wait_until(page: Page, script: str, timeout: float = 10.0) -> None:
    # A function, not a bare expression: Playwright evaluates a bare string with eval(),
    # which the page's Content-Security-Policy (rightly) refuses.
    page.wait_for_function(f"() => ({script})", timeout=timeout * 1000)


def _newest_calls(sim: SimulatorProcess, durations: list[int]) -> list[dict[str, Any]]:
    """Calls dated tomorrow, so they head the list, with durations the test can rely on
    (the demo data's newest calls depend on the time of day the suite runs)."""
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    for minute, duration in enumerate(durations):
        sim.add_recording(
            duration=duration, customer_id=3, calldate=f"{tomorrow}T10:{minute:02d}:00"
        )
    return list(sim.list(f"limit={len(durations)}")["data"])


def test_qa_reviewer_plays_seeks_changes_speed_and_moves_on(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    rows = _newest_calls(sim, [300, 240, 180])
    page.goto(f"{portal}/recordings/?date_ini=&date_end=")
    page.locator("tbody tr").nth(1).get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/recordings/{rows[1]['record_id']}/\?.*pos=1"))
    expect(page.get_by_role("heading", name=f"Gravação {rows[1]['record_id']}")).to_be_visible()
    expect(page.locator("[data-player]")).to_have_attribute("data-peaks", "loaded")
    expect(page.get_by_role("link", name="Baixar MP3")).to_have_count(0)  # QA: no download

    page.get_by_role("button", name="Tocar").click()
    _wait_until(page, "document.querySelector('audio').currentTime > 0.5")
    expect(page.get_by_role("button", name="Pausar")).to_be_visible()
    screenshot(page, "player-playing")

    duration = rows[1]["duration"]
    box = page.locator(".waveform").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    _wait_until(page, f"document.querySelector('audio').currentTime > {duration * 0.72}")
    assert abs(_current_time(page) - duration * 0.75) < duration * 0.04 + 1

    page.get_by_label("Velocidade").select_option("2")
    assert page.evaluate("document.querySelector('audio').playbackRate") == 2
    began, at = time.monotonic(), _current_time(page)
    time.sleep(2.5)
    advanced = _current_time(page) - at
    # Twice the speed, with room for a busy machine: clearly faster than real time.
    assert advanced / (time.monotonic() - began) > 1.3, "playing faster than real time"

    page.get_by_role("link", name="Próxima ›").click()
    expect(page).to_have_url(re.compile(rf"/recordings/{rows[2]['record_id']}/\?.*pos=2"))
    page.get_by_role("link", name="‹ Anterior").click()
    page.get_by_role("link", name="‹ Anterior").click()
    expect(page).to_have_url(re.compile(rf"/recordings/{rows[0]['record_id']}/\?.*pos=0"))
    expect(page.get_by_text("1 de 2.403")).to_be_visible()


def test_keyboard_controls(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    record = _newest_calls(sim, [120])[0]
    page.goto(f"{portal}/recordings/{record['record_id']}/")
    expect(page.locator(".controls")).to_be_visible()
    page.locator("h1").click()  # focus on the page, not on a control
    page.keyboard.press(" ")
    _wait_until(page, "document.querySelector('audio').currentTime > 0.3")
    page.keyboard.press("ArrowRight")
    _wait_until(page, "document.querySelector('audio').currentTime > 10")
    page.keyboard.press("ArrowLeft")
    assert _current_time(page) < 10
    page.keyboard.press("+")
    assert page.evaluate("document.querySelector('audio').playbackRate") == 1.25
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert page.evaluate("document.querySelector('audio').playbackRate") == 0.75
    page.keyboard.press(" ")
    _wait_until(page, "document.querySelector('audio').paused")
    for control in ("Tocar", "Voltar 10 segundos", "Avançar 10 segundos"):
        expect(page.get_by_role("button", name=control)).to_be_visible()
    expect(page.get_by_label("Velocidade")).to_be_visible()
    expect(page.get_by_label("Volume")).to_be_visible()


def test_supervisor_gets_a_download_button(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    record = sim.list("limit=1")["data"][0]
    page.goto(f"{portal}/recordings/{record['record_id']}/")
    with page.expect_download() as info:
        page.get_by_role("link", name="Baixar MP3").click()
    assert info.value.suggested_filename.endswith(f"_{record['record_id']}.mp3")


def test_a_recording_without_a_file_says_so(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    record = sim.list("limit=1")["data"][0]
    sim.fault("status", status=404, target="download")
    page.goto(f"{portal}/recordings/{record['record_id']}/")
    expect(page.get_by_role("alert")).to_contain_text("Gravação indisponível")
    expect(page.locator("[data-player]")).to_have_attribute("data-state", "unavailable")
    screenshot(page, "player-unavailable")
