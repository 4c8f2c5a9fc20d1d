"""Headers, states and formats a person meets every day (issue 10), through the real stack."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.test import Client

from audit import services as audit
from deletions import services as deletions
from recordings.templatetags.recordings_tags import phone
from tests.conftest import make_user
from tests.simulator import SimulatorProcess


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body), delimiter=";"))


def _english(client: Client) -> None:
    client.post("/i18n/setlang/", {"language": "en", "next": "/recordings/"})


# --- Content-Security-Policy and caching ---


def test_pages_carry_a_strict_csp_whose_nonce_is_on_every_script(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get("/recordings/")
    policy = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy)
    assert nonce, policy
    assert f"style-src 'self' 'nonce-{nonce.group(1)}'" in policy
    html = response.content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in s and "src=" in s for s in scripts)
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    assert " style=" not in html
    assert '"includeIndicatorStyles": false' in html
    again = supervisor_client.get("/recordings/")["Content-Security-Policy"]
    assert again != policy, "a fresh nonce for every response"


def test_signed_in_html_is_never_stored(supervisor_client: Client, sim: SimulatorProcess) -> None:
    for path in ("/recordings/", "/deletions/"):
        assert supervisor_client.get(path)["Cache-Control"] == "private, no-store"
    partial = supervisor_client.get("/recordings/", headers={"HX-Request": "true"})
    assert partial["Cache-Control"] == "private, no-store"
    assert supervisor_client.get("/healthz").get("Cache-Control") != "private, no-store"


def test_favicon_exists(client: Client, db: None) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith(".svg")
    assert 'rel="icon"' in client.get("/accounts/login/").content.decode()


def test_sign_in_error_is_plain_portuguese(client: Client, db: None) -> None:
    make_user("maria", "Supervisores")
    html = client.post("/accounts/login/", {"username": "maria", "password": "x"}).content
    assert "Usuário ou senha incorretos" in html.decode()


# --- the list ---


def test_a_bad_page_number_highlights_the_page_field(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    html = supervisor_client.get("/recordings/?page=-3").content.decode()
    assert "Corrija os campos destacados" in html
    field = re.search(r'<input[^>]*id="id_page"[^>]*>', html)
    assert field and 'aria-invalid="true"' in field.group(0) and 'value="-3"' in field.group(0)
    assert 'id="id_page_error"' in html


def test_back_to_the_list_goes_to_the_page_the_item_was_on(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record = sim.list("limit=1&start=101")["data"][0]
    html = supervisor_client.get(
        f"/recordings/{record['record_id']}/?date_ini=&date_end=&per_page=25&pos=101"
    ).content.decode()
    back = re.search(r'<a href="(/recordings/\?[^"]*)" data-nav="list"', html)
    assert back and "page=5" in back.group(1) and "per_page=25" in back.group(1)


# --- a recording deleted by a request ---


def _delete_for_real(sim: SimulatorProcess, customer_id: int | None = None) -> tuple[int, Any]:
    asker = make_user("asker", "Supervisores")
    approver = make_user("approver", "Administradores")
    query = "limit=1" if customer_id is None else f"limit=1&customer_id={customer_id}"
    record_id = int(sim.list(query)["data"][0]["record_id"])
    request = deletions.deletion_request_create(actor=asker, reason="LGPD", ids=[record_id])
    deletions.deletion_request_approve(
        deletion_id=request.pk, actor=approver, typed_count="1", auth_age_seconds=0
    )
    deletions.deletion_request_execute(deletion_id=request.pk)
    return record_id, request


def test_a_deleted_recording_says_when_and_which_request(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    record_id, request = _delete_for_real(sim)
    response = supervisor_client.get(f"/recordings/{record_id}/")
    assert response.status_code == 410
    html = response.content.decode()
    assert f"Gravação {record_id} excluída" in html
    assert f"pedido de exclusão #{request.pk}" in html
    assert "<audio" not in html and "Baixar MP3" not in html
    # The link to the request is only for those who may open it (the asker or an approver).
    assert f'href="/deletions/{request.pk}/"' not in html


def test_a_scoped_user_learns_nothing_about_another_subscribers_deletion(
    client: Client, db: None, sim: SimulatorProcess
) -> None:
    record_id, _ = _delete_for_real(sim, customer_id=3)
    client.force_login(make_user("scoped", "Supervisores", customer_id=7))
    assert client.get(f"/recordings/{record_id}/").status_code == 404


# --- CSV: formats of the reader ---


def test_export_writes_phones_as_on_screen_and_dates_like_the_page(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    raw = sim.list("limit=200&date_ini=&date_end=")["data"]
    rows = _csv(supervisor_client.get("/recordings/export.csv?date_ini=&date_end="))
    by_id = {int(r[0]): r for r in rows[1:]}
    for record in raw:
        row = by_id[record["record_id"]]
        assert row[2:5] == [
            phone(record["source"]),
            phone(record["destination"]),
            phone(record["clid"]),
        ]
    digits = [r[c] for r in rows[1:] for c in (2, 3, 4) if r[c].isdigit() and len(r[c]) >= 12]
    assert digits == [], "no long digit strings a spreadsheet would turn into 5,5E+12"
    assert any(re.fullmatch(r"\(\d\d\) \d{4,5}-\d{4}", r[3]) for r in rows[1:])
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", rows[1][1])

    _english(supervisor_client)
    english = _csv(supervisor_client.get("/recordings/export.csv?date_ini=&date_end="))
    assert english[0][:4] == ["ID", "Date and time", "From", "To"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", english[1][1]), english[1][1]


def test_audit_csv_is_in_sao_paulo_time_and_the_readers_language(client: Client, db: None) -> None:
    admin = make_user("chefe", "Administradores")
    event = audit.record_event(action=audit.Action.DOWNLOAD, actor=admin, record_ids=[7])
    client.force_login(admin)
    rows = _csv(client.get("/audit/export.csv?action=download"))
    assert rows[0][:5] == [
        "Sequência",
        "Quando (horário de Brasília)",
        "Usuário",
        "Ação",
        "Código da ação",
    ]
    local = event.created_at.astimezone(dt.timezone(dt.timedelta(hours=-3)))
    assert rows[1][1] == local.strftime("%d/%m/%Y %H:%M:%S")
    assert rows[1][3:5] == ["download", "download"]

    audit.record_event(action=audit.Action.ACCESS_DENIED, actor=admin, outcome="denied")
    _english(client)
    rows = _csv(client.get("/audit/export.csv?action=access_denied"))
    assert rows[0][3:5] == ["Action", "Action code"]
    assert rows[1][3:5] == ["access denied", "access_denied"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[1][1]), rows[1][1]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("5511987654321", "(11) 98765-4321"), ("sup9010", "sup9010"), ("4101", "4101")],
)
def test_phone_format_in_the_csv_matches_the_screen(raw: str, shown: str) -> None:
    assert phone(raw) == shown
