"""More than one instance (issue 9 §6): two gunicorn instances and two workers on one
PostgreSQL and one Redis, as a horizontally scaled deployment runs them.

Every process is a real one on a real socket, configured by environment only: the shared state
(sign-in throttle, deletion claims, the audit chain's head, sessions) must live in PostgreSQL
and Redis, never in a process. The stack gets its own database, migrated as in production, so
nothing it writes meets the rest of the suite; it is started once for the module.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from tests import environment, livestack
from tests.simulator import SimulatorProcess

pytestmark = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="several instances share one PostgreSQL: set DATABASE_URL=postgres://… (CI does)",
)

REQUESTS = 50  # deletion requests, each of IDS_PER_REQUEST recordings
IDS_PER_REQUEST = 2
BAD_PASSWORD = "not-the-password-7Qx"
PASSWORD = "the-real-password-4Kd"


@dataclass
class Stack:
    env: dict[str, str]
    instances: list[livestack.Server]
    workers: list[livestack.Server]
    database_url: str
    logs: Path

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the stack's database directly (the test's own connection, autocommit)."""
        import psycopg

        with psycopg.connect(_libpq(self.database_url), autocommit=True) as connection:
            cursor = connection.execute(query, params or None)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def shell(self, script: str) -> str:
        return livestack.manage(self.env, "shell", "--no-imports", "-c", script)

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.logs.glob("*.log"))
        )


