"""A day of real use: every page on a phone and a desktop, strict CSP, keyboard, clear states.

Each page is visited as each role at 390×844 and 1440×900: no sideways scrolling on the
phone, every tap target at least 44 px, no Content-Security-Policy violation anywhere, and a
screenshot of each (test-results/screenshots/day-*), which a person looks at.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS, screenshot, sign_in
from tests.simulator import SimulatorProcess

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

# Collect every CSP violation the page reports, from the first byte of every document.
CSP_PROBE = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
}, true);
"""

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"

# Interactive things a thumb must hit: visible, and smaller than 44 px in either direction.
SMALL_TARGETS = """() => {
  const seen = [];
  const nodes = document.querySelectorAll(
    "header a, header button, header select, main a, main button, main select, " +
    "main input:not([type=hidden]):not([type=checkbox]), main textarea, " +
    "main label:has(> input[type=checkbox]), main input[type=checkbox]:not(label > input)");
  for (const el of nodes) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    if (el.closest(".visually-hidden") || el.classList.contains("skip-link")) continue;
    // A checkbox outside its label is hit through the label (label[for]).
    const label = el.matches("input[type=checkbox]") && el.id
      ? document.querySelector('label[for="' + el.id + '"]') : null;
    const hit = label ? label.getBoundingClientRect() : box;
    if (hit.height < 43.5 || hit.width < 43.5) {
      const text = (el.textContent || el.name || "").trim().slice(0, 30);
      seen.push(el.tagName + "." + el.className + " '" + text + "' "
                + Math.round(box.width) + "x" + Math.round(box.height));
    }
  }
  return seen;
}"""

# A card's cells: the column's name (::before) never touches the value beside it.
CARD_LABELS = """() => {
  const touching = new Set();
  for (const td of document.querySelectorAll("table.cards td[data-label]")) {
    const label = getComputedStyle(td, "::before");
    if (label.display === "none" || label.content === "none") continue;
    const range = document.createRange();
    range.selectNodeContents(td);
    const first = [...range.getClientRects()].find((r) => r.width > 0);
    const cell = td.getBoundingClientRect();
    // No text, or the value on a line of its own under the label.
    if (!first || first.top >= cell.top + parseFloat(label.height)) continue;
    const end = cell.left + parseFloat(getComputedStyle(td).paddingLeft) + parseFloat(label.width);
    if (first.left - end < 4) touching.add(td.dataset.label);
  }
  return [...touching];
}"""


class Visit:
    """One browser context: collects console CSP reports, checks and screenshots pages."""

    def __init__(self, browser: Browser, args: dict[str, Any], viewport: dict[str, int]) -> None:
        self.context = browser.new_context(**{**args, "viewport": viewport})
        self.context.add_init_script(CSP_PROBE)
        self.page = self.context.new_page()
        self.phone = viewport["width"] < 600
        self.console: list[str] = []
        self.not_found: list[str] = []
        self.page.on(
            "console",
            lambda m: self.console.append(m.text) if "Content Security Policy" in m.text else None,
        )
        self.page.on(
            "response", lambda r: self.not_found.append(r.url) if r.status == 404 else None
        )

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        size = "phone" if self.phone else "desktop"
        screenshot(page, f"day-{size}-{name}")
        # What the first screen looks like, at the size a person sees it.
        page.screenshot(path=SCREENSHOTS / f"day-{size}-{name}-screen.png")
        if self.phone:
            assert page.evaluate(OVERFLOW) <= 0, f"{name}: the page scrolls sideways"
            assert page.evaluate(SMALL_TARGETS) == [], f"{name}: tap targets under 44 px"
            assert page.evaluate(CARD_LABELS) == [], f"{name}: a card's label touches its value"
        assert page.evaluate("window.__csp") == [], f"{name}: CSP violations"
        assert self.console == [], f"{name}: CSP reports in the console"
        assert self.not_found == [], f"{name}: 404s (favicon?)"
        response = page.request.get(page.url)
        policy = response.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy and "'nonce-" in policy
        if "/accounts/login/" not in page.url:
            assert response.headers["cache-control"] == "private, no-store"

    def close(self) -> None:
        self.context.close()


