"""Property-based fuzz: every URL × every method × every role, hostile input, never a 5xx.

The URLs come from the resolver, so a new URL is fuzzed without anyone remembering to; a
URL whose parameters the fuzz cannot fill fails ``test_the_fuzz_reaches_every_url``. The
budget is fixed and the examples derandomised, so CI runs the same requests every time; the
count is reported in bench/README.md ("the fuzz count").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deletions import services as deletions
from retention import services as retention
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

# Two requests each, x every URL x every role: the fuzz count in bench/README.md.
EXAMPLES_PER_ROUTE = 8
METHODS = ("GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS")


# --- every URL the project defines ------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    parts: tuple[str | tuple[str, str], ...]  # text, or (converter type, parameter name)


_CONVERTERS = {"IntConverter": "int"}


def _routes(patterns: list[Any], prefix: tuple[Any, ...] = ()) -> Iterator[Route]:
    for pattern in patterns:
        parts = prefix + _split(pattern)
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's own admin, staff only
            yield from _routes(pattern.url_patterns, parts)
        elif isinstance(pattern, URLPattern):
            yield Route(str(pattern.name), parts)


def _split(pattern: URLPattern | URLResolver) -> tuple[Any, ...]:
    """A route's text and its parameters, e.g. ``<int:pk>/approve`` -> ((int, pk), "/approve")."""
    route = str(pattern.pattern)
    converters = getattr(pattern.pattern, "converters", {})
    parts: list[Any] = []
    while "<" in route:
        before, _, rest = route.partition("<")
        spec, _, route = rest.partition(">")
        _kind, _, name = spec.rpartition(":")
        converter = type(converters[name]).__name__
        parts += [before, (_CONVERTERS.get(converter, converter), name)]
    parts.append(route)
    return tuple(p for p in parts if p != "")


ROUTES = sorted(_routes(get_resolver().url_patterns), key=lambda r: r.name)


def test_the_fuzz_reaches_every_url() -> None:
    from tests.test_permissions import MATRIX

    assert {r.name for r in ROUTES} == set(MATRIX), "every URL is fuzzed (and in the matrix)"
    for route in ROUTES:
        for part in route.parts:
            if isinstance(part, tuple):
                assert part[0] == "int", f"{route.name}: the fuzz cannot fill a {part[0]} yet"


# --- hostile values -----------------------------------------------------------------------------

LONG_DIGITS = "9" * 5000
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "-99999999999999999999",
    "²",
    "③",
    "٣",
    "１",
    "1e9",
    "1.5",
    "NaN",
    "inf",
    LONG_DIGITS,
    "9" * 4301,
    str(2**63),
    str(2**64 + 1),
    "\x00",
    "1\x00",
    "%00",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-02-30",
    "2026-11-27T25:61:61",
    "23:59:60",
    "24:00",
    "99:99",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "{{ settings.SECRET_KEY }}",
    "../../etc/passwd",
    "\ud800",
    "\u202e\u0000",
    "x" * 10_000,
    "last",
    "all",
    "1",
    "[1,2]",
]
PARAMS = [
    "per_page",
    "page",
    "date_ini",
    "date_end",
    "time_ini",
    "time_end",
    "id_record",
    "customer_id",
    "number",
    "extension",
    "duration_min",
    "duration_max",
    "sort",
    "ids",
    "pos",
    "all",
    "record_id",
    "actor",
    "action",
    "reason",
    "typed_count",
    "password",
    "username",
    "next",
    "language",
    "csrfmiddlewaretoken",
    # QA: notes, evaluations, forms, queues, reports
    "at",
    "text",
    "tag",
    "delete",
    "evaluation",
    "queue",
    "form",
    "name",
    "definition",
    "comment",
    "mode",
    "per_extension",
    "period_ini",
    "period_end",
    "reviewers",
    "score_min",
    "score_max",
    "t",
    "number",
    "extension",
    "chart",
]
# Range numbers int() cannot read (issue 9: a 500 in the old Range parser); a test of their own
# below as well.
UNREADABLE_RANGES = [f"bytes={LONG_DIGITS}-", f"bytes=0-{LONG_DIGITS}", f"bytes=-{LONG_DIGITS}"]
RANGES = [
    *UNREADABLE_RANGES,
    "bytes=0-",
    "bytes=0-0",
    "bytes=-1",
    "bytes=²-",
    "bytes=5-1",
    "bytes=0-1,2-3",
    "bytes=",
    "bits=0-1",
    "bytes=-0",
    "bytes=99999999999-",
]

