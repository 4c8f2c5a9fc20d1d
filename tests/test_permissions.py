"""Every URL the project defines, against every role and an anonymous visitor."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts import services as access
from deletions import services as deletions
from qa import services as qa
from qa.models import Note
from retention import services as retention
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

ROLES = ("anonymous", "nobody", "supervisor", "qa", "admin", "access", "coord", "dpo")
GROUPS = {
    "supervisor": "Supervisores",
    "qa": "Revisores de QA",
    "admin": "Administradores",
    "access": "Gestores de acesso",
    "coord": "Coordenadores de QA",
    "dpo": "Encarregado de dados (DPO)",
    "nobody": None,
}
LOGIN = 302  # anonymous visitors are sent to sign in
MANAGERS_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "access": 200}
ADMINS_ONLY = {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "admin": 200}
REPORT_READERS = {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "supervisor": 200, "admin": 200}
PRIVACY_READERS = {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "admin": 200, "dpo": 200}
# Who sees recordings (and so their notes and evaluations): everyone but access managers.
VIEWERS = {
    "anonymous": LOGIN,
    "nobody": 403,
    "supervisor": 200,
    "qa": 200,
    "admin": 200,
    "access": 403,
    "coord": 200,
    "dpo": 403,
}
POST_ONLY = dict.fromkeys(ROLES, 405)

# url name -> (path, expected GET status per role). {id} is a real recording's id.
MATRIX: dict[str, tuple[str, dict[str, int]]] = {
    "home": ("/", dict.fromkeys(ROLES, 302)),
    "login": (
        "/accounts/login/",
        {
            "anonymous": 200,
            "nobody": 302,
            "supervisor": 302,
            "qa": 302,
            "admin": 302,
            "access": 302,
            "coord": 302,
            "dpo": 302,
        },
    ),
    "logout": ("/accounts/logout/", dict.fromkeys(ROLES, 405)),  # POST only
    "set_language": ("/i18n/setlang/", dict.fromkeys(ROLES, 302)),
    "healthz": ("/healthz", dict.fromkeys(ROLES, 200)),
    "favicon": ("/favicon.ico", dict.fromkeys(ROLES, 302)),
    "recording_list": (
        "/recordings/",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 200,
            "admin": 200,
            "access": 403,
            "coord": 200,
            "dpo": 403,
        },
    ),
    "recording_export": (
        "/recordings/export.csv",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 403,
            "admin": 200,
            "access": 403,
            "coord": 403,
            "dpo": 403,
        },
    ),
    "recording_detail": (
        "/recordings/{id}/",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 200,
            "admin": 200,
            "access": 403,
            "coord": 200,
            "dpo": 403,
        },
    ),
    "recording_audio": (
        "/recordings/{id}/audio",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 200,
            "admin": 200,
            "access": 403,
            "coord": 200,
            "dpo": 403,
        },
    ),
    "recording_download": (
        "/recordings/{id}/download",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 403,
            "admin": 200,
            "access": 403,
            "coord": 403,
            "dpo": 403,
        },
    ),
    "recording_zip": (
        "/recordings/download.zip",  # the last 7 days: a few hundred, within the limits
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 403,
            "admin": 200,
            "access": 403,
            "coord": 403,
            "dpo": 403,
        },
    ),
    "recording_peaks": (
        "/recordings/{id}/peaks.json",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 200,
            "admin": 200,
            "access": 403,
            "coord": 200,
            "dpo": 403,
        },
    ),
    "deletion_list": (
        "/deletions/",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 200,
            "qa": 403,
            "admin": 200,
            "access": 403,
            "coord": 403,
            "dpo": 403,
        },
    ),
    # Without a selection the confirmation page sends people back to the list.
    "deletion_new": (
        "/deletions/new",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 302,
            "qa": 403,
            "admin": 302,
            "access": 403,
            "coord": 403,
            "dpo": 403,
        },
    ),
    # A request made by another supervisor: only approvers may see it.
    "deletion_detail": (
        "/deletions/{request}/",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 404,
            "qa": 403,
            "admin": 200,
            "access": 403,
            "coord": 403,
            "dpo": 403,
        },
    ),
    "deletion_approve": ("/deletions/{request}/approve", dict.fromkeys(ROLES, 405)),
    "deletion_reject": ("/deletions/{request}/reject", dict.fromkeys(ROLES, 405)),
    "deletion_cancel": ("/deletions/{request}/cancel", dict.fromkeys(ROLES, 405)),
    "deletion_retry": ("/deletions/{request}/retry", dict.fromkeys(ROLES, 405)),
    "audit_list": (
        "/audit/",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 403,
            "qa": 403,
            "admin": 200,
            "access": 200,
            "coord": 403,
            "dpo": 403,
        },
    ),
    "password_change": (
        "/accounts/password/",
        {**dict.fromkeys(ROLES, 200), "anonymous": LOGIN},
    ),
    "access_home": ("/access/", MANAGERS_ONLY),
    "access_user_new": ("/access/users/new", MANAGERS_ONLY),
    "access_user_detail": ("/access/users/{user}/", MANAGERS_ONLY),
    "access_user_password": ("/access/users/{user}/password", dict.fromkeys(ROLES, 405)),
    "access_change_detail": ("/access/changes/{change}/", MANAGERS_ONLY),
    "access_change_approve": ("/access/changes/{change}/approve", dict.fromkeys(ROLES, 405)),
    "access_change_reject": ("/access/changes/{change}/reject", dict.fromkeys(ROLES, 405)),
    "access_change_cancel": ("/access/changes/{change}/cancel", dict.fromkeys(ROLES, 405)),
    "index_status": (
        "/index/",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 403,
            "qa": 403,
            "admin": 200,
            "access": 403,
            "coord": 403,
            "dpo": 403,
        },
    ),
    "index_sync_now": ("/index/sync", dict.fromkeys(ROLES, 405)),  # POST only
    "retention_home": ("/retention/", ADMINS_ONLY),
    "retention_policy_new": ("/retention/policies/new", ADMINS_ONLY),
    "retention_policy_detail": ("/retention/policies/{policy}/", ADMINS_ONLY),
    "retention_policy_approve": (
        "/retention/policies/{policy}/approve",
        dict.fromkeys(ROLES, 405),
    ),
    "retention_policy_reject": ("/retention/policies/{policy}/reject", dict.fromkeys(ROLES, 405)),
    "retention_policy_cancel": ("/retention/policies/{policy}/cancel", dict.fromkeys(ROLES, 405)),
    "retention_hold_new": ("/retention/holds/new", ADMINS_ONLY),
    "retention_hold_detail": ("/retention/holds/{hold}/", ADMINS_ONLY),
    "retention_hold_lift": ("/retention/holds/{hold}/lift", dict.fromkeys(ROLES, 405)),
    "retention_hold_lift_approve": (
        "/retention/holds/{hold}/lift/approve",
        dict.fromkeys(ROLES, 405),
    ),
    "retention_hold_lift_refuse": (
        "/retention/holds/{hold}/lift/refuse",
        dict.fromkeys(ROLES, 405),
    ),
    # QA: notes and the evaluation beside the player, forms, queues, reports.
    "recording_notes": ("/recordings/{id}/notes", VIEWERS),
    "recording_note": ("/recordings/{id}/notes/{note}", POST_ONLY),
    "recording_evaluation": ("/recordings/{id}/evaluation", VIEWERS),
    "qa_queue": (
        "/qa/queue/",
        {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "qa": 200, "coord": 200},
    ),
    "qa_queue_new": (
        "/qa/queues/new",
        {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "supervisor": 200, "coord": 200},
    ),
    "qa_forms": ("/qa/forms/", {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "coord": 200}),
    "qa_form_new": (
        "/qa/forms/new",
        {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "coord": 200},
    ),
    "qa_form_detail": (
        "/qa/forms/{form}/",
        {**dict.fromkeys(ROLES, 403), "anonymous": LOGIN, "coord": 200},
    ),
    "qa_form_publish": ("/qa/forms/{form}/publish", POST_ONLY),
    "qa_reports": (
        "/qa/reports/",
        {
            **dict.fromkeys(ROLES, 403),
            "anonymous": LOGIN,
            "supervisor": 200,
            "admin": 200,
            "coord": 200,
        },
    ),
    "qa_reports_csv": (
        "/qa/reports.csv",
        {
            **dict.fromkeys(ROLES, 403),
            "anonymous": LOGIN,
            "supervisor": 200,
            "admin": 200,
            "coord": 200,
        },
    ),
    "audit_export": (
        "/audit/export.csv",
        {
            "anonymous": LOGIN,
            "nobody": 403,
            "supervisor": 403,
            "qa": 403,
            "admin": 200,
            "access": 200,
            "coord": 403,
            "dpo": 403,
        },
    ),
    "report_charts": ("/reports/", REPORT_READERS),
    "report_csv": ("/reports/data.csv?chart=daily", REPORT_READERS),
    "privacy_report": ("/privacy/", PRIVACY_READERS),
    "privacy_report_csv": ("/privacy/report.csv?number=4101", PRIVACY_READERS),
}


def _project_url_names(patterns: list[Any], namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin guards itself: staff only, its own permissions
            names |= _project_url_names(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"URL {pattern.pattern} has no name: it cannot be in the matrix"
            names.add(pattern.name)
    return names


def test_every_url_is_in_the_matrix() -> None:
    assert _project_url_names(get_resolver().url_patterns) == set(MATRIX)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_each_role_gets_what_the_matrix_says(
    client: Client, sim: SimulatorProcess, db: None, role: str, name: str
) -> None:
    path, expected = MATRIX[name]
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    other = make_user("another-supervisor", "Supervisores")
    request = deletions.deletion_request_create(actor=other, reason="duplicada", ids=[record_id])
    agent = make_user("scoped-agent", "Supervisores", customer_id=5)
    manager = make_user("another-manager", "Gestores de acesso")
    change = access.user_change(
        actor=manager,
        target_id=agent.pk,
        groups=["Supervisores"],
        customer_id=None,
        is_active=True,
        first_name="",
        last_name="",
        email="",
        reason="atende todos os assinantes",
    ).pending
    assert change is not None
    retention_admin = make_user("another-admin", "Administradores")
    policy = retention.policy_request(
        actor=retention_admin, days=365, customer_id=None, reason="contrato"
    )
    hold = retention.hold_place(
        actor=retention_admin, terms=retention.HoldTerms(number="4133334444"), reason="processo"
    )
    coordinator = make_user("another-coordinator", "Coordenadores de QA")
    form = qa.form_create(
        request=None, actor=coordinator, name="Padrão", definition="Saudou | 1 | sim/não"
    )
    note = Note.objects.create(
        record_id=record_id,
        author=coordinator,
        at_ms=0,
        text="x",
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if role != "anonymous":
        client.force_login(make_user(f"user-{role}", GROUPS[role]))
    response = client.get(
        path.format(
            id=record_id,
            request=request.pk,
            user=agent.pk,
            change=change.pk,
            policy=policy.pk,
            hold=hold.pk,
            form=form.pk,
            note=note.pk,
        )
    )
    assert response.status_code == expected[role]
    public_redirects = ("home", "set_language", "favicon")
    if expected[role] == LOGIN and role == "anonymous" and name not in public_redirects:
        assert response["Location"].startswith("/accounts/login/?next=")


# --- subscriber scope ---


@pytest.fixture
def scoped_client(client: Client, db: None) -> Client:
    client.force_login(make_user("scoped", "Supervisores", customer_id=12))
    return client


def test_scoped_user_lists_only_their_subscriber(
    scoped_client: Client, sim: SimulatorProcess
) -> None:
    response = scoped_client.get("/recordings/?date_ini=&date_end=&per_page=100")
    page = response.context["page"]
    assert page.total_records == sim.list("limit=1", path="/12")["total_records"]
    assert {r.customer_id for r in page.recordings} == {12}
    assert 'name="customer_id"' not in response.content.decode()


@pytest.mark.parametrize("path", ["/recordings/", "/recordings/export.csv"])
def test_scoped_user_naming_another_subscriber_in_the_filter_gets_404(
    scoped_client: Client, sim: SimulatorProcess, path: str
) -> None:
    assert scoped_client.get(f"{path}?customer_id=3").status_code == 404
    assert sim.stats()["requests"].get("list", 0) == 0, "decided before the upstream"


def test_scoped_user_naming_their_own_subscriber_is_fine(
    scoped_client: Client, sim: SimulatorProcess
) -> None:
    assert scoped_client.get("/recordings/?customer_id=12").status_code == 200


def test_scoped_user_typing_another_subscribers_id_finds_nothing(
    scoped_client: Client, sim: SimulatorProcess
) -> None:
    other = sim.list("limit=1", path="/3")["data"][0]["record_id"]
    response = scoped_client.get(f"/recordings/?id_record={other}&date_ini=&date_end=")
    assert response.context["page"].total_records == 0
    assert "data-record-id" not in response.content.decode()


def test_scoped_export_holds_only_their_subscriber(
    scoped_client: Client, sim: SimulatorProcess
) -> None:
    response = scoped_client.get("/recordings/export.csv?date_ini=&date_end=")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[1:]
    assert lines
    assert {line.rsplit(";", 1)[1] for line in lines} == {"12"}
    assert len(lines) == sim.list("limit=1", path="/12")["total_records"]


def test_supervisors_cannot_reach_the_django_admin(client: Client, db: None) -> None:
    client.force_login(make_user("sup2", "Supervisores"))
    response = client.get("/admin/recordings/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("suffix", ["", "audio", "download", "peaks.json"])
def test_scoped_user_typing_another_subscribers_id_into_a_url_gets_404(
    scoped_client: Client, sim: SimulatorProcess, suffix: str
) -> None:
    other = sim.list("limit=1", path="/3")["data"][0]["record_id"]
    response = scoped_client.get(f"/recordings/{other}/{suffix}")
    assert response.status_code == 404
    assert sim.stats()["requests"].get("download", 0) == 0, "no download was started"


@pytest.mark.parametrize("suffix", ["", "audio", "download", "peaks.json"])
def test_scoped_user_reaches_their_own_recordings(
    scoped_client: Client, sim: SimulatorProcess, suffix: str
) -> None:
    own = sim.list("limit=1", path="/12")["data"][0]["record_id"]
    assert scoped_client.get(f"/recordings/{own}/{suffix}").status_code == 200
