"""Sign-in, the first recordings page, health, roles and the demo users."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.views.debug import ExceptionReporter

from accounts import roles
from tests import environment
from tests.simulator import ROOT, SimulatorProcess


def test_anonymous_users_are_sent_to_sign_in(client: Client, db: None) -> None:
    response = client.get("/recordings/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/recordings/"


def test_root_redirects_to_recordings(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/recordings/"


def test_sign_in_then_see_the_first_page_from_vono(
    client: Client, sim: SimulatorProcess, supervisor: object
) -> None:
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert "Entrar" in page.content.decode()
    response = client.post("/accounts/login/", {"username": "sup", "password": "pw-for-tests"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/")["Location"] == "/recordings/"
    response = client.get("/recordings/?date_ini=&date_end=")
    html = response.content.decode()
    for item in sim.list("limit=5")["data"]:
        assert f'title="{item["destination"]}"' in html
        assert f'data-record-id="{item["record_id"]}"' in html


def test_wrong_password_is_refused(client: Client, supervisor: object) -> None:
    response = client.post("/accounts/login/", {"username": "sup", "password": "wrong"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_user_without_a_role_is_refused(client: Client, db: None) -> None:
    from tests.conftest import make_user

    client.force_login(make_user("nobody", None))
    assert client.get("/recordings/").status_code == 403


def test_error_reports_mask_the_credentials_in_frame_variables(rf: object) -> None:
    url = f"http://pbx/api/recording/{environment.TOKEN}/{environment.KEY}"

    def failing(upstream_url: str) -> None:
        raise RuntimeError("boom")

    try:
        failing(url)
    except RuntimeError:
        reporter = ExceptionReporter(None, *sys.exc_info())
        text = reporter.get_traceback_text()
        html = reporter.get_traceback_html()
    assert "upstream_url" in html and "/api/recording/********/********" in html
    assert environment.TOKEN not in text and environment.KEY not in text
    assert environment.TOKEN not in html and environment.KEY not in html


@pytest.mark.django_db
def test_roles_hold_exactly_their_permissions() -> None:
    for name, perms in roles.ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        held = group.permissions.values_list("content_type__app_label", "codename")
        assert {f"{app}.{codename}" for app, codename in held} == set(perms)


def test_roles_module_matches_the_migrations() -> None:
    """roles.py mirrors what the migrations set: accounts' newest full role table, then every
    app's additive role migration (a module-level ``ROLE_ADDITIONS``), so that apps built side
    by side each add their own roles without a shared accounts migration."""
    from importlib import import_module

    from django.apps import apps

    import accounts.migrations

    folder = Path(accounts.migrations.__file__).parent
    setting_roles = [
        p.stem for p in sorted(folder.glob("0*.py")) if "ROLE_PERMISSIONS =" in p.read_text()
    ]
    migration = import_module(f"accounts.migrations.{setting_roles[-1]}")
    table = {name: set(perms) for name, perms in migration.ROLE_PERMISSIONS.items()}
    for config in apps.get_app_configs():
        migrations = Path(config.path) / "migrations"
        if not migrations.is_dir() or not str(config.path).startswith(str(settings.BASE_DIR)):
            continue
        for path in sorted(migrations.glob("0*.py")):
            if "ROLE_ADDITIONS =" not in path.read_text():
                continue
            module = import_module(f"{config.name}.migrations.{path.stem}")
            for name, perms in module.ROLE_ADDITIONS.items():
                table.setdefault(name, set()).update(perms)
    assert table == {name: set(perms) for name, perms in roles.ROLE_PERMISSIONS.items()}


@pytest.mark.django_db
def test_seed_demo_refuses_a_production_database(settings: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_and_is_repeatable(
    client: Client, settings: Any
) -> None:
    settings.DEBUG = True  # a demo database (make run)
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for username, role in [
        ("supervisor", roles.SUPERVISORS),
        ("qa", roles.QA_REVIEWERS),
        ("admin", roles.ADMINISTRATORS),
        ("admin2", roles.ADMINISTRATORS),
        ("access", roles.ACCESS_MANAGERS),
        ("access2", roles.ACCESS_MANAGERS),
        ("coord", roles.QA_COORDINATORS),
        ("dpo", roles.DATA_PROTECTION_OFFICERS),
    ]:
        assert client.login(username=username, password="vono-demo")
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
    from retention.models import RetentionPolicy

    waiting = RetentionPolicy.objects.get()  # asked once, kept on the second seed
    assert waiting.status == RetentionPolicy.Status.PENDING
    assert waiting.requested_by.username == "admin"
    team = get_user_model().objects.get(username="equipe")
    assert list(team.groups.values_list("name", flat=True)) == [roles.SUPERVISORS]
    assert team.extensions == "2003, 4101-4110"  # a team supervisor of the simulator's data
    assert client.login(username="equipe", password="vono-demo")


def test_only_the_client_module_imports_requests() -> None:
    importers = []
    for package in ("recordings", "vonoportal", "vonosim"):
        for path in Path(ROOT, package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n == "requests" or n.startswith("requests.") for n in names):
                    importers.append(str(path.relative_to(ROOT)))
    assert set(importers) == {"recordings/vono.py"}