values = st.one_of(
    st.sampled_from(HOSTILE),  # the known-hostile values, most of the time
    st.sampled_from(HOSTILE),
    st.sampled_from(HOSTILE),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.dates().map(lambda d: d.isoformat()),
)
pairs = st.lists(st.tuples(st.sampled_from(PARAMS), values), min_size=1, max_size=8)
HEADERS = {
    "Range": RANGES,
    "If-Range": ['"x"', "Wed, 21 Oct 2015 07:28:00 GMT", "\x00", ""],
    "HX-Request": ["true", "false", "\x00"],
    "X-Request-ID": HOSTILE,
    "User-Agent": HOSTILE,
    "Accept-Language": ["en", "pt-br", "xx", "*;q=²", "\x00", LONG_DIGITS],
    "X-Forwarded-For": ["1.2.3.4", "::1, 10.0.0.1", "\x00", "x" * 500],
}
headers = st.dictionaries(
    st.sampled_from(sorted(HEADERS)), st.just(""), min_size=1, max_size=4
).flatmap(
    lambda names: st.fixed_dictionaries({name: st.sampled_from(HEADERS[name]) for name in names})
)


@st.composite
def requests(draw: st.DrawFn, route: Route, ints: list[int]) -> dict[str, Any]:
    path = ""
    for part in route.parts:
        if isinstance(part, str):
            path += part
        else:
            number = draw(
                st.sampled_from(ints)  # mostly ids that exist, so the views go deep
                | st.sampled_from(ints)
                | st.sampled_from(ints)
                | st.integers(min_value=0, max_value=2**70)
                | st.just(LONG_DIGITS)
            )
            path += str(number)
    drawn_headers = draw(headers)
    if any(part in ("audio", "download") for part in path.split("/")):
        drawn_headers["Range"] = draw(st.sampled_from(RANGES))  # always, where it is read
    return {
        "path": "/" + path.lstrip("/"),
        "method": draw(st.sampled_from(("POST", "POST", *METHODS))),  # sent after a GET
        "query": draw(pairs),
        "body": draw(pairs),
        "headers": drawn_headers,
    }


# --- the property -------------------------------------------------------------------------------


def _roles() -> list[str]:
    """Anonymous, no role, a subscriber-scoped supervisor, and every group the migrations made
    (a role added later, such as access managers, is fuzzed without editing this file)."""
    return ["anonymous", "nobody", "scoped", *sorted(Group.objects.values_list("name", flat=True))]


def _send(client: Client, request: dict[str, Any]) -> Any:
    from urllib.parse import urlencode

    query = urlencode(request["query"], errors="surrogatepass")
    method = request["method"].lower()
    # A WSGI server hands headers over as latin-1 text: UTF-8 bytes, never a lone surrogate.
    headers = {
        name: value.encode("utf-8", "surrogatepass").decode("latin-1")
        for name, value in request["headers"].items()
    }
    extra = {"headers": headers, "QUERY_STRING": query}
    if method in ("post", "put", "patch", "delete"):
        return getattr(client, method)(
            request["path"],
            data=urlencode(request["body"], errors="surrogatepass"),
            content_type="application/x-www-form-urlencoded",
            **extra,
        )
    return getattr(client, method)(request["path"], **extra)


def _drain(response: Any) -> bytes:
    """The whole body, streams included: a failure half-way through a stream counts too.

    (Stopping early is no option: closing a test client's stream by hand fires
    request_finished while Django's handler expects it disconnected, which closes the
    test's database connection.)"""
    if not getattr(response, "streaming", False):
        return bytes(response.content)
    return b"".join(response.streaming_content)


