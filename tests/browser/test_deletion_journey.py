"""Four eyes in the browser: a supervisor asks, an admin approves, the audit log tells it all."""

from __future__ import annotations

import re
from typing import Any

from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot, sign_in
from tests.simulator import SimulatorProcess


def test_supervisor_asks_admin_approves_recordings_go_audit_tells(
    page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
    portal: str,
    sim: SimulatorProcess,
    users: dict[str, Any],
) -> None:
    sign_in(page, portal, "sup")
    page.goto(f"{portal}/recordings/?date_ini=&date_end=")
    rows = page.locator("tbody tr")
    chosen = [rows.nth(i).get_attribute("data-record-id") for i in (0, 2, 4)]
    for record_id in chosen:
        page.get_by_label(f"Selecionar a gravação {record_id}").check()
    page.get_by_role("button", name="Pedir exclusão das selecionadas").click()
    expect(page.locator("[data-preview=count]")).to_have_text("3")
    page.get_by_label("Motivo (obrigatório)").fill("Pedido do titular (LGPD, art. 18)")
    screenshot(page, "deletion-confirm")
    page.get_by_role("button", name="Pedir exclusão de 3 gravações").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "pending")
    expect(page.get_by_text("quem pede não pode aprovar")).to_be_visible()
    request_url = page.url

    admin = browser.new_context(**browser_context_args)
    admin_page = admin.new_page()
    sign_in(admin_page, portal, "admin")
    expect(admin_page.locator(".badge")).to_have_text("1")
    admin_page.get_by_role("link", name=re.compile("Exclusões")).click()
    admin_page.locator("tbody tr").first.get_by_role("link").click()
    expect(admin_page.locator("[data-fresh=count]")).to_have_text("3")
    admin_page.get_by_label(re.compile("digite o número de gravações")).fill("2")
    admin_page.get_by_role("button", name="Aprovar e excluir").click()
    expect(admin_page.locator(".decide [role=alert]")).to_contain_text(
        "Digite o número de gravações (3)"
    )
    count = admin_page.get_by_label(re.compile("digite o número de gravações"))
    expect(count).to_have_value("2")  # what was typed stays, to be corrected
    count.fill("3")
    admin_page.get_by_role("button", name="Aprovar e excluir").click()
    expect(admin_page.locator("[data-status]")).to_have_attribute("data-status", "approved")
    assert sim.stats()["delete_calls"] == [], "nothing is deleted inside the web request"

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    # The request's page polls with htmx: it turns to done by itself.
    expect(admin_page.locator("[data-status]")).to_have_attribute(
        "data-status", "done", timeout=15_000
    )
    screenshot(admin_page, "deletion-done")
    assert sorted(map(str, sim.stats()["delete_calls"][0])) == sorted(chosen)

    page.goto(f"{portal}/recordings/?date_ini=&date_end=")
    listed = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.recordId)")
    assert not set(chosen) & set(listed)
    page.goto(request_url)
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")

    admin_page.goto(f"{portal}/audit/")
    actions = admin_page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    story = [a for a in reversed(actions) if a.startswith("deletion_")]
    assert story == [
        "deletion_requested",
        "deletion_approved",
        "deletion_started",
        "deletion_finished",
    ]
    screenshot(admin_page, "audit-log")
    admin.close()


def test_admin2_cannot_approve_a_request_admin2_made(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "admin2")
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    page.goto(f"{portal}/deletions/new?date_ini=&date_end=&ids={record_id}")
    page.get_by_label("Motivo (obrigatório)").fill("duplicada")
    page.get_by_role("button", name="Pedir exclusão de 1 gravação").click()
    expect(page.get_by_text("quem pede não pode aprovar")).to_be_visible()
    expect(page.get_by_role("button", name="Aprovar e excluir")).to_have_count(0)
    # Even a hand-made POST is refused by the service.
    page.evaluate("""() => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = location.pathname + 'approve';
        const csrf = document.querySelector('input[name=csrfmiddlewaretoken]').cloneNode();
        const typed = Object.assign(document.createElement('input'),
                                    {name: 'typed_count', value: '1'});
        form.append(csrf, typed);
        document.body.append(form);
        form.submit();
    }""")
    expect(page.get_by_text("Quem pede uma exclusão não pode aprová-la")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "pending")
    assert sim.stats()["delete_calls"] == []
