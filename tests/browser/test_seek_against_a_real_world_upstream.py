"""Seeking anywhere in a long call when the upstream sends no length, chunked bytes,
application/octet-stream, and ignores Range (issue: "The upstream as it may really be")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.simulator import SimulatorProcess

# Waits are functions, not bare expressions: Playwright evaluates a bare string with eval(),
# which the page's Content-Security-Policy refuses.
FORTY_FIVE_MINUTES = 45 * 60


def test_qa_reviewer_seeks_anywhere_in_a_45_minute_call(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sim.configure(
        content_length=False,
        chunked=True,
        content_type="application/octet-stream",
        honour_range=False,
    )
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    record = sim.add_recording(
        duration=FORTY_FIVE_MINUTES, customer_id=3, calldate=f"{tomorrow}T09:00:00"
    )
    audio_requests: list[tuple[str | None, int]] = []
    page.on(
        "response",
        lambda r: (
            audio_requests.append((r.request.headers.get("range"), r.status))
            if r.url.endswith("/audio")
            else None
        ),
    )
    sign_in(page, portal, "qa")
    page.goto(f"{portal}/recordings/{record['record_id']}/")
    expect(page.locator("[data-player]")).to_have_attribute("data-peaks", "loaded")
    page.get_by_role("button", name="Tocar").click()
    page.wait_for_function(
        "() => document.querySelector('audio').currentTime > 0.5", timeout=15_000
    )
    duration = page.evaluate("document.querySelector('audio').duration")
    assert abs(duration - FORTY_FIVE_MINUTES) < 2, "the browser knows the whole length"

    box = page.locator(".waveform").bounding_box()
    assert box is not None
    for share in (0.9, 0.35, 0.98):
        page.mouse.click(box["x"] + box["width"] * share, box["y"] + box["height"] / 2)
        target = FORTY_FIVE_MINUTES * share
        page.wait_for_function(
            f"() => Math.abs(document.querySelector('audio').currentTime - {target}) < 30",
            timeout=15_000,
        )
        at = page.evaluate("document.querySelector('audio').currentTime")
        page.wait_for_function(
            f"() => document.querySelector('audio').currentTime > {at + 0.5}", timeout=15_000
        )
    assert not page.evaluate("document.querySelector('audio').error")
    statuses = {status for _, status in audio_requests}
    assert statuses <= {200, 206}, audio_requests
    assert any(r and r != "bytes=0-" for r, s in audio_requests if s == 206), (
        "the seeks were answered with ranges",
        audio_requests,
    )
    assert sim.stats()["requests"]["download"] == 1, "one upstream download served it all"
