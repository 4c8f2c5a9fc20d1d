"""The embedded default under many users: gunicorn on a SQLite file, 32 at once, no 500.

Every list page writes an audit event, every deletion request a row and an event: on SQLite
each is a write lock on the whole file. Without WAL, IMMEDIATE transactions and a busy
timeout, 24 concurrent users saw "database is locked" 500s (issue 9).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import environment, livestack
from tests.simulator import SimulatorProcess

USERS = 32
ROUNDS = 4


@pytest.fixture
def sqlite_portal(
    tmp_path: Path, sim: SimulatorProcess
) -> Iterator[tuple[livestack.Server, dict[str, str]]]:
    env = livestack.portal_env(
        f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "locmemcache://load",
        f"http://127.0.0.1:{sim.port}/api",
        environment.TOKEN,
        environment.KEY,
    )
    livestack.manage(env, "migrate", "--noinput", "-v0")
    server = livestack.gunicorn(env, workers=2, threads=8, log=tmp_path / "gunicorn.log").start()
    try:
        server.wait_ready()
        yield server, env
    finally:
        server.stop()


def test_32_concurrent_users_of_the_embedded_database_see_no_500(
    sqlite_portal: tuple[livestack.Server, dict[str, str]], sim: SimulatorProcess
) -> None:
    server, env = sqlite_portal
    sessions = livestack.signed_in_sessions(env, "Supervisores", USERS, "sqlite-load")
    ids = [r["record_id"] for r in sim.list(f"limit={USERS * ROUNDS}")["data"]]
    statuses: Counter[int] = Counter()
    kinds: Counter[tuple[str, str, int]] = Counter()
    failures: list[str] = []
    start = threading.Barrier(USERS)

    def user(n: int) -> None:
        start.wait()
        for round_ in range(ROUNDS):
            record_id = ids[n * ROUNDS + round_]
            for method, path, form in (
                ("GET", f"/recordings/?date_ini=&date_end=&page={round_ + 1}", None),
                ("POST", "/deletions/new", {"ids": str(record_id), "reason": "carga"}),
                ("GET", "/deletions/", None),
            ):
                status, body = livestack.request(
                    server.port,
                    method,
                    path,
                    session=sessions[n],
                    form=form,
                    csrf=livestack.CSRF_TOKEN,
                )
                statuses[status] += 1
                kinds[(method, path.split("?")[0], status)] += 1
                if status >= 500 or livestack.has_500(body):
                    failures.append(f"{method} {path}: {status} {body[:200]!r}")

    threads = [threading.Thread(target=user, args=(n,)) for n in range(USERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not failures, f"{len(failures)} failed, e.g. {failures[:3]}"
    assert statuses[200] == USERS * ROUNDS * 2, kinds  # lists and deletion lists
    assert statuses[302] == USERS * ROUNDS, statuses  # each request created, then shown
    count = livestack.manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from deletions.models import DeletionRequest; print(DeletionRequest.objects.count())",
    )
    assert int(count) == USERS * ROUNDS, "every request was written"
    verified = livestack.manage(env, "audit_verify")
    assert "ok" in verified.lower() or "verified" in verified.lower(), verified
