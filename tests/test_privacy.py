"""The LGPD access report: every recording of a number, deleted ones too, and every access."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionRequest
from index import sync
from index.models import IndexedRecording
from index.numbers import normalise
from recordings import vono
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

Action = AuditEvent.Action
DPO = "Encarregado de dados (DPO)"
SUPERVISOR_IP = "203.0.113.7"


def _index(sim: SimulatorProcess) -> None:
    """The index as a sync leaves it: every recording the simulator holds."""
    client = vono.get_client()
    start, total = 0, None
    while total is None or start < total:
        page = client.list_recordings(vono.RecordingFilter(), start=start, limit=500)
        sync.upsert_page(page.recordings, timezone.now())
        total, start = page.total_records, start + len(page.recordings)


def _a_phone_call(sim: SimulatorProcess) -> dict[str, Any]:
    """An inbound call from a mobile phone, in the simulator's demo data."""
    for item in sim.list("limit=200")["data"]:
        if len(item["source"]) == 13 and item["customer_id"] == 3:
            return item
    raise AssertionError("no inbound mobile call in the demo data")


def _typed(number: str) -> str:
    """``5541985977963`` as people write it: ``+55 (41) 98597-7963``."""
    national = normalise(number)
    return f"+55 ({national[:2]}) {national[2:7]}-{national[7:]}"


@pytest.fixture
def story(sim: SimulatorProcess, db: None) -> dict[str, Any]:
    """A number's call is played, downloaded, exported, and deleted through the portal."""
    _index(sim)
    call = _a_phone_call(sim)
    record_id = call["record_id"]
    day = call["calldate"][:10]
    sup = make_user("sara", "Supervisores")
    other = make_user("otto", "Supervisores")
    admin = make_user("adao", "Administradores")
    browser = Client(REMOTE_ADDR=SUPERVISOR_IP)
    browser.force_login(sup)
    assert browser.get(f"/recordings/{record_id}/audio").status_code == 200
    assert browser.get(f"/recordings/{record_id}/download").status_code == 200
    export = browser.get(f"/recordings/export.csv?date_ini={day}&date_end={day}")
    b"".join(export.streaming_content)
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    elsewhere.force_login(other)
    other_day = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    b"".join(
        elsewhere.get(
            f"/recordings/export.csv?date_ini={other_day}&date_end={other_day}"
        ).streaming_content
    )
    asked = browser.post("/deletions/new", {"ids": record_id, "reason": "pedido do titular"})
    assert asked.status_code == 302
    deletion = DeletionRequest.objects.get()
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=admin, typed_count="1", auth_age_seconds=5.0
    )
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    return {"call": call, "record_id": record_id, "deletion": deletion, "number": call["source"]}


@pytest.fixture
def dpo_client(client: Client, db: None) -> Client:
    client.defaults["REMOTE_ADDR"] = "192.0.2.44"
    client.force_login(make_user("debora", DPO))
    return client


def test_the_dpo_finds_a_deleted_call_and_every_access_to_it(
    story: dict[str, Any], dpo_client: Client
) -> None:
    response = dpo_client.get("/privacy/", {"number": _typed(story["number"])})
    assert response.status_code == 200
    report = response.context["report"]
    entry = next(e for e in report.recordings if e.recording.record_id == story["record_id"])
    assert entry.direction == "from"  # the number called
    assert entry.recording.gone_at is not None
    assert entry.recording.gone_how == IndexedRecording.GoneHow.DELETED
    assert [item.request.pk for item in entry.deletions] == [story["deletion"].pk]
    by_action: dict[str, list[Any]] = {}
    for access in report.accesses:
        by_action.setdefault(access.event.action, []).append(access)
    for action in (Action.PLAY, Action.DOWNLOAD, Action.DELETION_REQUESTED):
        (access,) = by_action[action]
        assert access.event.actor_username == "sara"
        assert access.event.ip == SUPERVISOR_IP
        assert access.record_ids == [story["record_id"]] and not access.inferred
    assert {Action.DELETION_APPROVED, Action.DELETION_FINISHED} <= set(by_action)
    (export,) = by_action[Action.EXPORT]  # the other day's export is not listed
    assert export.inferred and export.event.actor_username == "sara"
    page = response.content.decode()
    assert f"#{story['deletion'].pk}" in page
    assert SUPERVISOR_IP in page
    assert "pelo filtro registrado" in page


def test_producing_the_report_is_audited(story: dict[str, Any], dpo_client: Client) -> None:
    dpo_client.get("/privacy/", {"number": _typed(story["number"])})
    event = AuditEvent.objects.filter(action=Action.PRIVACY_REPORT).get()
    assert event.actor_username == "debora"
    assert event.ip == "192.0.2.44"
    assert event.details["number"] == normalise(story["number"])
    assert event.details["output"] == "page"
    assert story["record_id"] in event.record_ids
    # A second report lists the first among the accesses.
    again = dpo_client.get("/privacy/", {"number": story["number"]}).context["report"]
    assert any(a.event.pk == event.pk for a in again.accesses)


