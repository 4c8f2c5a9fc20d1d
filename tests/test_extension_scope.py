"""Team scope by extension on every surface, for every kind of scope, against the simulator.

Four calls are added to the simulator today and indexed; a fifth is added after the sync,
so the upstream has it and the index does not. Users of each scope kind (none, subscriber
21, extensions 7701-7710, both) must see exactly their share everywhere, and a hidden call
must be 404 before the portal sends the upstream a single request (``/_sim/stats``).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionRequest
from index import selectors, sync
from index.models import IndexedRecording
from recordings import access
from recordings.models import User
from recordings.scope import Scope, parse_extensions
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

pytestmark = pytest.mark.django_db

TEAM = "7701-7710"
SCOPES: dict[str, tuple[int | None, str]] = {
    "none": (None, ""),
    "subscriber": (21, ""),
    "extensions": (None, TEAM),
    "both": (21, TEAM),
}
VISIBLE = {
    "none": {"team_out", "team_in", "neighbour", "other_subscriber", "unindexed"},
    "subscriber": {"team_out", "team_in", "neighbour", "unindexed"},
    "extensions": {"team_out", "team_in", "other_subscriber"},
    "both": {"team_out", "team_in"},
}
CALLS = ("team_out", "team_in", "neighbour", "other_subscriber", "unindexed")


@pytest.fixture
def calls(sim: SimulatorProcess, settings: Any) -> dict[str, int]:
    settings.INDEX_DAYS = 1
    settings.INDEX_RECENT_DAYS = 1
    settings.INDEX_MAX_RPS = 1000
    today = sync.today_local()

    def add(second: int, customer: int, source: str, destination: str) -> int:
        record = sim.add_recording(
            calldate=f"{today}T00:00:{second:02d}",
            customer_id=customer,
            source=source,
            destination=destination,
            clid=source,
            duration=30 + second,
        )
        return int(record["record_id"])

    ids = {
        "team_out": add(1, 21, "7705", "5541999990001"),
        "team_in": add(2, 21, "5541988887777", "7710"),
        "neighbour": add(3, 21, "7711", "5541999990003"),  # one past the team's range
        "other_subscriber": add(4, 7, "7702", "5521999990004"),
    }
    assert sync.sync_run().status == "done"
    ids["unindexed"] = add(5, 21, "7706", "5541999990005")  # upstream only
    return ids


def _user(kind: str, role: str = "Administradores", name: str = "") -> Any:
    customer_id, extensions = SCOPES[kind]
    return make_user(name or f"u_{kind}", role, customer_id=customer_id, extensions=extensions)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upstream_calls(sim: SimulatorProcess) -> int:
    return sum(int(n) for n in sim.stats()["requests"].values())


def _today(calls: dict[str, int]) -> str:
    day = sync.today_local().isoformat()
    return f"date_ini={day}&date_end={day}&per_page=100"


def _expected(calls: dict[str, int], kind: str) -> set[int]:
    return {calls[name] for name in VISIBLE[kind]}


def _listed(calls: dict[str, int], kind: str, *, from_index: bool) -> set[int]:
    """What a list or export shows of the five calls: the index has not the unindexed one."""
    expected = _expected(calls, kind)
    return expected - {calls["unindexed"]} if from_index else expected


def _hidden(calls: dict[str, int], kind: str) -> set[int]:
    return {calls[name] for name in CALLS} - _expected(calls, kind)


# --- the Scope value and the index ------------------------------------------------------


@pytest.mark.parametrize("kind", SCOPES)
def test_scope_of_is_one_immutable_value(kind: str) -> None:
    user = _user(kind)
    scope = access.scope_of(user)
    customer_id, extensions = SCOPES[kind]
    assert scope == Scope(customer_id, parse_extensions(extensions))
    with pytest.raises(AttributeError):
        scope.customer_id = 3  # type: ignore[misc]
    assert hash(scope) == hash(access.scope_of(user))


@pytest.mark.parametrize("kind", SCOPES)
def test_index_search_filters_by_each_scope_kind(calls: dict[str, int], kind: str) -> None:
    scope = access.scope_of(_user(kind))
    found = set(selectors.search(scope=scope).values_list("record_id", flat=True))
    mine = {calls[n] for n in CALLS} & found
    assert mine == _expected(calls, kind) - {calls["unindexed"]}


def test_the_index_query_agrees_with_the_scope_on_every_row(sim: SimulatorProcess) -> None:
    """The SQL the index runs and ``Scope.allows`` in Python decide alike, row by row, over
    the simulator's own extensions (digits, ``sup90NN``, ``ramalNNN``)."""
    assert sync.sync_run().status == "done"
    rows = list(IndexedRecording.objects.all())
    assert rows
    for text, customer_id in [
        ("4101-4110, 2003", None),
        ("SUP9001-sup9004, ramal301", None),
        ("2001-2008", 7),
        ("4115", 21),
        ("4101-4120", 7),
    ]:
        scope = Scope(customer_id, parse_extensions(text))
        by_sql = set(selectors.search(scope=scope).values_list("record_id", flat=True))
        by_python = {
            r.record_id
            for r in rows
            if r.gone_at is None
            and scope.allows(customer_id=r.customer_id, source=r.source, destination=r.destination)
        }
        assert by_sql == by_python, text
    assert by_sql == set()  # 41xx are subscriber 21's


