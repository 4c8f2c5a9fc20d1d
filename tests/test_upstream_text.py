"""Text from the upstream is untrusted: a server that echoes the request URL (with the token
and key in its path) in its errors must not put them on any page, log line or stored row.

The suite's autouse fixture (tests/conftest.py) also fails any test whose responses or log
records hold the token, the key, the upstream's address or its credentialled path.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionItem, DeletionRequest
from recordings import vono
from recordings.redaction import MASK, URL_MASK, upstream_text
from tests import environment
from tests.conftest import UPSTREAM_HOST, make_user
from tests.simulator import SimulatorProcess

ECHO = "Falha ao processar {request_url}"
FORBIDDEN = (environment.TOKEN, environment.KEY, UPSTREAM_HOST, "/recording/")


def _clean(text: str) -> bool:
    return not any(secret in text for secret in FORBIDDEN)


def _first_id(sim: SimulatorProcess) -> int:
    return int(sim.list("limit=1")["data"][0]["record_id"])


# --- the sanitiser ----------------------------------------------------------------------------


def test_the_sanitiser_masks_secrets_urls_and_control_characters() -> None:
    token, key = environment.TOKEN, environment.KEY
    cases = {
        f"token {token} invalid": f"token {MASK} invalid",
        f"TOKEN {token.upper()}": f"TOKEN {MASK}",
        f"see https://pbx.example/api/recording/{token}/{key}?x=1 now": f"see {URL_MASK} now",
        f"GET /api/recording/{quote(token)}/x HTTP/1.1": f"GET {URL_MASK} HTTP/1.1",
        "pbx.example:8443/recording/a/b?ids[]=1": URL_MASK,
        "ftp://files.example/a": URL_MASK,
        "line one\nline two\r\n\tend\x1b[31m": "line one line two end [31m",
        # A zero-width space cannot split the token to slip it past the mask.
        f"{token[:6]}\u200b{token[6:]}": MASK,
        "\u202egnp.exe": "gnp.exe",
        "Data inicial maior que a data final": "Data inicial maior que a data final",
    }
    for raw, expected in cases.items():
        assert upstream_text(raw) == expected, raw
    long = upstream_text("x" * 5000)
    assert len(long) == 300 and long.endswith("…")
    assert upstream_text(None) == ""


def test_a_refusal_that_echoes_the_url_is_sanitised_at_the_client(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    sim.fault("error", reason=ECHO)
    with pytest.raises(vono.VonoRejected) as caught:
        client_vono.list_recordings(vono.RecordingFilter())
    assert caught.value.reason == f"Falha ao processar {URL_MASK}"
    assert _clean(str(caught.value)) and _clean(caught.value.reason)


def test_the_simulator_really_echoes_the_url(sim: SimulatorProcess) -> None:
    """Without this, every test here could pass against a server that never echoes."""
    sim.fault("error", reason=ECHO)
    document = sim.list("limit=1")
    assert environment.TOKEN in document["reason"] and environment.KEY in document["reason"]
    sim.clear_faults()
    sim.fault("body", body='{"error": 1, "reason": "{request_url}"}')
    assert environment.KEY in sim.list("limit=1")["reason"]


def test_a_protocol_error_quoting_upstream_values_is_sanitised(
    sim: SimulatorProcess, client_vono: vono.VonoClient
) -> None:
    sim.fault("body", body='{"error": 0, "total_records": "{request_url}", "data": []}')
    with pytest.raises(vono.VonoProtocolError) as caught:
        client_vono.list_recordings(vono.RecordingFilter())
    assert _clean(str(caught.value))


def test_record_text_fields_are_sanitised(
    sim: SimulatorProcess, client_vono: vono.VonoClient, supervisor_client: Client
) -> None:
    echoed = f"{sim.api}?id_record=1"
    record = sim.add_recording(clid=echoed, source="\u202e1234\x00", duration=5)
    found = client_vono.get_recording(int(record["record_id"]))
    assert found.clid == URL_MASK
    assert found.source == "1234"
    page = supervisor_client.get(f"/recordings/?id_record={record['record_id']}&date_ini=")
    assert page.status_code == 200 and URL_MASK in page.content.decode()


def test_a_download_answered_with_an_echoing_error_is_not_relayed_as_audio(
    sim: SimulatorProcess, supervisor_client: Client
) -> None:
    record_id = _first_id(sim)
    sim.fault("error", target="download", reason=ECHO)
    response = supervisor_client.get(f"/recordings/{record_id}/audio")
    assert response.status_code == 502
    assert not getattr(response, "streaming", False)
    assert "O Vono recusou a consulta" in response.content.decode()
    download = supervisor_client.get(f"/recordings/{record_id}/download")
    assert download.status_code == 502


# --- every page, through the real stack -----------------------------------------------------


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    return {
        "supervisor": make_user("sara", "Supervisores"),
        "admin": make_user("adao", "Administradores"),
        "admin2": make_user("alice", "Administradores"),
    }


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_echoing_upstream_leaks_nothing_on_the_recording_pages(
    sim: SimulatorProcess, people: dict[str, Any]
) -> None:
    record_id = _first_id(sim)
    sim.fault("error", reason=ECHO)
    client = _as(people["supervisor"])
    pages = {
        "/recordings/": 200,
        "/recordings/?page=2": 200,
        f"/recordings/{record_id}/": 503,
        "/recordings/export.csv": 503,
        f"/recordings/{record_id}/audio": 502,
        f"/recordings/{record_id}/download": 502,
        f"/recordings/{record_id}/peaks.json": 503,
    }
    for url, status in pages.items():
        response = client.get(url, HTTP_HX_REQUEST="true" if "page=" in url else None)
        assert response.status_code == status, url
        body = response.content.decode()
        assert _clean(body), url
    listing = client.get("/recordings/").content.decode()
    assert f"Falha ao processar {URL_MASK}" in listing


def test_an_echoing_upstream_leaks_nothing_in_the_deletion_workflow(
    sim: SimulatorProcess, people: dict[str, Any]
) -> None:
    ids = [r["record_id"] for r in sim.list("limit=3")["data"]]
    supervisor, admin, admin2 = people["supervisor"], people["admin"], people["admin2"]
    deletion = deletions.deletion_request_create(actor=supervisor, reason="LGPD", ids=ids)

    sim.fault("error", target="list", reason=ECHO)
    new_page = _as(supervisor).get(f"/deletions/new?ids={ids[0]}")
    assert _clean(new_page.content.decode())
    pending = _as(admin).get(f"/deletions/{deletion.pk}/")
    assert pending.status_code == 200
    assert URL_MASK in pending.content.decode()
    sim.clear_faults()

    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=admin, typed_count="3", auth_age_seconds=5.0
    )
    # The DELETE answers "nothing removed", quoting the URL; a second run is refused outright.
    sim.fault("body", target="delete", body='{"error": 0, "deleted": 0, "reason": "{request_url}"}')
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == "failed"
    details = list(DeletionItem.objects.values_list("detail", flat=True))
    assert details and all(_clean(d) and URL_MASK in d for d in details)

    for client in (_as(admin), _as(admin2), _as(supervisor)):
        for url in (f"/deletions/{deletion.pk}/", "/deletions/"):
            response = client.get(url)
            assert response.status_code == 200
            assert _clean(response.content.decode()), url

    sim.clear_faults()
    sim.fault("error", target="delete", reason=ECHO)
    assert DeletionRequest.objects.get(pk=deletion.pk).status == "failed"
    deletions.deletion_request_retry(deletion_id=deletion.pk, actor=admin2)
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert all(_clean(d) for d in DeletionItem.objects.values_list("detail", flat=True))

    # The audit log (viewer and CSV) holds the sanitised words only.
    for event in AuditEvent.objects.all():
        assert _clean(str(event.details)), event.action
    viewer = _as(admin).get("/audit/")
    assert viewer.status_code == 200 and _clean(viewer.content.decode())
    export = _as(admin).get("/audit/export.csv")
    assert _clean(b"".join(export.streaming_content).decode("utf-8-sig"))


def test_an_echoing_upstream_leaks_nothing_on_healthz(
    sim: SimulatorProcess, people: dict[str, Any]
) -> None:
    sim.fault("error", reason=ECHO)
    anonymous = Client().get("/healthz")
    assert anonymous.json() == {"status": "degraded"}
    details = _as(people["admin"]).get("/healthz?details=1").json()
    assert details["upstream"] == "degraded"
    assert details["upstream_reason"] == f"The Vono API refused the request: {ECHO[:-13]}{URL_MASK}"
