"""Named regressions for issue 9's 5xx causes, and the 400s that replace them.

Every value a person cannot have meant gets a 400 that names the parameter: never a 500,
never a silent default. The fuzz in ``tests/test_fuzz.py`` looks for the ones not named here.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionRequest
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

LONG_NUMBER = "9" * 5000  # int() refuses more than 4,300 digits


def _named(response: Any, field: str) -> None:
    assert response.status_code == 400
    assert f'data-field="{field}"' in response.content.decode(), f"the 400 names {field}"


@pytest.fixture
def admin_client(client: Client, db: None) -> Client:
    client.force_login(make_user("adm", "Administradores"))
    return client


def _record_id(sim: SimulatorProcess) -> int:
    return int(sim.list("limit=1")["data"][0]["record_id"])


# --- per_page -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "③", LONG_NUMBER, "9" * 4301, "-25", "25\x00"])
@pytest.mark.parametrize("path", ["/recordings/", "/recordings/export.csv"])
def test_per_page_that_is_not_a_number_is_a_400_on_the_page_and_the_export(
    supervisor_client: Client, sim: SimulatorProcess, value: str, path: str
) -> None:
    response = supervisor_client.get(path, {"per_page": value})
    assert response.status_code == 400
    assert 'id="id_per_page_error"' in response.content.decode()
    assert sim.stats()["requests"].get("list", 0) == 0


# --- ids on /deletions/new ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "③", LONG_NUMBER, "-3", "0", "1e3", str(2**63), "7\x00"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_ids_that_are_not_record_ids_are_a_400_naming_ids(
    supervisor_client: Client, sim: SimulatorProcess, value: str, method: str
) -> None:
    send = getattr(supervisor_client, method)
    response = send("/deletions/new", {"ids": [str(_record_id(sim)), value], "reason": "x"})
    _named(response, "ids")
    assert not DeletionRequest.objects.exists()


def test_a_filter_that_is_not_understood_on_deletions_new_is_a_400(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get("/deletions/new", {"all": "1", "date_end": "2026-02-30"})
    _named(response, "date_end")


def test_a_reason_with_a_nul_byte_is_a_400(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.post(
        "/deletions/new", {"ids": _record_id(sim), "reason": "LGPD\x00; DROP"}
    )
    _named(response, "reason")
    assert not DeletionRequest.objects.exists()


def test_a_rejection_reason_with_a_nul_byte_is_a_400(
    admin_client: Client, sim: SimulatorProcess
) -> None:
    other = make_user("sup-x", "Supervisores")
    deletion = deletions.deletion_request_create(actor=other, reason="r", ids=[_record_id(sim)])
    response = admin_client.post(f"/deletions/{deletion.pk}/reject", {"reason": "no\x00"})
    _named(response, "reason")
    deletion.refresh_from_db()
    assert deletion.status == DeletionRequest.Status.PENDING


# --- pos on the player page -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "③", LONG_NUMBER, "-1", "1.5", "", "3\x00"])
def test_pos_that_is_not_a_position_is_a_400_naming_pos(
    supervisor_client: Client, sim: SimulatorProcess, value: str
) -> None:
    response = supervisor_client.get(f"/recordings/{_record_id(sim)}/", {"pos": value})
    _named(response, "pos")


def test_a_list_filter_on_the_player_page_that_is_not_understood_is_a_400(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get(
        f"/recordings/{_record_id(sim)}/", {"pos": "0", "per_page": "③"}
    )
    _named(response, "per_page")


def test_a_good_pos_still_shows_the_neighbours(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    second = sim.list("limit=1&start=1")["data"][0]["record_id"]
    response = supervisor_client.get(
        f"/recordings/{second}/", {"pos": "1", "date_ini": "", "date_end": ""}
    )
    assert response.status_code == 200
    assert response.context["around"]["position"] == 2


# --- the audit log ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv"])
@pytest.mark.parametrize("dates", [{"date_end": "9999-12-31"}, {"date_ini": "9999-12-31"}])
def test_the_last_day_there_is_is_a_date_like_any_other(
    admin_client: Client, path: str, dates: dict[str, str]
) -> None:
    response = admin_client.get(path, dates)
    assert response.status_code == 200
    if path.endswith(".csv"):
        b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"record_id": LONG_NUMBER}, "record_id"),
        ({"record_id": "²"}, "record_id"),
        ({"record_id": str(2**64)}, "record_id"),
        ({"date_ini": "2026-02-30"}, "date_ini"),
        ({"actor": "a\x00b"}, "actor"),
        ({"action": "launch_missiles"}, "action"),
    ],
)
@pytest.mark.parametrize("path", ["/audit/", "/audit/export.csv"])
def test_audit_filters_that_are_not_understood_are_a_400(
    admin_client: Client, query: dict[str, str], field: str, path: str
) -> None:
    response = admin_client.get(path, query)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()


@pytest.mark.parametrize("value", ["²", LONG_NUMBER, "-1", "x"])
def test_an_audit_page_that_is_not_a_number_is_a_400(admin_client: Client, value: str) -> None:
    _named(admin_client.get("/audit/", {"page": value}), "page")


# --- NUL bytes and the audit write (PostgreSQL refuses NUL in text and JSON) ----------------


def test_a_scoped_user_sending_a_nul_customer_id_is_refused_and_the_denial_recorded(
    client: Client, sim: SimulatorProcess, db: None
) -> None:
    client.force_login(make_user("scoped", "Supervisores", customer_id=12))
    response = client.get("/recordings/?customer_id=%00")
    assert response.status_code == 404
    denied = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_DENIED)
    assert denied.details["customer_id"] == ""  # the NUL is dropped, the event kept
    assert denied.actor_username == "scoped"


def test_nul_bytes_anywhere_in_a_request_still_make_an_audit_row(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get(
        "/audit/\x00", headers={"User-Agent": "evil\x00agent", "X-Request-ID": "a\x00b"}
    )
    assert response.status_code in (403, 404)
    response = supervisor_client.get("/audit/", headers={"User-Agent": "evil\x00agent"})
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_DENIED).last()
    assert denied is not None
    assert denied.user_agent == "evilagent"


def test_a_session_cookie_with_a_nul_byte_is_just_no_session(client: Client, db: None) -> None:
    # A quoted cookie may carry \\000, which the cookie parser turns into a NUL byte.
    client.cookies["sessionid"] = "abcdefgh\x00ijklmnop"
    response = client.get("/recordings/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(("value", "status"), [("²", 400), ("③", 400), ("٣", 200), ("１", 200)])
def test_unicode_digits_in_the_id_filter_are_refused_or_read_as_the_digit_they_are(
    supervisor_client: Client, sim: SimulatorProcess, value: str, status: int
) -> None:
    response = supervisor_client.get("/recordings/", {"id_record": value})
    assert response.status_code == status
    if status == 200:  # Arabic-Indic three and a full-width one are decimal digits
        assert response.context["filters"].id_record in (3, 1)
