"""The recordings list searching the index: number, extension, durations, order, the index's
age, what the page says when the index does not hold the window, CSV and deletions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from deletions import services as deletions
from deletions.models import DeletionItem, DeletionRequest
from index import numbers, selectors, sync
from index.models import DayCoverage, SyncState
from recordings import forms
from recordings.scope import Scope
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

pytestmark = pytest.mark.django_db

DAYS = 8  # the index's window: the list's default seven days, and one more


@pytest.fixture(autouse=True)
def _small_index_window(settings: Any) -> None:
    settings.INDEX_DAYS = DAYS
    settings.INDEX_RECENT_DAYS = 1
    settings.INDEX_MAX_RPS = 1000


@pytest.fixture
def indexed(sim: SimulatorProcess) -> SimulatorProcess:
    """The simulator with the index's window synced completely, just now."""
    assert sync.sync_run().status == "done"
    return sim


def _list_calls(sim: SimulatorProcess) -> int:
    return int(sim.stats()["requests"].get("list", 0))


def _ids(response: Any) -> list[int]:
    return [r.record_id for r in response.context["page"].recordings]


def _window() -> str:
    """The list's default window: the last seven days."""
    today = timezone.localdate()
    return f"date_ini={today - dt.timedelta(days=6)}&date_end={today}"