def test_the_csv_holds_the_same_rows_and_is_audited(
    story: dict[str, Any], dpo_client: Client
) -> None:
    page = dpo_client.get("/privacy/", {"number": story["number"]}).context["report"]
    response = dpo_client.get("/privacy/report.csv", {"number": story["number"]})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][:3] == ["Parte", "Gravações", "Quando"]
    recordings = [r for r in rows[1:] if r[0] == "gravação"]
    accesses = [r for r in rows[1:] if r[0] == "acesso"]
    assert len(recordings) == len(page.recordings)
    assert len(accesses) == len(page.accesses) + 1  # the page's own report event
    deleted = next(r for r in recordings if r[1] == str(story["record_id"]))
    assert f"#{story['deletion'].pk}" in deleted[8]
    # Moments as the recordings' CSV writes them in Portuguese: 25/11/2026 14:02:07.
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", deleted[2]), deleted[2]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", accesses[0][2]), accesses[0][2]
    outputs = AuditEvent.objects.filter(action=Action.PRIVACY_REPORT).values_list(
        "details__output", flat=True
    )
    assert sorted(outputs) == ["csv", "page"]


def test_the_english_csv_calls_an_access_an_access(
    story: dict[str, Any], dpo_client: Client
) -> None:
    # "acesso" is also the audit action for a sign-in; the CSV's part is not a sign-in.
    dpo_client.post("/i18n/setlang/", {"language": "en", "next": "/privacy/"})
    response = dpo_client.get("/privacy/report.csv", {"number": story["number"]})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0][:3] == ["Part", "Recordings", "When"]
    assert {r[0] for r in rows[1:]} == {"recording", "access"}


def test_an_empty_form_produces_nothing(dpo_client: Client, db: None) -> None:
    response = dpo_client.get("/privacy/")
    assert response.status_code == 200
    assert "report" not in response.context
    assert not AuditEvent.objects.filter(action=Action.PRIVACY_REPORT).exists()


@pytest.mark.parametrize("typed", ["abc", "12", "9" * 21, "\x00"])
def test_what_is_no_number_is_a_400_naming_it(dpo_client: Client, db: None, typed: str) -> None:
    for path in ("/privacy/", "/privacy/report.csv"):
        response = dpo_client.get(path, {"number": typed})
        assert response.status_code == 400
        assert response.context["field"] == "number"
    assert not AuditEvent.objects.filter(action=Action.PRIVACY_REPORT).exists()


def test_a_scoped_dpo_sees_only_their_subscriber(story: dict[str, Any], client: Client) -> None:
    client.force_login(make_user("dpo-7", DPO, customer_id=7))
    report = client.get("/privacy/", {"number": story["number"]}).context["report"]
    assert report.recordings == []  # the call is subscriber 3's
    assert report.accesses == []
    assert client.get("/privacy/?number=4101&customer_id=3").status_code == 404


def test_an_extension_is_a_number_too(sim: SimulatorProcess, dpo_client: Client) -> None:
    _index(sim)
    report = dpo_client.get("/privacy/", {"number": "2001"}).context["report"]
    total = sim.list("limit=1")["total_records"]
    expected = [
        r for start in range(0, total, 500) for r in sim.list(f"limit=500&start={start}")["data"]
    ]
    involving = {r["record_id"] for r in expected if "2001" in (r["source"], r["destination"])}
    assert {e.recording.record_id for e in report.recordings} == involving
    assert involving


def test_administrators_produce_it_and_supervisors_do_not(client: Client, db: None) -> None:
    client.force_login(make_user("adm", "Administradores"))
    assert client.get("/privacy/?number=4101").status_code == 200
    client.force_login(make_user("sup", "Supervisores"))
    assert client.get("/privacy/?number=4101").status_code == 403
    assert client.get("/privacy/report.csv?number=4101").status_code == 403


def test_the_dpo_lands_on_the_report(dpo_client: Client) -> None:
    response = dpo_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/privacy/"


def test_an_export_by_the_index_filters_is_matched_by_them(dpo_client: Client, db: None) -> None:
    """Exports record their filter, not ids: number, extension and durations (as the list
    searching the index records them) decide whether they covered a recording."""
    from audit import services as audit

    when = dt.datetime(2026, 11, 20, 10, 0, tzinfo=sync.SAO_PAULO)
    sync.upsert_page(
        [
            vono.Recording(
                record_id=77,
                customer_id=3,
                calldate=when,
                clid="5541985977963",
                source="5541985977963",
                destination="4101",
                duration=95,
                duration_text="",
                size=10,
                size_text="",
            )
        ],
        timezone.now(),
    )
    exporter = make_user("exporter", "Supervisores")
    day = {"date_ini": "2026-11-20", "date_end": "2026-11-20", "customer_id": None}
    names = {}
    for rows, (name, extra) in enumerate(
        {
            "same-number": {"number": "98597", "duration_min": 60, "duration_max": 120},
            "other-number": {"number": "11111"},
            "too-short": {"duration_max": 30},
            "other-extension": {"extension": "4102"},
            "with-unknown-field": {"tag": "x"},
        }.items()
    ):
        names[rows] = name  # an export's "rows" tells them apart here
        audit.record_event(
            action=Action.EXPORT,
            actor=exporter,
            details={**day, **extra, "rows": rows, "source": "index"},
        )
    report = dpo_client.get("/privacy/", {"number": "41 98597-7963"}).context["report"]
    listed = {names[a.event.details["rows"]]: a for a in report.accesses if a.inferred}
    assert set(listed) == {"same-number", "with-unknown-field"}
    assert not listed["same-number"].uncertain
    assert listed["with-unknown-field"].uncertain