def _qa_rows(record_id: int) -> tuple[int, int, int]:
    """A published evaluation form, a note and a submitted evaluation on ``record_id``, so the
    QA views go deep (their ids are among the fuzzed ints)."""
    from qa import services as qa
    from recordings import vono

    coordinator = make_user("fuzz-coordinator", "Coordenadores de QA")
    form = qa.form_create(
        request=None, actor=coordinator, name="Fuzz", definition="A | 1 | sim/não\nB | 2 | 0-10"
    )
    qa.form_publish(request=None, actor=coordinator, form=form)
    recording = vono.get_client().get_recording(record_id)
    evaluation = qa.evaluation_start(actor=coordinator, recording=recording, form=form)
    criteria = qa.criteria_of(evaluation.version)
    qa.evaluation_save(
        request=None,
        actor=coordinator,
        evaluation=evaluation,
        answers={criteria[0].pk: "yes", criteria[1].pk: "7"},
        submit=True,
    )
    qa.queue_create(
        request=None,
        actor=coordinator,
        name="Fuzz",
        form=form,
        calls=[qa.SampledCall(record_id, recording.customer_id, "x", recording.calldate)],
        reviewers=[coordinator],
        how={},
    )
    from qa.models import Note

    note = Note.objects.create(
        record_id=record_id,
        customer_id=recording.customer_id,
        author=coordinator,
        at_ms=0,
        text="fuzz",
        created_at=evaluation.created_at,
        updated_at=evaluation.created_at,
    )
    return form.pk, note.pk, evaluation.pk


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("role_index", range(9))
def test_no_input_makes_a_5xx_or_a_traceback(
    sim: SimulatorProcess, db: None, role_index: int
) -> None:
    roles = _roles()
    if role_index >= len(roles):
        pytest.skip(f"only {len(roles)} roles exist")
    role = roles[role_index]
    user = None
    if role == "scoped":
        user = make_user("fuzz-scoped", "Supervisores", customer_id=12)
    elif role != "anonymous":
        user = make_user("fuzz-user", None if role == "nobody" else role)
    own = sim.list("limit=1", path="/12")["data"][0]["record_id"]
    other = sim.list("limit=1", path="/3")["data"][0]["record_id"]
    asker = make_user("fuzz-asker", "Supervisores")
    deletion = deletions.deletion_request_create(actor=asker, reason="fuzz", ids=[other])
    keeper = make_user("fuzz-keeper", "Administradores")
    policy = retention.policy_request(actor=keeper, days=30, customer_id=12, reason="fuzz")
    hold = retention.hold_place(
        actor=keeper, terms=retention.HoldTerms(record_ids=(other,)), reason="fuzz"
    )
    qa_form, note, evaluation = _qa_rows(own)
    ints = [own, other, deletion.pk, policy.pk, hold.pk, 0, 1, qa_form, note, evaluation]
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    signed_in = SimpleCookie(client.cookies.output(header="", sep=";"))
    state = {"signed_out": False}
    sent = {"requests": 0}

    def fuzz(route: Route) -> None:
        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def one_request(data: st.DataObject) -> None:
            request = data.draw(requests(route, ints))
            # One client (building Django's middleware chain costs ~0.4 s), its cookies put
            # back before each request, and a new sign-in after anything that may sign out.
            client.cookies = SimpleCookie(signed_in.output(header="", sep=";"))
            if user is not None and state["signed_out"]:
                client.force_login(user)
                signed_in.load(client.cookies.output(header="", sep=";"))
                state["signed_out"] = False
            for method in ("GET", request["method"]):  # the same input, read and written
                response = _send(client, {**request, "method": method})
                body = _drain(response)
                sent["requests"] += 1
                described = f"{method} {request['path']} as {role}"
                assert response.status_code < 500, f"{described}: HTTP {response.status_code}"
                assert b"Traceback" not in body, f"{described}: a traceback in the page"
                assert not errors.records, f"{described}: {errors.records[0].getMessage()}"
            state["signed_out"] = request["path"].startswith(("/accounts/", "/i18n/"))

        one_request()

    try:
        for route in ROUTES:  # every URL gets its share of each role's budget
            fuzz(route)
    finally:
        logging.getLogger().removeHandler(errors)
    assert sent["requests"] >= 2 * EXAMPLES_PER_ROUTE * len(ROUTES), "the whole budget ran"


@pytest.mark.parametrize("suffix", ["audio", "download"])
def test_a_range_int_cannot_read_is_no_5xx(
    supervisor_client: Client, sim: SimulatorProcess, suffix: str
) -> None:
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    for value in UNREADABLE_RANGES:
        response = supervisor_client.get(
            f"/recordings/{record_id}/{suffix}", headers={"Range": value}
        )
        _drain(response)
        assert response.status_code < 500, f"Range {value[:20]}…: HTTP {response.status_code}"