def test_search_still_takes_a_bare_subscriber(calls: dict[str, int]) -> None:
    assert calls["other_subscriber"] in set(
        selectors.search(scope=7).values_list("record_id", flat=True)
    )


# --- list, export ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SCOPES)
def test_list_shows_exactly_the_scope(
    calls: dict[str, int], sim: SimulatorProcess, kind: str
) -> None:
    response = _client(_user(kind)).get(f"/recordings/?{_today(calls)}")
    assert response.status_code == 200
    shown = {r.record_id for r in response.context["page"].recordings}
    plan = response.context.get("plan")  # who answered (the index, or Vono live)
    from_index = kind in ("extensions", "both") or (plan is not None and plan.source == "index")
    assert shown & {calls[n] for n in CALLS} == _listed(calls, kind, from_index=from_index)
    if kind in ("extensions", "both"):
        assert all(
            access.scope_of(response.wsgi_request.user).allows(
                customer_id=r.customer_id, source=r.source, destination=r.destination
            )
            for r in response.context["page"].recordings
        )


@pytest.mark.parametrize("kind", ["extensions", "both"])
def test_an_extension_list_never_asks_the_upstream(
    calls: dict[str, int], sim: SimulatorProcess, kind: str
) -> None:
    client = _client(_user(kind))
    before = _upstream_calls(sim)
    assert client.get(f"/recordings/?{_today(calls)}").status_code == 200
    assert client.get("/recordings/").status_code == 200
    assert _upstream_calls(sim) == before