def _deleted_recording(sim: SimulatorProcess, users: dict[str, Any]) -> int:
    """A recording deleted for real: asked, approved, executed against the simulator."""
    from deletions import services as deletions

    record_id = int(sim.list("limit=1&start=7")["data"][0]["record_id"])
    request = deletions.deletion_request_create(
        actor=users["supervisor"], reason="Pedido do titular", ids=[record_id]
    )
    deletions.deletion_request_approve(
        deletion_id=request.pk, actor=users["admin"], typed_count="1", auth_age_seconds=0
    )
    deletions.deletion_request_execute(deletion_id=request.pk)
    return record_id


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_fits_and_obeys_the_csp(
    browser: Browser,
    browser_context_args: dict[str, Any],
    portal: str,
    sim: SimulatorProcess,
    users: dict[str, Any],
    viewport: dict[str, int],
) -> None:
    from deletions import services as deletions

    gone = _deleted_recording(sim, users)
    first = sim.list("limit=2")["data"]
    pending = deletions.deletion_request_create(
        actor=users["supervisor"], reason="Gravação duplicada", ids=[first[1]["record_id"]]
    )

    from retention import services as retention

    policy = retention.policy_request(
        actor=users["admin2"], days=30, customer_id=12, reason="Contrato: 30 dias"
    )
    hold = retention.hold_place(
        actor=users["admin2"],
        terms=retention.HoldTerms(number="(41) 3333-4444", customer_id=12),
        reason="Processo 0801234-56.2026",
    )

    anonymous = Visit(browser, browser_context_args, viewport)
    anonymous.page.goto(f"{portal}/accounts/login/")
    anonymous.check("login")
    anonymous.page.get_by_label("Usuário").fill("sup")
    anonymous.page.get_by_label("Senha").fill("wrong")
    anonymous.page.get_by_role("button", name="Entrar").click()
    expect(anonymous.page.get_by_role("alert")).to_contain_text("Usuário ou senha incorretos")
    anonymous.check("login-error")
    anonymous.close()

    from tests.conftest import make_user

    manager = make_user("gestor", "Gestores de acesso", first_name="Gil")
    for role, username in (
        ("supervisor", "sup"),
        ("qa", "qa"),
        ("admin", "admin"),
        ("access-manager", "gestor"),
    ):
        visit = Visit(browser, browser_context_args, viewport)
        page = visit.page
        if role == "access-manager":  # no recordings: access pages and the audit log
            page.goto(f"{portal}/accounts/login/")
            page.get_by_label("Usuário").fill(username)
            page.get_by_label("Senha").fill("pw-for-tests")
            page.get_by_role("button", name="Entrar").click()
            page.wait_for_load_state("networkidle")
            for name, path in (
                ("manager-access", "/access/"),
                ("manager-user-new", "/access/users/new"),
                ("manager-user-detail", f"/access/users/{users['qa'].pk}/"),
                ("manager-audit", "/audit/"),
                ("manager-password", "/accounts/password/"),
            ):
                page.goto(f"{portal}{path}")
                visit.check(name)
            visit.close()
            continue
        sign_in(page, portal, username)
        visit.check(f"{role}-list")
        page.get_by_role("link", name="Próxima ›").click()
        expect(page.locator(".pager .where")).to_contain_text("página 2 de")
        visit.check(f"{role}-list-page-2")
        page.goto(f"{portal}/recordings/?page=-3")
        expect(page.locator("#id_page")).to_have_attribute("aria-invalid", "true")
        visit.check(f"{role}-list-bad-page")
        page.goto(f"{portal}/recordings/?date_ini=&date_end=")
        page.locator("tbody tr").first.locator("a.play").click()
        expect(page.locator("[data-player]")).to_have_attribute("data-peaks", "loaded")
        visit.check(f"{role}-recording")
        page.goto(f"{portal}/recordings/{gone}/")
        visit.check(f"{role}-recording-deleted")
        if role == "qa":
            page.goto(f"{portal}/deletions/")
            visit.check("qa-forbidden")
        else:
            page.goto(f"{portal}/deletions/")
            visit.check(f"{role}-deletions")
            page.goto(f"{portal}/deletions/{pending.pk}/")
            visit.check(f"{role}-deletion-pending")
            page.goto(f"{portal}/deletions/new?date_ini=&date_end=&ids={first[0]['record_id']}")
            visit.check(f"{role}-deletion-new")
        if role == "admin":
            page.goto(f"{portal}/audit/")
            visit.check("admin-audit")
            for name, path in (
                ("admin-retention", "/retention/"),
                ("admin-retention-policy-new", "/retention/policies/new?days=30&customer_id=12"),
                ("admin-retention-policy", f"/retention/policies/{policy.pk}/"),
                ("admin-retention-hold-new", "/retention/holds/new"),
                ("admin-retention-hold", f"/retention/holds/{hold.pk}/"),
            ):
                page.goto(f"{portal}{path}")
                visit.check(name)
        page.goto(f"{portal}/accounts/password/")
        visit.check(f"{role}-password")
        visit.close()
    assert manager.pk