def _upstream(sim: SimulatorProcess, query: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        data = sim.list(f"{query}&limit=500&start={len(rows)}")
        rows += data["data"]
        if not data["data"] or len(rows) >= data["total_records"]:
            return rows


def _a_mobile_call(sim: SimulatorProcess) -> dict[str, Any]:
    """A call in the window with a Brazilian mobile number (55 + DDD + 9 digits)."""
    for row in _upstream(sim, _window()):
        for number in (row["source"], row["destination"]):
            if len(number) == 13 and number.startswith("55") and number[4] == "9":
                return {**row, "mobile": number}
    raise AssertionError("the demo data has no mobile numbers")


def _matches(row: dict[str, Any] | Any, fragment: str) -> bool:
    """Whether the upstream's row (a dict) or a listed recording has ``fragment`` in one of
    its numbers, as the index compares them."""
    values = [row[n] if isinstance(row, dict) else getattr(row, n) for n in _NUMBERS]
    return any(fragment in numbers.normalise(str(v)) for v in values)


_NUMBERS = ("source", "destination", "clid")


# --- the index answers, and says how old it is -----------------------------------------------


def test_an_indexed_window_is_answered_by_the_index_with_its_age(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    before = _list_calls(indexed)
    response = supervisor_client.get("/recordings/")
    assert response.status_code == 200
    assert response.context["plan"].source == "index"
    assert _list_calls(indexed) == before, "not one call to Vono"
    expected = _upstream(indexed, _window())
    page = response.context["page"]
    assert page.total_records == len(expected)
    assert page.total_time == sum(r["duration"] for r in expected)
    assert _ids(response) == [r["record_id"] for r in expected[:25]], "the upstream's order"
    html = response.content.decode()
    assert "índice atualizado há menos de 1 min" in html
    assert "Consulta ao índice de gravações" in html


def test_the_badge_counts_minutes_since_the_last_complete_sync(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    SyncState.objects.update(fresh_as_of=timezone.now() - dt.timedelta(minutes=4, seconds=10))
    html = supervisor_client.get("/recordings/").content.decode()
    assert 'data-index-age="4"' in html
    assert "índice atualizado há 4 min" in html
    assert 'data-coverage="' not in html, "fresh and complete: nothing to warn about"


# --- number ------------------------------------------------------------------------------------


def _typed_forms(mobile: str) -> list[str]:
    national = mobile[2:]  # 41985977963
    ddd, rest = national[:2], national[2:]
    return [
        f"({ddd}) {rest[:5]}-{rest[5:]}",  # (41) 98597-7963
        f"+55 {ddd} {rest[:5]}-{rest[5:]}",
        national,
        mobile,
        f"0{ddd} {rest}",
        f"({ddd}) {rest[:5]}-{rest[5:7]}",  # typed halfway: (41) 98597-79
        f"{rest[5:]}",  # the last four digits
        f"{rest[:5]}-{rest[5:]}",  # without the area code
    ]


def test_a_number_typed_any_way_finds_the_call(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    call = _a_mobile_call(indexed)
    for typed in _typed_forms(call["mobile"]):
        response = supervisor_client.get("/recordings/", {"number": typed, "per_page": "100"})
        assert response.status_code == 200, typed
        found = response.context["page"].recordings
        assert call["record_id"] in [r.record_id for r in found], typed
        wanted = numbers.normalise_query(typed)
        assert all(_matches(r, wanted) for r in found), typed
        # The count is the index's, and agrees with the upstream's rows searched by hand.
        expected = [r for r in _upstream(indexed, _window()) if _matches(r, wanted)]
        assert response.context["page"].total_records == len(expected), typed


def test_number_is_kept_in_the_url_of_every_link(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    call = _a_mobile_call(indexed)
    typed = call["mobile"][4:9]
    response = supervisor_client.get("/recordings/", {"number": typed, "per_page": "25"})
    html = response.content.decode()
    assert f"number={typed}" in response.context["filter_query"]
    assert f'value="{typed}"' in html, "the field shows what was typed"
    assert f"recordings/export.csv?{response.context['filter_query']}".replace("&", "&amp;") in html


def test_a_number_too_long_is_a_400_naming_it(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    response = supervisor_client.get("/recordings/", {"number": "9" * 81})
    assert response.status_code == 400
    assert "number" in response.context["form"].errors
    assert 'id="id_number_error"' in response.content.decode()


# --- extension ------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [("4101", "4101"), ("9001", "sup9001")])
def test_extension_is_the_calls_source_or_destination(
    supervisor_client: Client, indexed: SimulatorProcess, typed: str, stored: str
) -> None:
    response = supervisor_client.get("/recordings/", {"extension": typed, "per_page": "100"})
    assert response.status_code == 200
    found = response.context["page"].recordings
    assert found, f"the demo data has calls of extension {stored}"
    assert all(stored in (r.source, r.destination) for r in found)
    expected = [
        r for r in _upstream(indexed, _window()) if stored in (r["source"], r["destination"])
    ]
    assert response.context["page"].total_records == len(expected)


def test_an_extension_does_not_match_inside_a_longer_number(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    call = _a_mobile_call(indexed)
    response = supervisor_client.get("/recordings/", {"extension": call["mobile"][-4:]})
    assert call["record_id"] not in _ids(response)


def test_an_extension_without_digits_is_a_400(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    response = supervisor_client.get("/recordings/", {"extension": "ramal"})
    assert response.status_code == 400
    assert "extension" in response.context["form"].errors


# --- durations ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "seconds"),
    [("60", "150", (60, 150)), ("1:00", "2:30", (60, 150)), ("0:01:00", "", (60, None))],
)
def test_duration_bounds_in_seconds_or_minutes(
    supervisor_client: Client,
    indexed: SimulatorProcess,
    low: str,
    high: str,
    seconds: tuple[int, int | None],
) -> None:
    response = supervisor_client.get(
        "/recordings/", {"duration_min": low, "duration_max": high, "per_page": "100"}
    )
    assert response.status_code == 200
    found = response.context["page"].recordings
    assert found
    lowest, highest = seconds
    assert all(r.duration >= lowest for r in found)
    if highest is not None:
        assert all(r.duration <= highest for r in found)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"duration_min": "abc"}, "duration_min"),
        ({"duration_min": "1:75"}, "duration_min"),
        ({"duration_max": "1:2:3:4"}, "duration_max"),
        ({"duration_max": "-5"}, "duration_max"),
        ({"duration_max": "²"}, "duration_max"),
        ({"duration_min": "9" * 5000}, "duration_min"),
        ({"duration_min": "5:00", "duration_max": "1:00"}, "duration_max"),
    ],
)
def test_an_unreadable_duration_is_a_400_naming_the_field(
    supervisor_client: Client, sim: SimulatorProcess, query: dict[str, str], field: str
) -> None:
    response = supervisor_client.get("/recordings/", query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert _list_calls(sim) == 0


def test_parse_duration() -> None:
    assert forms.parse_duration("90") == 90
    assert forms.parse_duration(" 1:30 ") == 90
    assert forms.parse_duration("1:02:03") == 3723
    assert forms.parse_duration("0:5") is None
    assert forms.parse_duration("1:60") is None
    assert forms.parse_duration("") is None


# --- order --------------------------------------------------------------------------------------


def test_the_sort_choices_are_the_index_sorts() -> None:
    assert {value for value, _ in forms.SORT_CHOICES} == set(selectors.SORTS)


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_every_sort(supervisor_client: Client, indexed: SimulatorProcess, sort: str) -> None:
    response = supervisor_client.get("/recordings/", {"sort": sort, "per_page": "100"})
    assert response.status_code == 200
    found = response.context["page"].recordings
    key = sort.lstrip("-")
    values = [getattr(r, key) for r in found]
    assert values == sorted(values, reverse=sort.startswith("-"))
    html = response.content.decode()
    state = "descending" if sort.startswith("-") else "ascending"
    header = re.search(rf'<th[^>]*aria-sort="{state}"[^>]*><a[^>]*data-sort="(\w+)"', html)
    assert header is not None and header.group(1) == key
    assert html.count('aria-sort="none"') == 2


def test_sort_headers_are_real_links_that_keep_the_filters(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    response = supervisor_client.get("/recordings/", {"number": "9", "per_page": "50"})
    links = response.context["sort_links"]
    assert links["calldate"]["state"] == "descending"
    assert "sort=calldate" in links["calldate"]["href"]  # a second click: oldest first
    assert "sort=-duration" in links["duration"]["href"]  # longest first
    for link in links.values():
        assert "number=9" in link["href"] and "per_page=50" in link["href"]
        assert "page=" not in link["href"].replace("per_page=", "")
    html = response.content.decode()
    href = links["duration"]["href"].replace("&", "&amp;")
    assert f'href="{href}" hx-get="{href}"' in html
    # Through htmx, the same link answers with the browser partial only.
    partial = supervisor_client.get(
        "/recordings/?" + links["duration"]["href"][1:], headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200
    assert "<html" not in partial.content.decode()
    assert 'aria-sort="descending"' in partial.content.decode()


def test_an_unknown_sort_is_a_400_naming_it(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    response = supervisor_client.get("/recordings/", {"sort": "record_id; DROP TABLE"})
    assert response.status_code == 400
    assert "sort" in response.context["form"].errors
    assert 'id="id_sort_error"' in response.content.decode()


# --- a window the index does not hold -----------------------------------------------------------


def _beyond_the_index() -> dict[str, str]:
    today = timezone.localdate()
    return {"date_ini": str(today - dt.timedelta(days=20)), "date_end": str(today)}


def test_a_date_only_search_past_the_index_is_listed_live_and_says_so(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    window = _beyond_the_index()
    response = supervisor_client.get("/recordings/", window)
    assert response.context["plan"].source == "live"
    raw = indexed.list(f"date_ini={window['date_ini']}&date_end={window['date_end']}&limit=25")
    assert _ids(response) == [r["record_id"] for r in raw["data"]]
    assert response.context["page"].total_records == raw["total_records"]
    html = response.content.decode()
    assert 'data-coverage="live"' in html
    assert "ainda não cobre todo este período (8 de 21 dias)" in html
    assert "esta lista vem direto do Vono" in html
    assert "índice atualizado" not in html


def test_before_any_sync_the_list_is_live(supervisor_client: Client, sim: SimulatorProcess) -> None:
    response = supervisor_client.get("/recordings/")
    assert response.context["plan"].source == "live"
    assert "(0 de 7 dias)" in response.content.decode()


def test_a_number_search_past_the_index_covers_only_indexed_days_and_says_so(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    query = {**_beyond_the_index(), "number": "9"}
    response = supervisor_client.get("/recordings/", query)
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.source == "index" and plan.partial
    html = response.content.decode()
    assert 'data-coverage="partial"' in html
    assert "Resposta parcial" in html
    assert "cobre só os dias já indexados (8 de 21)" in html
    # It offers the live listing of the same dates, without what Vono cannot do.
    live = response.context["live_query"]
    assert "number" not in live and f"date_ini={query['date_ini']}" in live
    assert supervisor_client.get(f"/recordings/?{live}").context["plan"].source == "live"


def test_a_number_search_with_no_start_date_says_it_covers_only_indexed_days(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    response = supervisor_client.get("/recordings/", {"number": "9", "date_ini": ""})
    assert response.context["plan"].partial
    assert "Sem data inicial" in response.content.decode()


def test_a_day_the_sync_could_not_read_makes_the_window_partial(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    day = timezone.localdate() - dt.timedelta(days=2)
    DayCoverage.objects.filter(day=day).update(status=DayCoverage.Status.ERROR)
    assert supervisor_client.get("/recordings/").context["plan"].source == "live"
    response = supervisor_client.get("/recordings/", {"number": "9"})
    assert response.context["plan"].partial
    assert "(6 de 7)" in response.content.decode()


def test_a_stale_index_is_named_and_date_only_searches_go_live(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    old = timezone.now() - dt.timedelta(minutes=47)
    SyncState.objects.update(fresh_as_of=old)
    response = supervisor_client.get("/recordings/")
    assert response.context["plan"].source == "live"
    assert "desatualizado (última sincronização completa há 47 minutos)" in (
        response.content.decode()
    )
    response = supervisor_client.get("/recordings/", {"number": "9"})
    assert response.context["plan"].source == "index"
    html = response.content.decode()
    assert 'data-coverage="stale"' in html and "há 47 minutos" in html
    assert 'class="age old"' in html


# --- combined with the upstream's filters, and scope --------------------------------------------


def test_number_combines_with_time_and_subscriber(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    today = timezone.localdate()
    day = today - dt.timedelta(days=3)
    query = {
        "date_ini": str(day),
        "time_ini": "10:00",
        "date_end": str(today),
        "time_end": "12:30:00",
        "customer_id": "21",
        "number": "9",
        "per_page": "100",
    }
    response = supervisor_client.get("/recordings/", query)
    assert response.context["plan"].source == "index"
    raw = _upstream(indexed, f"date_ini={day}&time_ini=10:00:00&date_end={today}&time_end=12:30:00")
    expected = [r["record_id"] for r in raw if r["customer_id"] == 21 and _matches(r, "9")]
    assert _ids(response) == expected[:100]
    assert response.context["page"].total_records == len(expected)


def test_id_record_combines_with_the_index(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    call = _a_mobile_call(indexed)
    query = {"id_record": call["record_id"], "number": call["mobile"][-4:]}
    assert _ids(supervisor_client.get("/recordings/", query)) == [call["record_id"]]
    query["number"] = "00000000"
    assert _ids(supervisor_client.get("/recordings/", query)) == []


def test_a_scoped_user_finds_only_their_subscribers_calls(
    client: Client, indexed: SimulatorProcess
) -> None:
    client.force_login(make_user("sub7", "Supervisores", customer_id=7))
    response = client.get("/recordings/", {"number": "9", "per_page": "100"})
    found = response.context["page"].recordings
    assert found and all(r.customer_id == 7 for r in found)
    # Naming another subscriber is a 404 before anything is read.
    assert client.get("/recordings/", {"number": "9", "customer_id": "3"}).status_code == 404


def test_the_search_is_audited_with_its_source(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    from audit.models import AuditEvent

    supervisor_client.get("/recordings/", {"number": "(41) 9", "duration_min": "1:00"})
    event = AuditEvent.objects.filter(action="search").latest("seq")
    assert event.details["number"] == "(41) 9"
    assert event.details["duration_min"] == 60
    assert event.details["source"] == "index"


def test_the_player_page_steps_through_the_search(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    query = {"sort": "-duration", "number": "9", "per_page": "25"}
    listed = _ids(supervisor_client.get("/recordings/", query))
    response = supervisor_client.get(f"/recordings/{listed[1]}/", {**query, "pos": "1"})
    around = response.context["around"]
    assert f"/recordings/{listed[0]}/" in around["previous"]
    assert f"/recordings/{listed[2]}/" in around["next"]
    assert "sort=-duration" in around["next"]


# --- CSV ---------------------------------------------------------------------------------------


def _csv_ids(response: Any) -> list[int]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return [int(row[0]) for row in list(csv.reader(io.StringIO(body), delimiter=";"))[1:]]


def test_csv_has_the_same_rows_as_the_page(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    query = {"number": "9", "duration_min": "30", "sort": "size", "per_page": "500"}
    page = supervisor_client.get("/recordings/", query)
    before = _list_calls(indexed)
    response = supervisor_client.get(f"/recordings/export.csv?{page.context['filter_query']}")
    assert response.status_code == 200
    assert _csv_ids(response) == _ids(page)
    assert len(_ids(page)) == page.context["page"].total_records > 25
    assert _list_calls(indexed) == before, "the index's answer: no upstream call"
    disposition = response["Content-Disposition"]
    assert "_numero9_" in disposition and "_30-s.csv" in disposition


def test_csv_of_a_partial_window_says_so_in_the_audit(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    from audit.models import AuditEvent

    query = {**_beyond_the_index(), "extension": "4101"}
    page = supervisor_client.get("/recordings/", {**query, "per_page": "500"})
    response = supervisor_client.get("/recordings/export.csv", query)
    assert _csv_ids(response) == _ids(page)
    event = AuditEvent.objects.filter(action="export").latest("seq")
    assert event.details["partial"] is True and event.details["extension"] == "4101"


def test_csv_of_an_unindexed_date_window_is_listed_live(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    window = _beyond_the_index()
    response = supervisor_client.get("/recordings/export.csv", window)
    expected = _upstream(indexed, f"date_ini={window['date_ini']}&date_end={window['date_end']}")
    assert _csv_ids(response) == [r["record_id"] for r in expected]


def test_csv_refuses_an_unreadable_duration(
    supervisor_client: Client, sim: SimulatorProcess
) -> None:
    assert supervisor_client.get("/recordings/export.csv", {"duration_max": "x"}).status_code == 400


# --- "delete all N of this filter" with a number ------------------------------------------------


@pytest.fixture
def approvers(db: None) -> dict[str, Any]:
    return {"admin": make_user("adao", "Administradores")}


def test_deleting_by_number_is_resolved_to_ids_shown_before_asking(
    supervisor_client: Client, supervisor: Any, indexed: SimulatorProcess, approvers: Any
) -> None:
    call = _a_mobile_call(indexed)
    typed = call["mobile"][4:7]  # a fragment common enough to match several calls
    page = supervisor_client.get("/recordings/", {"number": typed, "per_page": "500"})
    listed = _ids(page)
    html = page.content.decode()
    assert "/deletions/new?" in html and "all=1" in html

    query = {"number": typed, "all": "1"}
    before = _list_calls(indexed)
    preview = supervisor_client.get("/deletions/new", query)
    assert preview.status_code == 200
    # The ids are checked on Vono by the index's windows of time, not one call per id.
    assert _list_calls(indexed) - before <= max(2, len(listed) // 2), len(listed)
    assert preview.context["preview"].count == len(listed)
    assert 'data-resolved="ids"' in preview.content.decode()
    assert indexed.stats()["delete_calls"] == []

    response = supervisor_client.post("/deletions/new", {**query, "reason": "LGPD: titular"})
    assert response.status_code == 302
    deletion = DeletionRequest.objects.get()
    assert deletion.kind == DeletionRequest.Kind.IDS
    assert deletion.filters["ids"] == sorted(listed)
    assert deletion.filters["search"]["number"] == typed
    assert deletion.count == len(listed)
    detail = supervisor_client.get(f"/deletions/{deletion.pk}/").content.decode()
    assert re.search(rf"data-search>número <strong>{typed}</strong>", detail)

    # Approval checks the ids against the upstream, then deletes exactly those.
    deletions.deletion_request_approve(
        deletion_id=deletion.pk,
        actor=approvers["admin"],
        typed_count=str(deletion.count),
        auth_age_seconds=5.0,
    )
    deletion.refresh_from_db()
    assert deletion.status in (
        DeletionRequest.Status.APPROVED,
        DeletionRequest.Status.RUNNING,
        DeletionRequest.Status.DONE,
    )
    assert sorted(DeletionItem.objects.values_list("record_id", flat=True)) == sorted(listed)


def test_a_resolved_request_goes_stale_when_an_id_vanished_upstream(
    supervisor: Any, indexed: SimulatorProcess, approvers: Any
) -> None:
    call = _a_mobile_call(indexed)
    search = forms.RecordingFilterForm(_query({"number": call["mobile"][2:]}), scope=Scope())
    assert search.is_valid()
    deletion = deletions.deletion_request_create(
        actor=supervisor, reason="LGPD", search=search.search()
    )
    status, _, _ = indexed.get(f"type=id&ids[]={call['record_id']}", method="DELETE")
    assert status == 200
    with pytest.raises(deletions.CountChanged):
        deletions.deletion_request_approve(
            deletion_id=deletion.pk,
            actor=approvers["admin"],
            typed_count=str(deletion.count),
            auth_age_seconds=5.0,
        )
    deletion.refresh_from_db()
    assert deletion.status == DeletionRequest.Status.STALE


def test_deleting_by_number_over_a_partial_window_is_refused(
    supervisor_client: Client, indexed: SimulatorProcess
) -> None:
    query = {**_beyond_the_index(), "number": "9", "all": "1"}
    response = supervisor_client.get("/deletions/new", query)
    assert "preview" not in response.context
    assert "ainda não cobre todo este período" in response.context["refusal"]
    response = supervisor_client.post("/deletions/new", {**query, "reason": "x"})
    assert DeletionRequest.objects.count() == 0


def _query(data: dict[str, str]) -> Any:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    query.update(data)
    return query


def test_a_scope_the_upstream_cannot_apply_is_never_listed_live(sim: SimulatorProcess) -> None:
    """A team's extension set (issue 11's scope by extension): Vono cannot filter by it, so
    even a date-only search over a window not indexed is the index's, said to be partial."""
    from recordings import listing
    from recordings.scope import parse_extensions

    form = forms.RecordingFilterForm(_query({}), scope=Scope())
    assert form.is_valid()
    search = form.search()
    assert listing.plan(search, Scope()).source == "live"  # nothing indexed yet
    team = Scope(None, parse_extensions("4101-4120"))
    plan = listing.plan(search, team)
    assert plan.source == "index" and plan.partial
    assert listing.needs_index(search, team) and not listing.needs_index(search, Scope(21))