def test_an_extension_user_naming_another_subscriber_sees_none_of_theirs(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    client = _client(_user("extensions"))
    response = client.get(f"/recordings/?{_today(calls)}&customer_id=7")
    assert {r.record_id for r in response.context["page"].recordings} == {calls["other_subscriber"]}
    both = _client(_user("both"))
    assert both.get(f"/recordings/?{_today(calls)}&customer_id=7").status_code == 404


@pytest.mark.parametrize("kind", SCOPES)
def test_export_holds_exactly_the_scope(
    calls: dict[str, int], sim: SimulatorProcess, kind: str
) -> None:
    client = _client(_user(kind))
    before = _upstream_calls(sim)
    response = client.get(f"/recordings/export.csv?{_today(calls)}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))[1:]
    exported = {int(r[0]) for r in rows}
    event = AuditEvent.objects.get(action="export")
    from_index = kind in ("extensions", "both") or event.details.get("source") == "index"
    assert exported & {calls[n] for n in CALLS} == _listed(calls, kind, from_index=from_index)
    if kind in ("extensions", "both"):
        assert exported == _listed(calls, kind, from_index=True)  # nothing else is theirs
        assert _upstream_calls(sim) == before
    assert event.details["rows"] == len(rows)


# --- one recording: detail, audio, download, peaks ---------------------------------------


@pytest.mark.parametrize("kind", SCOPES)
@pytest.mark.parametrize("suffix", ["", "audio", "download", "peaks.json"])
def test_a_hidden_recording_is_404_everywhere(
    calls: dict[str, int], sim: SimulatorProcess, kind: str, suffix: str
) -> None:
    client = _client(_user(kind))
    for record_id in _hidden(calls, kind):
        before = _upstream_calls(sim)
        assert client.get(f"/recordings/{record_id}/{suffix}").status_code == 404
        if kind in ("extensions", "both"):
            # Decided by the index: the upstream never heard of the request.
            assert _upstream_calls(sim) == before, (record_id, suffix)
    assert sim.stats()["requests"].get("download", 0) == 0


@pytest.mark.parametrize("kind", SCOPES)
def test_a_visible_recording_plays_and_downloads(
    calls: dict[str, int], sim: SimulatorProcess, kind: str
) -> None:
    client = _client(_user(kind))
    record_id = calls["team_in"]
    assert client.get(f"/recordings/{record_id}/").status_code == 200
    audio = client.get(f"/recordings/{record_id}/audio", HTTP_RANGE="bytes=0-99")
    assert audio.status_code == 206
    assert len(b"".join(audio.streaming_content)) == 100  # type: ignore[attr-defined]
    download = client.get(f"/recordings/{record_id}/download")
    assert download.status_code == 200
    b"".join(download.streaming_content)  # type: ignore[attr-defined]


def test_an_unindexed_recording_is_404_for_extensions_even_though_upstream_has_it(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    record_id = calls["unindexed"]  # 7706: within the team's range, but not in the index
    assert _client(_user("subscriber")).get(f"/recordings/{record_id}/").status_code == 200
    before = _upstream_calls(sim)
    assert _client(_user("extensions")).get(f"/recordings/{record_id}/").status_code == 404
    assert _upstream_calls(sim) == before
    assert sync.sync_run().status == "done"  # once indexed, the team sees it
    assert _client(_user("extensions", name="u2")).get(f"/recordings/{record_id}/").status_code == (
        200
    )


def test_neighbours_of_an_extension_user_come_from_the_index(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    client = _client(_user("extensions"))
    listed = client.get(f"/recordings/?{_today(calls)}")
    ids = [r.record_id for r in listed.context["page"].recordings]
    before = _upstream_calls(sim)
    page = client.get(f"/recordings/{ids[0]}/?{_today(calls)}&pos=0")
    assert page.status_code == 200
    assert page.context["around"]["total"] == len(ids) == 3
    # The detail asked the upstream once (the recording itself); its neighbours did not.
    assert _upstream_calls(sim) - before == 1


# --- deletions ---------------------------------------------------------------------------


def test_asking_to_delete_a_hidden_id_is_refused_before_the_upstream(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    team = _user("extensions", role="Supervisores")
    before = _upstream_calls(sim)
    for name in ("neighbour", "unindexed"):
        with pytest.raises(deletions.NotAllowed):
            deletions.deletion_request_create(actor=team, reason="LGPD", ids=[calls[name]])
    assert _upstream_calls(sim) == before
    page = _client(team).get(f"/deletions/new?ids={calls['neighbour']}")
    assert "não é visível" in page.content.decode()
    assert _upstream_calls(sim) == before


def test_a_team_deletion_by_filter_is_its_ids_and_only_covering_approvers_decide(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    team = _user("extensions", role="Supervisores")
    deletion = deletions.deletion_request_create(
        actor=team,
        reason="LGPD: pedido do titular",
        filters=sim_filters(),
    )
    assert deletion.kind == DeletionRequest.Kind.IDS
    assert deletion.extensions == TEAM
    assert set(deletion.filters["ids"]) == _expected(calls, "extensions")
    assert deletion.count == 3

    other_team = make_user("lead_b", "Administradores", extensions="7711-7720")
    subscriber_admin = _user("subscriber", name="admin21")
    team_lead = make_user("lead_a", "Administradores", extensions="7701-7799")
    for outsider in (other_team, subscriber_admin):
        assert not deletions.can_decide(deletion, outsider)
        assert _client(outsider).get(f"/deletions/{deletion.pk}/").status_code == 404
        with pytest.raises(deletions.NotAllowed):
            deletions.deletion_request_approve(
                deletion_id=deletion.pk, actor=outsider, typed_count="3", auth_age_seconds=5.0
            )
    assert deletions.can_decide(deletion, team_lead)
    assert _client(team_lead).get(f"/deletions/{deletion.pk}/").status_code == 200
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=team_lead, typed_count="3", auth_age_seconds=5.0
    )
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == "done"
    gone = {int(k) for k in sim.stats()["deleted"]}
    assert gone == _expected(calls, "extensions")
    # Every step of the request is in the covering lead's audit log, the worker's included.
    steps = {e.action for e in _client(team_lead).get("/audit/").context["page"]}
    assert {"deletion_requested", "deletion_approved", "deletion_finished"} <= steps
    assert not {e.action for e in _client(other_team).get("/audit/").context["page"]} & {
        "deletion_requested",
        "deletion_finished",
    }
    # The team's detail page tells the recording was deleted; a wider user's too.
    assert _client(team).get(f"/recordings/{calls['team_out']}/").status_code == 410
    assert _client(_user("none")).get(f"/recordings/{calls['team_out']}/").status_code == 410


def sim_filters() -> Any:
    from recordings.vono import RecordingFilter

    day = sync.today_local()
    return RecordingFilter(date_ini=day, date_end=day)


def test_a_team_requester_sees_only_their_requests_and_the_unscoped_admin_all(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    team = _user("extensions", role="Supervisores")
    wide = _user("none", role="Supervisores", name="wide")
    mine = deletions.deletion_request_create(actor=team, reason="x", ids=[calls["team_out"]])
    theirs = deletions.deletion_request_create(actor=wide, reason="y", ids=[calls["neighbour"]])
    assert _client(team).get(f"/deletions/{theirs.pk}/").status_code == 404
    admin = _user("none", name="root_admin")
    page = _client(admin).get("/deletions/")
    assert {d.pk for d in page.context["pending"]} == {mine.pk, theirs.pk}


# --- audit -------------------------------------------------------------------------------


def _audit_client_and_events(calls: dict[str, int]) -> tuple[Client, dict[str, User]]:
    team_member = _user("extensions", role="Supervisores", name="member")
    outsider = _user("subscriber", role="Supervisores", name="outsider")
    other_team = make_user("member_b", "Supervisores", extensions="7811")
    for user in (team_member, outsider, other_team):
        _client(user).get(f"/recordings/?{_today(calls)}")
    lead = make_user("lead", "Administradores", extensions="7701-7799")
    return _client(lead), {"member": team_member, "outsider": outsider, "other": other_team}


def test_an_extension_auditor_reads_their_team_only(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    client, _ = _audit_client_and_events(calls)
    page = client.get("/audit/?action=search")
    assert {e.actor_username for e in page.context["page"]} == {"member"}
    csv_body = b"".join(client.get("/audit/export.csv").streaming_content).decode()  # type: ignore[attr-defined]
    assert "member" in csv_body
    assert "outsider" not in csv_body and "member_b" not in csv_body


def test_the_event_keeps_the_set_the_actor_had_then(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    client, people = _audit_client_and_events(calls)
    # member_b moves into the lead's team: their past (as 7811) stays out of the lead's view.
    moved = people["other"]
    moved.extensions = "7709"
    moved.save()
    _client(moved).get(f"/recordings/?{_today(calls)}")
    page = client.get("/audit/?actor=member_b&action=search").context["page"]
    assert [e.details.get("scope_extensions") for e in page] == ["7709"]
    searches = AuditEvent.objects.filter(actor_username="member_b", action="search")
    assert sorted(e.details["scope_extensions"] for e in searches) == ["7709", "7811"]


def test_user_history_for_an_extension_manager(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    from accounts import services as accounts

    manager = make_user("gestor_a", "Gestores de acesso", extensions="7701-7799")
    root = make_user("gestor_root", "Gestores de acesso")
    member = make_user("membro", "Supervisores", extensions="7705")
    stranger = make_user("estranho", "Supervisores", customer_id=21)
    for target in (member, stranger):
        accounts.user_change(
            actor=root,
            target_id=target.pk,
            groups=["Supervisores"],
            customer_id=target.customer_id,
            is_active=True,
            first_name="Nome",
            last_name="",
            email="",
        )
    client = _client(manager)
    page = client.get(f"/access/users/{member.pk}/")
    assert page.status_code == 200
    assert [e.action for e in page.context["history"]] == ["user_changed"]
    assert client.get(f"/access/users/{stranger.pk}/").status_code == 404


def test_the_delete_all_page_counts_the_team_from_the_index(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    """The index picks the team's ids; the upstream is asked, if at all, only about those
    (one look-up each), never to list or count the whole subscriber."""
    client = _client(_user("extensions", role="Supervisores"))
    team = _expected(calls, "extensions")
    before = sim.stats()["requests"].get("list", 0)
    page = client.get(f"/deletions/new?all=1&{_today(calls)}")
    assert page.status_code == 200
    assert page.context["preview"].count == len(team) == 3
    assert sim.stats()["requests"].get("list", 0) - before <= len(team)
    before = sim.stats()["requests"].get("list", 0)
    response = client.post(
        "/deletions/new",
        {"all": "1", "reason": "LGPD", **dict(q.split("=") for q in _today(calls).split("&"))},
    )
    assert response.status_code == 302
    assert sim.stats()["requests"].get("list", 0) - before <= len(team)
    deletion = DeletionRequest.objects.get()
    assert deletion.kind == DeletionRequest.Kind.IDS
    assert set(deletion.filters["ids"]) == team
    asked = deletion.filters.get("search") or deletion.filters.get("resolved_from")
    assert asked["date_ini"] == sync.today_local().isoformat()
    assert sim.stats()["delete_calls"] == []


@pytest.mark.parametrize(
    "times",
    [(None, None), ("00:00:02", "00:00:03"), ("00:00:03", None), ("09:00:00", "18:30:00")],
)
def test_the_index_page_shape_matches_the_upstream_page(
    calls: dict[str, int], sim: SimulatorProcess, times: tuple[str | None, str | None]
) -> None:
    """The same filter, listed by the upstream and by the index (no scope limit): the same
    rows, totals and order, so a team's list reads like everyone else's."""
    import dataclasses
    import datetime as dt

    start, end = (dt.time.fromisoformat(t) if t else None for t in times)
    filters = dataclasses.replace(sim_filters(), time_ini=start, time_end=end)
    live = vono_client().list_window(filters, start=0, count=100)
    indexed = selectors.filtered_page(filters, Scope(), start=0, count=100)
    assert [r.record_id for r in indexed.recordings] == [
        r.record_id for r in live.recordings if r.record_id != calls["unindexed"]
    ]
    unindexed = int(any(r.record_id == calls["unindexed"] for r in live.recordings))
    assert indexed.total_records == live.total_records - unindexed
    if not indexed.recordings:
        return
    assert indexed.recordings[0] == next(
        r for r in live.recordings if r.record_id == indexed.recordings[0].record_id
    )


def vono_client() -> Any:
    from recordings import vono

    return vono.get_client()


# --- retention: subscriber-wide, so no team manages it -----------------------------------


@pytest.mark.parametrize("kind", ["extensions", "both"])
def test_a_team_administrator_has_no_retention_pages(sim: SimulatorProcess, kind: str) -> None:
    from retention import services as retention

    team_admin = _user(kind)
    assert team_admin.has_perm("retention.manage_retention")
    client = _client(team_admin)
    for path in ("/retention/", "/retention/policies/new?days=30", "/retention/holds/new"):
        assert client.get(path).status_code == 403, path
    with pytest.raises(retention.NotAllowed):
        retention.policy_request(actor=team_admin, days=30, customer_id=21, reason="x")
    assert not retention.visible_policies(team_admin).exists()
    assert _client(_user("subscriber", name="sub_admin")).get("/retention/").status_code == 200


def test_a_team_administrator_is_not_offered_the_retention_link(sim: SimulatorProcess) -> None:
    page = _client(_user("extensions")).get("/recordings/?date_ini=&date_end=")
    assert 'href="/retention/"' not in page.content.decode()
    wide = _client(_user("none")).get("/deletions/")
    assert 'href="/retention/"' in wide.content.decode()


def test_an_auditor_of_both_kinds_reads_the_team_of_their_subscriber(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    member_21 = make_user("m21", "Supervisores", customer_id=21, extensions="7705")
    member_any = make_user("many", "Supervisores", extensions="7705")  # every subscriber
    for user in (member_21, member_any):
        _client(user).get(f"/recordings/?{_today(calls)}")
    lead = make_user("lead21", "Administradores", customer_id=21, extensions="7701-7799")
    page = _client(lead).get("/audit/?action=search")
    assert {e.actor_username for e in page.context["page"]} == {"m21"}


# --- QA: its samples, the list's evaluation filter and its reports follow the scope ----


def test_qa_samples_and_the_evaluation_list_keep_to_the_team(
    calls: dict[str, int], sim: SimulatorProcess
) -> None:
    from django.db.models import Q

    from qa import selectors as qa_selectors
    from qa import services as qa_services

    team = access.scope_of(_user("extensions"))
    today = sync.today_local()
    sampled = qa_services.sample_per_extension(
        scope=team, date_ini=today, date_end=today, per_extension=5
    )
    assert {c.record_id for c in sampled} == _listed(calls, "extensions", from_index=True)
    before = _upstream_calls(sim)
    from_filter = qa_services.sample_from_filter(sim_filters(), scope=team)
    assert {c.record_id for c in from_filter} == _listed(calls, "extensions", from_index=True)
    assert _upstream_calls(sim) == before  # a team's sample is the index's, as its list
    page = qa_selectors.index_page(sim_filters(), Q(), scope=team, start=0, count=100)
    assert {r.record_id for r in page.recordings} == _listed(calls, "extensions", from_index=True)
    evaluations = qa_selectors.submitted_in(scope=team, date_ini=None, date_end=None)
    assert "LOWER" in str(evaluations.query).upper()  # the agent's extension is compared


# --- the bulk ZIP ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", SCOPES)
def test_the_zip_of_a_filter_holds_exactly_the_scope(
    calls: dict[str, int], sim: SimulatorProcess, kind: str
) -> None:
    import zipfile

    client = _client(_user(kind))
    before = sim.stats()["requests"].get("list", 0)
    response = client.get(f"/recordings/download.zip?{_today(calls)}")
    assert response.status_code == 200, response.content[:300]
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    zipped = {int(n.rsplit("_", 1)[1].split(".")[0]) for n in names if n.endswith(".mp3")}
    from recordings import listing

    scope = access.scope_of(response.wsgi_request.user)
    plan = listing.plan(listing.ListSearch(filters=sim_filters()), scope)
    from_index = plan.source == listing.Source.INDEX  # as the list decides, so the ZIP
    assert from_index or kind in ("none", "subscriber")
    assert zipped & {calls[n] for n in CALLS} == _listed(calls, kind, from_index=from_index)
    if kind in ("extensions", "both"):
        assert zipped == _listed(calls, kind, from_index=True)
        assert sim.stats()["requests"].get("list", 0) == before  # chosen by the index


@pytest.mark.parametrize("kind", ["extensions", "both"])
def test_a_zip_naming_a_hidden_id_is_404_before_the_upstream(
    calls: dict[str, int], sim: SimulatorProcess, kind: str
) -> None:
    client = _client(_user(kind))
    before = _upstream_calls(sim)
    hidden = sorted(_hidden(calls, kind))[0]
    response = client.post("/recordings/download.zip", {"ids": [calls["team_in"], hidden]})
    assert response.status_code == 404
    assert _upstream_calls(sim) == before