def test_deleted_recording_says_when_and_by_which_request(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    gone = _deleted_recording(sim, users)
    sign_in(page, portal, "admin")
    page.goto(f"{portal}/recordings/{gone}/")
    expect(page.get_by_role("heading")).to_contain_text(f"Gravação {gone} excluída")
    expect(page.locator(".gone")).to_contain_text("foi excluída do Vono em")
    expect(page.locator("audio")).to_have_count(0)
    expect(page.get_by_role("link", name="Baixar MP3")).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"Ver o pedido #\d+")).click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "done")


def test_export_while_the_upstream_is_down_shows_the_error(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    sim.fault("status", status=503, target="list")
    downloads: list[Any] = []
    page.on("download", lambda d: downloads.append(d))
    page.get_by_role("link", name="Exportar CSV").click()
    expect(page.get_by_role("alert")).to_contain_text("O Vono não respondeu a tempo")
    assert downloads == [], "no broken export.html is saved"
    screenshot(page, "export-upstream-down")
    sim.clear_faults()
    page.get_by_role("link", name="Tentar de novo").click()
    expect(page.locator("tbody tr")).to_have_count(25)


CONTRAST = """(el) => {
  const rgb = (c) => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let back = el;
  while (back && getComputedStyle(back).backgroundColor.match(/rgba\\(.*, 0\\)$|transparent/)) {
    back = back.parentElement;
  }
  const a = lum(rgb(getComputedStyle(el).color));
  const b = lum(rgb(getComputedStyle(back).backgroundColor));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_disabled_pager_links_are_readable(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    disabled = page.locator(".pager span[aria-disabled]").first
    expect(disabled).to_contain_text("Primeira")
    assert disabled.evaluate(CONTRAST) >= 4.5


def test_the_first_tab_offers_a_skip_to_the_content(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Pular para o conteúdo")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_per_page_applies_at_once_and_selection_survives_paging(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    page.goto(f"{portal}/recordings/?date_ini=&date_end=")
    page.get_by_label("Por página").select_option("50")
    expect(page.locator("tbody tr")).to_have_count(50)
    expect(page).to_have_url(re.compile(r"per_page=50"))
    expect(page.locator("#announcer")).to_contain_text("gravações encontradas; página 1 de")

    rows = page.locator("tbody tr")
    chosen = [rows.nth(i).get_attribute("data-record-id") for i in (0, 3)]
    for record_id in chosen:
        page.get_by_label(f"Selecionar a gravação {record_id}").check()
    expect(page.locator(".selection")).to_have_text("2 selecionadas")

    page.get_by_role("link", name="Próxima ›").press("Enter")
    expect(page.locator(".pager .where")).to_contain_text("página 2 de")
    # The keyboard stays on "Próxima", and the new count is read out.
    assert page.evaluate("document.activeElement.id") == "pager-next"
    expect(page.locator("#announcer")).to_contain_text("página 2 de")
    third = page.locator("tbody tr").nth(1).get_attribute("data-record-id")
    page.get_by_label(f"Selecionar a gravação {third}").check()
    expect(page.locator(".selection")).to_have_text("3 selecionadas em 2 páginas")

    page.get_by_role("link", name="‹ Anterior").click()
    expect(page.get_by_label(f"Selecionar a gravação {chosen[0]}")).to_be_checked()
    screenshot(page, "selection-across-pages")
    page.get_by_role("button", name="Pedir exclusão das selecionadas").click()
    expect(page.locator("[data-preview=count]")).to_have_text("3")


def test_back_to_the_list_returns_to_the_items_page(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    page.goto(f"{portal}/recordings/?date_ini=&date_end=&page=5")
    page.locator("tbody tr").nth(0).locator("a.play").click()
    page.get_by_role("link", name="← Voltar à lista").click()
    expect(page.locator(".pager .where")).to_contain_text("página 5 de")


def test_player_without_javascript_shows_only_the_native_player(
    browser: Browser,
    browser_context_args: dict[str, Any],
    portal: str,
    sim: SimulatorProcess,
    users: dict[str, Any],
) -> None:
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, portal, "sup")
    record = sim.list("limit=1")["data"][0]
    page.goto(f"{portal}/recordings/{record['record_id']}/")
    expect(page.locator("audio")).to_be_visible()
    for hidden in (".controls", ".seek", ".keys", ".player-state", ".player-loading"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.get_by_role("link", name="Baixar MP3")).to_be_visible()
    screenshot(page, "player-no-javascript")
    context.close()


def test_player_for_a_missing_file_has_no_dead_controls(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    record = sim.list("limit=1")["data"][0]
    sim.fault("status", status=404, target="download")
    page.goto(f"{portal}/recordings/{record['record_id']}/")
    expect(page.locator("[data-player]")).to_have_attribute("data-state", "unavailable")
    expect(page.get_by_role("alert")).to_contain_text("Gravação indisponível")
    for gone in (".controls", ".seek", ".waveform", ".retry", ".player-loading", ".download"):
        expect(page.locator(gone)).to_be_hidden()


def test_player_shows_it_is_loading_while_the_upstream_is_slow(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    record = sim.list("limit=1")["data"][0]
    sim.fault("latency", seconds=3, target="download")
    page.goto(f"{portal}/recordings/{record['record_id']}/", wait_until="domcontentloaded")
    expect(page.locator(".player-loading")).to_be_visible()
    expect(page.locator(".player-loading")).to_contain_text("Carregando a gravação")
    screenshot(page, "player-loading")
    expect(page.locator(".player-loading")).to_be_hidden(timeout=15_000)


def test_player_remembers_speed_next_plays_and_the_slider_seeks(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "qa")
    page.goto(f"{portal}/recordings/?date_ini=&date_end=")
    page.locator("tbody tr").nth(0).locator("a.play").click()
    expect(page.locator("[data-player]")).to_have_attribute("data-peaks", "loaded")
    page.get_by_label("Velocidade").select_option("1.5")
    expect(page.get_by_label("Velocidade").locator("option:checked")).to_have_text("1,5×")

    slider = page.get_by_role("slider", name="Posição na gravação")
    slider.focus()
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('audio').currentTime > 5")
    assert re.match(r"\d+:\d\d de \d+:\d\d", str(slider.get_attribute("aria-valuetext")))

    page.locator("h1").click()
    page.keyboard.press("Shift+ArrowRight")
    expect(page).to_have_url(re.compile(r"pos=1"))
    # The next recording plays on its own, at the speed chosen before.
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0.3")
    assert page.evaluate("document.querySelector('audio').playbackRate") == 1.5
    expect(page.get_by_role("button", name="Pausar")).to_be_visible()
    page.keyboard.press("Shift+ArrowLeft")
    expect(page).to_have_url(re.compile(r"pos=0"))


def test_english_speeds_and_csv_dates_follow_the_page(
    page: Page, portal: str, sim: SimulatorProcess, users: dict[str, Any]
) -> None:
    sign_in(page, portal, "sup")
    page.get_by_label("Idioma").select_option("en")
    expect(page.get_by_role("heading", name="Recordings")).to_be_visible()
    record = sim.list("limit=1")["data"][0]
    page.goto(f"{portal}/recordings/{record['record_id']}/")
    expect(page.get_by_label("Speed").locator("option:checked")).to_have_text("1×")
    expect(page.get_by_label("Speed").locator("option").first).to_have_text("0.75×")
