"""``/healthz``: anonymous, says only ok or degraded, and never calls Vono per request."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from health import services
from tests.conftest import make_user
from tests.simulator import SimulatorProcess


def _probes(sim: SimulatorProcess) -> int:
    return int(sim.stats()["requests"].get("list", 0))


def _admin_client(db: None) -> Client:
    client = Client()
    client.force_login(make_user("adao", "Administradores"))
    return client


def test_healthy_says_ok_and_nothing_else(client: Client, sim: SimulatorProcess, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_an_upstream_outage_is_degraded_but_keeps_the_instance_in_rotation(
    client: Client, sim: SimulatorProcess, db: None
) -> None:
    """Every instance shares Vono: taking them all out of the load balancer (or having Docker
    mark them unhealthy) would only hide the portal's own pages and its explanation."""
    sim.fault("status", status=503)
    response = client.get("/healthz?details=1")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded"}
    assert "503" not in response.content.decode()


def test_details_only_for_someone_who_may_read_the_audit_log(
    sim: SimulatorProcess, db: None
) -> None:
    sim.fault("status", status=503)
    admin = _admin_client(db)
    details = admin.get("/healthz?details=1").json()
    assert details["status"] == "degraded"
    assert (details["database"], details["cache"], details["upstream"]) == ("ok", "ok", "degraded")
    assert details["upstream_reason"] == "The Vono API answered HTTP 503"
    assert 0 <= details["upstream_checked_seconds_ago"] < 5
    assert admin.get("/healthz").json() == {"status": "degraded"}  # details only when asked

    supervisor = Client()
    supervisor.force_login(make_user("sara", "Supervisores"))
    assert supervisor.get("/healthz?details=1").json() == {"status": "degraded"}


def test_a_flood_of_anonymous_checks_makes_at_most_one_upstream_call(
    client: Client, sim: SimulatorProcess, db: None
) -> None:
    for _ in range(100):
        assert client.get("/healthz").status_code == 200
    assert _probes(sim) <= 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_do_not_stampede_the_upstream(sim: SimulatorProcess) -> None:
    sim.fault("latency", seconds=0.5)  # every check arrives while the first probe is out
    answers: list[Any] = []

    def check() -> None:
        try:
            answers.append(Client().get("/healthz").json())
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers == [{"status": "ok"}] * 20
    assert _probes(sim) == 1


def test_the_probe_is_repeated_once_it_is_old(
    client: Client, sim: SimulatorProcess, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000_000.0]
    # Moving the clock: the only way to age a probe by half a minute in a test.
    monkeypatch.setattr(services.time, "time", lambda: clock[0])
    client.get("/healthz")
    clock[0] += services.PROBE_SECONDS - 1
    client.get("/healthz")
    assert _probes(sim) == 1
    sim.fault("status", status=503)
    clock[0] += 2
    assert client.get("/healthz").json() == {"status": "degraded"}
    assert _probes(sim) == 2


def test_a_dead_cache_takes_the_instance_out_of_rotation(
    client: Client, sim: SimulatorProcess, db: None, settings: Any
) -> None:
    """Sign-in throttling and sessions' helpers need the cache: without it, 503."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "degraded"}
    assert _probes(sim) == 0
