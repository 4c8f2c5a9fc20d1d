"""Retention in the browser: one admin asks for a policy, another approves it, a legal hold
placed before the daily run keeps its recording, the run deletes the rest."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from index import sync
from tests.browser.conftest import screenshot, sign_in
from tests.simulator import SimulatorProcess

PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _small_index(settings: Any) -> None:
    settings.INDEX_DAYS = 6
    settings.INDEX_RECENT_DAYS = 1
    settings.INDEX_MAX_RPS = 1000


def test_two_admins_approve_a_policy_then_a_hold_blocks_its_run(
    page: Page,
    browser: Browser,
    browser_context_args: dict[str, Any],
    portal: str,
    sim: SimulatorProcess,
    users: dict[str, Any],
) -> None:
    assert sync.sync_run().status == "done"
    sign_in(page, portal, "admin")
    page.get_by_role("link", name="Retenção").first.click()
    page.get_by_role("link", name="Pedir uma política").click()
    page.get_by_label("Manter por (dias)").fill("3")
    page.get_by_label("Assinante (vazio: todos)").fill("12")
    page.get_by_role("button", name="Ver o que seria excluído").click()
    expect(page.locator("[data-sac-warning]")).to_contain_text("Decreto 11.034/2022")
    due = int(page.locator("[data-preview-count]").inner_text())
    assert due >= 2
    held_id = page.locator("[data-preview-row]").first.get_attribute("data-preview-row")
    assert held_id
    page.get_by_label("Motivo").fill("Contrato do assinante 12: 3 dias")
    screenshot(page, "retention-policy-new-desktop")
    page.get_by_role("button", name="Pedir aprovação").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "pending")
    expect(page.get_by_text("quem pede não pode aprovar")).to_be_visible()
    expect(page.get_by_role("button", name="Aprovar a política")).to_have_count(0)
    policy_url = page.url

    second = browser.new_context(**browser_context_args)
    admin2 = second.new_page()
    sign_in(admin2, portal, "admin2")
    admin2.goto(f"{portal}/retention/")
    admin2.locator("[data-policy-row]").first.get_by_role("link").click()
    expect(admin2.locator("[data-preview-count]")).to_have_text(str(due))
    screenshot(admin2, "retention-policy-approve-desktop")
    admin2.get_by_role("button", name="Aprovar a política").click()
    expect(admin2.locator("[data-status]")).to_have_attribute("data-status", "active")
    assert sim.stats()["delete_calls"] == [], "approving deletes nothing in the web request"

    # Before the run: a legal hold on one of the recordings the run would delete.
    page.goto(f"{portal}/retention/holds/new")
    page.get_by_label("IDs de gravações").fill(held_id)
    page.get_by_label("Motivo").fill("Processo 0801234-56.2026: preservar")
    page.get_by_role("button", name="Aplicar agora").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "active")
    page.goto(policy_url)
    expect(page.locator("[data-preview-held]")).to_have_text("1")
    expect(page.locator("[data-preview-count]")).to_have_text(str(due - 1))

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    deleted = [i for call in sim.stats()["delete_calls"] for i in call]
    assert len(deleted) == due - 1
    assert int(held_id) not in deleted
    assert sim.list(f"id_record={held_id}")["total_records"] == 1

    admin2.goto(f"{portal}/retention/")
    run_link = admin2.locator(".runs a").first
    expect(run_link).to_be_visible()
    screenshot(admin2, "retention-home-desktop")
    run_link.click()
    expect(admin2.locator("[data-status]")).to_have_attribute("data-status", "done")
    expect(admin2.get_by_text(re.compile(rf"{due - 1} de {due - 1} excluídas"))).to_be_visible()
    expect(admin2.locator("[data-policy-link]")).to_have_attribute(
        "href", re.compile(r"/retention/policies/\d+/$")
    )

    # The hold cannot be lifted by the one who asks to lift it.
    admin2.goto(f"{portal}/retention/")
    admin2.locator("[data-hold-row]").first.get_by_role("link").click()
    admin2.get_by_label(re.compile("Pedir a liberação")).fill("processo encerrado")
    admin2.get_by_role("button", name="Pedir liberação").click()
    expect(admin2.locator("[data-status]")).to_have_attribute("data-status", "lift_pending")
    expect(admin2.get_by_role("button", name="Aprovar a liberação")).to_have_count(0)
    second.close()

    phone = browser.new_context(**{**browser_context_args, "viewport": PHONE})
    phone_page = phone.new_page()
    sign_in(phone_page, portal, "admin")
    phone_page.goto(f"{portal}/retention/")
    screenshot(phone_page, "retention-home-phone")
    phone_page.goto(policy_url)
    screenshot(phone_page, "retention-policy-phone")
    phone_page.locator("[data-run] a").first.click()
    expect(phone_page.locator("[data-status]")).to_have_attribute("data-status", "done")
    phone_page.goto(f"{portal}/retention/")
    phone_page.locator("[data-hold-row]").first.get_by_role("link").click()
    expect(phone_page.get_by_role("button", name="Aprovar a liberação")).to_be_visible()
    screenshot(phone_page, "retention-hold-phone")
    phone.close()
