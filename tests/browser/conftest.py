"""Headless Chromium through Playwright, against the live Django server and the simulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_user
from tests.simulator import ROOT, SimulatorProcess

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-results" / "screenshots"
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # The distribution's Chromium: Playwright cannot download its own browser here. The flags
    # keep it from reaching for Google's services, which this network refuses.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--lang=pt-BR",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "locale": "pt-BR",
        "timezone_id": "America/Sao_Paulo",
        "accept_downloads": True,
        "viewport": {"width": 1360, "height": 900},
    }


@pytest.fixture(autouse=True)
def _plain_static_files(settings: Any) -> None:
    """The live test server serves static files from the finders, under their plain names;
    the manifest storage's hashed names exist only after collectstatic, behind WhiteNoise."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def portal(live_server: Any, sim: SimulatorProcess) -> str:
    return str(live_server.url)


def sign_in(page: Page, portal: str, username: str, password: str = "pw-for-tests") -> None:
    page.goto(f"{portal}/accounts/login/")
    page.get_by_label("Usuário").fill(username)
    page.get_by_label("Senha").fill(password)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{portal}/recordings/")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


@pytest.fixture
def users(transactional_db: None) -> dict[str, Any]:
    from accounts.roles import ensure_groups

    ensure_groups()  # live-server tests flush the database, data migrations included
    return {
        "supervisor": make_user("sup", "Supervisores", first_name="Sara"),
        "qa": make_user("qa", "Revisores de QA", first_name="Quésia"),
        "admin": make_user("admin", "Administradores", first_name="Adão"),
        "admin2": make_user("admin2", "Administradores", first_name="Alice"),
    }
