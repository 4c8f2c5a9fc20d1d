"""A team supervisor sees only their extensions' calls, from the index; a manager who types
a range backwards is told how to write it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from index import sync
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import make_user
from tests.simulator import SimulatorProcess


def test_a_team_supervisor_sees_and_plays_only_their_calls(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any], settings: Any
) -> None:
    settings.INDEX_DAYS, settings.INDEX_RECENT_DAYS, settings.INDEX_MAX_RPS = 1, 1, 1000
    today = sync.today_local()
    team_call = sim.add_recording(
        calldate=f"{today}T00:00:01",
        customer_id=21,
        source="5541988887777",
        destination="7705",
        duration=40,
    )["record_id"]
    sim.add_recording(
        calldate=f"{today}T00:00:02",
        customer_id=21,
        source="7711",
        destination="5541999990003",
        duration=40,
    )
    assert sync.sync_run().status == "done"
    make_user("equipe", "Supervisores", first_name="Estela", extensions="7701-7710")

    sign_in(page, portal, "equipe")
    expect(page.locator("[data-scope=extensions]")).to_contain_text("7701-7710")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    assert rows.first.get_attribute("data-record-id") == str(team_call)
    screenshot(page, "team-scope-list")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "team-scope-list-phone")
    page.set_viewport_size({"width": 1360, "height": 900})

    page.goto(f"{portal}/recordings/{team_call}/")
    expect(page.locator("audio")).to_have_count(1)
    hidden = page.goto(f"{portal}/recordings/{int(team_call) + 1}/")
    assert hidden is not None and hidden.status == 404


def test_a_manager_typing_a_reversed_range_is_told_how_to_write_it(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    make_user("gestor", "Gestores de acesso", first_name="Gustavo")
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("Usuário").fill("gestor")
    page.get_by_label("Senha").fill("pw-for-tests")
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_load_state()
    page.goto(f"{portal}/access/")
    page.get_by_role("link", name="sup", exact=True).click()
    page.get_by_label("Ramais").fill("4120-4101, 2003")
    page.get_by_role("button", name="Salvar").click()
    expect(page.locator(".field-error")).to_contain_text("escreva 4101-4120")
    screenshot(page, "team-scope-access-error")
    page.get_by_label("Ramais").fill("4101 - 4120; 2003")
    page.get_by_role("button", name="Salvar").click()
    expect(page.locator("body")).to_contain_text("Usuário salvo.")
    expect(page.get_by_label("Ramais")).to_have_value("2003, 4101-4120")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "team-scope-access-phone")
