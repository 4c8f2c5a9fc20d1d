"""A QA reviewer's day: open the queue, play, add two notes, fill the form, submit, land on the
next call; then the coordinator sees the score in the report. On a desktop and on a phone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_day_of_use import DESKTOP, PHONE, Visit
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

DEFINITION = """# Abertura
Saudou com o nome da empresa | 2 | sim/não
! Confirmou a identidade do cliente | 3 | sim/não
# Atendimento
Cordialidade | 1 | 0-10
"""


def _queue(sim: SimulatorProcess, users: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """Three short calls of tomorrow (they head every list), a published form, and a queue of
    them assigned to the QA reviewer."""
    from qa import services

    tomorrow = dt.date.today() + dt.timedelta(days=1)
    for minute, duration in enumerate([90, 60, 75]):
        sim.add_recording(
            duration=duration,
            customer_id=7,
            calldate=f"{tomorrow}T10:{minute:02d}:00",
            source="2003",
            destination="5511987654321",
        )
    rows = list(sim.list("limit=3")["data"])[::-1]
    coord = users["coord"]
    form = services.form_create(request=None, actor=coord, name="Padrão", definition=DEFINITION)
    services.form_publish(request=None, actor=coord, form=form)
    queue = services.queue_create(
        request=None,
        actor=coord,
        name="Semana 48",
        form=form,
        calls=[
            services.SampledCall(
                r["record_id"],
                7,
                "2003",
                dt.datetime.fromisoformat(f"{tomorrow}T10:00:00-03:00"),
            )
            for r in rows
        ],
        reviewers=[users["qa"]],
        how={"mode": "test"},
    )
    return queue, rows


@pytest.fixture
def qa_users(users: dict[str, Any]) -> dict[str, Any]:
    return {**users, "coord": make_user("coord", "Coordenadores de QA", first_name="Cora")}


def test_a_qa_reviewers_day_and_the_coordinators_report(
    page: Page, portal: str, sim: SimulatorProcess, qa_users: dict[str, Any]
) -> None:
    queue, rows = _queue(sim, qa_users)
    sign_in(page, portal, "qa")
    page.get_by_role("link", name="Minha fila").first.click()
    expect(page.get_by_text("0 de 3 avaliadas")).to_be_visible()
    screenshot(page, "qa-queue")
    page.get_by_role("link", name=str(rows[0]["record_id"])).click()
    expect(page).to_have_url(re.compile(rf"/recordings/{rows[0]['record_id']}/\?queue={queue.pk}"))
    expect(page.locator("[data-player]")).to_have_attribute("data-peaks", "loaded")

    # Play a little, then a note at the playhead with the m key.
    page.get_by_role("button", name="Tocar").click()
    page.wait_for_function("() => document.querySelector('audio').currentTime > 1.2")
    page.get_by_role("button", name="Pausar").click()
    page.locator("h1").click()
    page.keyboard.press("m")
    expect(page.locator("#note-text")).to_be_focused()
    moment = page.locator("#note-at").input_value()
    assert re.fullmatch(r"0:0[1-9]", moment), moment
    page.locator("#note-text").fill("Saudou sem dizer o nome da empresa")
    page.locator("#note-tag").fill("saudação")
    page.get_by_role("button", name="Adicionar nota").click()
    expect(page.locator("[data-note]")).to_have_count(1)

    # A second note at a moment typed by hand; both show as markers on the waveform.
    page.locator("#note-at").fill("0:45")
    page.locator("#note-text").fill("Contornou bem a objeção de preço")
    page.locator("#note-tag").fill("objeção")
    page.get_by_role("button", name="Adicionar nota").click()
    expect(page.locator("[data-note]")).to_have_count(2)
    expect(page.locator("[data-player]")).to_have_attribute("data-markers", "2")
    page.get_by_role("link", name="Ir para 0:45").click()
    page.wait_for_function("() => Math.abs(document.querySelector('audio').currentTime - 45) < 1")
    # The marker on the waveform (in wavesurfer's shadow DOM) seeks too: back to the first note.
    page.locator("[data-player] [part='region-content']").first.click()
    page.wait_for_function("() => document.querySelector('audio').currentTime < 10")

    # A speed chosen here is kept for the next call.
    page.get_by_label("Velocidade").select_option("1.5")

    # The scorecard: one critical criterion answered yes, a 0–10 answer.
    card = page.locator("#evaluation")
    card.get_by_role("group", name=re.compile("Saudou com o nome")).get_by_text("Não").click()
    card.get_by_role("group", name=re.compile("Confirmou a identidade")).get_by_text("Sim").click()
    card.get_by_role("group", name=re.compile("Cordialidade")).get_by_text("8", exact=True).click()
    screenshot(page, "qa-player-notes-scorecard")
    card.get_by_role("button", name="Enviar avaliação").click()

    # The next call of the queue opens by itself, at the remembered speed.
    expect(page).to_have_url(re.compile(rf"/recordings/{rows[1]['record_id']}/\?queue={queue.pk}"))
    expect(page.locator("[data-player]")).to_have_attribute("data-speed", "1.5")
    expect(page.locator("#evaluation .queue-nav")).to_be_visible()
    page.locator("h1").click()
    page.keyboard.press("p")
    expect(page).to_have_url(re.compile(rf"/recordings/{rows[0]['record_id']}/\?queue={queue.pk}"))
    expect(page.locator("#evaluation [data-score]")).to_have_text("63,3")  # (0 + 3 + .8) / 6
    page.locator("h1").click()
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(rf"/recordings/{rows[1]['record_id']}/"))
    page.goto(f"{portal}/qa/queue/")
    expect(page.get_by_text("1 de 3 avaliadas")).to_be_visible()

    # A deep link to a note's moment starts there.
    page.goto(f"{portal}/recordings/{rows[0]['record_id']}/?t=0:45")
    page.wait_for_function("() => Math.abs(document.querySelector('audio').currentTime - 45) < 1")

    # The coordinator sees the score in the report.
    # Leave the player first: its audio and notes requests still in flight could set a new
    # CSRF cookie under the sign-in form (CI saw "CSRF token incorrect" once).
    page.goto("about:blank")
    page.context.clear_cookies()
    sign_in(page, portal, "coord")
    page.get_by_role("link", name="Qualidade").click()
    row = page.locator("table.by-extension tr[data-extension='2003']")
    expect(row.locator("[data-average]")).to_have_text("63,3")
    expect(page.locator("table.by-criterion")).to_contain_text("Cordialidade")
    screenshot(page, "qa-report")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_qa_pages_fit_and_obey_the_csp(
    browser: Browser,
    browser_context_args: dict[str, Any],
    portal: str,
    sim: SimulatorProcess,
    qa_users: dict[str, Any],
    viewport: dict[str, int],
) -> None:
    queue, rows = _queue(sim, qa_users)
    reviewer = Visit(browser, browser_context_args, viewport)
    sign_in(reviewer.page, portal, "qa")
    reviewer.page.goto(f"{portal}/qa/queue/")
    reviewer.check("qa-queue")
    reviewer.page.goto(f"{portal}/recordings/{rows[0]['record_id']}/?queue={queue.pk}")
    expect(reviewer.page.locator("#evaluation .scorecard")).to_be_visible()
    expect(reviewer.page.locator("#notes .note-form")).to_be_visible()
    # The queue's buttons name their keys, except on a phone, which has no keyboard.
    key = expect(reviewer.page.locator("#evaluation .queue-nav kbd").first)
    if reviewer.phone:
        key.to_be_hidden()
    else:
        key.to_be_visible()
    # So does the notes' hint; the 15 minutes an author has stay said on both.
    hint = reviewer.page.locator("#notes .hint")
    expect(hint).to_contain_text("15 minutos")
    if reviewer.phone:
        expect(hint.locator(".keys")).to_be_hidden()
    else:
        expect(hint.locator(".keys")).to_be_visible()
    reviewer.check("qa-recording")
    reviewer.close()

    coord = Visit(browser, browser_context_args, viewport)
    sign_in(coord.page, portal, "coord")
    for path, name in [
        ("/qa/forms/", "qa-forms"),
        (f"/qa/forms/{queue.form_id}/", "qa-form"),
        ("/qa/forms/new", "qa-form-new"),
        ("/qa/queues/new", "qa-queue-new"),
        ("/qa/reports/", "qa-reports"),
    ]:
        coord.page.goto(f"{portal}{path}")
        coord.check(name)
    coord.close()