def _libpq(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql"))


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
def stack(
    _simulator_process: SimulatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    import psycopg

    suite_url = os.environ["DATABASE_URL"]
    cache_url = os.environ.get("CACHE_URL", "")
    if not cache_url.startswith(("redis://", "rediss://")):
        pytest.fail("several instances share one Redis: set CACHE_URL=redis://… with DATABASE_URL")
    name = f"test_{urlsplit(suite_url).path.lstrip('/') or 'vonoportal'}_instances"
    admin_url = _with_database(suite_url, "postgres")
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    logs = tmp_path_factory.mktemp("instances")
    env = livestack.portal_env(
        _with_database(suite_url, name),
        cache_url,
        f"http://127.0.0.1:{_simulator_process.port}/api",
        environment.TOKEN,
        environment.KEY,
    )
    env.update(
        {
            # Shared by every instance, as the settings ask of a deployment (a volume).
            "AUDIT_CHECKPOINT_DIR": str(logs / "checkpoints"),
            "AUDIO_CACHE_DIR": str(logs / "audio-cache"),
            "LOG_LEVEL": "WARNING",
            "LOG_LEVEL_URLLIB3": "WARNING",
        }
    )
    livestack.manage(env, "migrate", "--noinput", "-v0")
    instances = [
        livestack.gunicorn(env, workers=2, threads=6, log=logs / f"instance-{n}.log") for n in "ab"
    ]
    workers = [livestack.db_worker(env, log=logs / f"worker-{n}.log") for n in "ab"]
    stack = Stack(env, instances, workers, env["DATABASE_URL"], logs)
    try:
        for server in (*instances, *workers):
            server.start()
        for server in instances:
            server.wait_ready()
        yield stack
    finally:
        for server in (*instances, *workers):
            server.stop()
        with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _post(
    server: livestack.Server, path: str, session: str, **form: str | list[str]
) -> tuple[int, str]:
    return livestack.request(
        server.port, "POST", path, session=session, form=form, csrf=livestack.CSRF_TOKEN
    )


def _sign_in(server: livestack.Server, username: str, password: str) -> str:
    status, body = livestack.request(
        server.port,
        "POST",
        "/accounts/login/",
        form={"username": username, "password": password},
        csrf=livestack.CSRF_TOKEN,
    )
    if status == 302:
        return "in"
    assert status == 200, (status, body[:300])
    if "Muitas tentativas" in body:
        return "throttled"
    if "Usuário ou senha incorretos" in body:
        return "wrong"
    raise AssertionError(f"unexpected sign-in page: {body[:500]!r}")


def _assert_chain_intact(stack: Stack) -> None:
    """One chain: every sequence number once, every event's predecessor distinct (a fork
    would show two events naming the same predecessor), and the MACs and checkpoints hold."""
    count, first, last, predecessors = stack.sql(
        "SELECT count(*), min(seq), max(seq), count(DISTINCT prev_hash) FROM recordings_auditevent"
    )[0]
    assert (first, last) == (1, count), f"sequence numbers are not 1..{count}: {first}..{last}"
    assert predecessors == count, "two events name the same predecessor: the chain forked"
    verified = livestack.manage(stack.env, "audit_verify")
    assert "audit chain intact" in verified, verified


@pytest.fixture(scope="module")
def with_passwords(stack: Stack) -> tuple[str, str]:
    """Two supervisors who sign in with a password (hashed as in production)."""
    stack.shell(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.models import Group\n"
        "for name in ('alvo', 'vizinha'):\n"
        f"    u = get_user_model().objects.create_user(name, password={PASSWORD!r})\n"
        "    u.groups.add(Group.objects.get(name='Supervisores'))\n"
    )
    return "alvo", "vizinha"


def test_the_sign_in_throttle_is_shared_by_every_instance(
    stack: Stack, with_passwords: tuple[str, str]
) -> None:
    # Ten wrong guesses at once, spread over both instances (and their two processes each):
    # one shared counter admits exactly five password checks; per-process counters would
    # admit up to five in each of the four processes.
    with ThreadPoolExecutor(10) as pool:
        outcomes = Counter(
            pool.map(lambda n: _sign_in(stack.instances[n % 2], "alvo", BAD_PASSWORD), range(10))
        )
    assert outcomes == {"wrong": 5, "throttled": 5}, outcomes
    # The right password, on either instance, is refused for the window now.
    for server in stack.instances:
        assert _sign_in(server, "alvo", PASSWORD) == "throttled"
    # Another user from the same address is not affected, on either instance.
    assert _sign_in(stack.instances[1], "vizinha", PASSWORD) == "in"
    checked = stack.sql(
        "SELECT count(*) FROM recordings_auditevent WHERE action = 'login_failed' "
        "AND details->>'username' = 'alvo'"
    )[0][0]
    assert checked == 5, "each checked password is one audit event"


def test_concurrent_approvals_on_both_instances_delete_each_recording_once(
    stack: Stack, sim: SimulatorProcess
) -> None:
    # Fifty requests in a ring: request n asks for recordings n and n+1, so every recording
    # is in two requests, asked by two people on two instances.
    ids = [r["record_id"] for r in sim.list(f"limit={REQUESTS}")["data"]]
    groups = [sorted({ids[n], ids[(n + 1) % REQUESTS]}) for n in range(REQUESTS)]
    requesters = livestack.signed_in_sessions(stack.env, "Supervisores", 2, "pede")
    approvers = livestack.signed_in_sessions(stack.env, "Administradores", 2, "aprova", recent=True)

    def ask(n: int) -> None:
        status, body = _post(
            stack.instances[n % 2],
            "/deletions/new",
            requesters[n % 2],
            ids=[str(i) for i in groups[n]],
            reason=f"limpeza {n}",
        )
        assert status == 302, (status, body[:300])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(ask, range(REQUESTS)))
    pks = [pk for (pk,) in stack.sql("SELECT id FROM recordings_deletionrequest ORDER BY id")]
    assert len(pks) == REQUESTS

    # Every request approved twice at the same moment, by two approvers on two instances,
    # while both workers carry out whatever is approved.
    start = threading.Barrier(2 * REQUESTS)

    def approve(job: tuple[int, int]) -> int:
        pk, n = job
        start.wait()
        return _post(
            stack.instances[n],
            f"/deletions/{pk}/approve",
            approvers[n],
            typed_count=str(IDS_PER_REQUEST),
        )[0]

    jobs = [(pk, n) for pk in pks for n in (0, 1)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        statuses = Counter(pool.map(approve, jobs))
    assert statuses == {302: len(jobs)}, statuses
    # A task delivered twice (a retry, a replayed queue): both workers race for each request.
    stack.shell(
        "from deletions.tasks import execute_deletion\n"
        f"for pk in {pks!r}:\n"
        "    execute_deletion.enqueue(pk)\n"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        waiting = stack.sql(
            "SELECT (SELECT count(*) FROM recordings_deletionrequest"
            "        WHERE status IN ('approved', 'running')),"
            " (SELECT count(*) FROM django_tasks_database_dbtaskresult"
            "  WHERE status IN ('READY', 'RUNNING') AND task_path LIKE %s)",
            "%execute_deletion",
        )[0]
        if waiting == (0, 0):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"not done in 120 s (requests, tasks): {waiting}\n{stack.log_tail()}")

    rows = stack.sql("SELECT id, status, filters FROM recordings_deletionrequest")
    outcomes = {pk: status for pk, status, _ in rows}
    # An approval after the neighbour's deletion finds one recording fewer: stale, not run.
    assert set(outcomes.values()) <= {"done", "stale"}, Counter(outcomes.values())
    # The requests were made concurrently: their primary keys are not in the ring's order,
    # so each request's recordings are read from its own row.
    asked = {pk: sorted(filters["ids"]) for pk, _, filters in rows}
    assert sorted(asked.values()) == sorted(groups)
    executed = {i for pk, group in asked.items() for i in group if outcomes[pk] == "done"}
    deletes = {int(i): n for i, n in sim.stats()["deleted"].items()}
    assert deletes == dict.fromkeys(executed, 1), "exactly one upstream DELETE per recording"
    approvals = stack.sql(
        "SELECT details->>'request', count(*) FROM recordings_auditevent "
        "WHERE action = 'deletion_approved' GROUP BY 1"
    )
    assert {n for _, n in approvals} == {1}, "one approval per request"
    assert sorted(int(pk) for pk, _ in approvals) == sorted(
        pk for pk, status in outcomes.items() if status == "done"
    )
    rerun = stack.sql("SELECT count(*) FROM recordings_deletionrequest WHERE runs > 1")[0][0]
    assert rerun == 0, "no request ran twice"
    _assert_chain_intact(stack)


def test_pages_keep_working_when_an_instance_is_killed(
    stack: Stack, sim: SimulatorProcess, with_passwords: tuple[str, str]
) -> None:
    sessions = livestack.signed_in_sessions(stack.env, "Supervisores", 4, "fica")
    doomed, survivor = stack.instances
    results: list[tuple[int, float, int | str]] = []
    stop = threading.Event()

    def browse(n: int) -> None:
        server = stack.instances[n % 2]
        while not stop.is_set():
            try:
                status, body = livestack.request(
                    server.port,
                    "GET",
                    "/recordings/?date_ini=&date_end=&per_page=20",
                    session=sessions[n],
                    timeout=20,
                )
                outcome: int | str = status if not livestack.has_500(body) else 500
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                time.sleep(0.05)
            results.append((n % 2, time.monotonic(), outcome))

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    doomed.kill()  # SIGKILL to the master and its workers, mid-request
    killed_at = time.monotonic()
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    on_survivor = [outcome for side, _, outcome in results if side == 1]
    assert on_survivor and set(on_survivor) == {200}, Counter(on_survivor)
    before = [outcome for side, at, outcome in results if side == 0 and at < killed_at]
    assert 200 in before, Counter(before)
    after = [outcome for side, at, outcome in results if side == 0 and at > killed_at + 0.5]
    assert after and all(not isinstance(o, int) for o in after), "the killed one is gone"

    # A session signed in anywhere works on the survivor, and so does signing in.
    assert livestack.request(survivor.port, "GET", "/deletions/", session=sessions[0])[0] == 200
    assert _sign_in(survivor, "vizinha", PASSWORD) == "in"
    # The workers carry on: a deletion asked and approved on the survivor is carried out.
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    (requester,) = livestack.signed_in_sessions(stack.env, "Supervisores", 1, "depois")
    (approver,) = livestack.signed_in_sessions(
        stack.env, "Administradores", 1, "aprova-depois", recent=True
    )
    assert _post(survivor, "/deletions/new", requester, ids=str(record_id), reason="x")[0] == 302
    (pk,) = stack.sql("SELECT max(id) FROM recordings_deletionrequest")[0]
    assert _post(survivor, f"/deletions/{pk}/approve", approver, typed_count="1")[0] == 302
    deadline = time.monotonic() + 60
    while stack.sql("SELECT status FROM recordings_deletionrequest WHERE id = %s", pk)[0][0] != (
        "done"
    ):
        assert time.monotonic() < deadline, stack.log_tail()
        time.sleep(0.3)
    assert sim.stats()["deleted"] == {str(record_id): 1}
    # The killed instance comes back on the same database and serves again.
    doomed.start()
    doomed.wait_ready()
    assert livestack.request(doomed.port, "GET", "/deletions/", session=sessions[0])[0] == 200
    _assert_chain_intact(stack)
