"""Sign-in: session lifetime, cookie flags (throttling: tests/test_signin_throttle.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client

from tests.conftest import make_user


def test_sessions_end_after_30_idle_minutes(client: Client, db: None, monkeypatch: Any) -> None:
    from django.contrib.sessions.models import Session

    import recordings.middleware

    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client.force_login(make_user("eva", "Supervisores"))
    clock = [1_000_000.0]
    # Moving the clock: the only way to reach minutes of idle time in a test.
    monkeypatch.setattr(recordings.middleware.time, "time", lambda: clock[0])

    def expiry() -> float:
        return Session.objects.get().expire_date.timestamp()

    client.get("/accounts/login/")  # any request by a signed-in user refreshes...
    first = expiry()
    clock[0] += 30
    client.get("/accounts/login/")
    assert expiry() == first, "...but at most once a minute"
    clock[0] += 45
    client.get("/accounts/login/")
    assert expiry() > first


def test_cookies_are_secure_outside_debug(client: Client, db: None) -> None:
    assert settings.DEBUG is False
    make_user("carla", "Supervisores")
    response = client.post("/accounts/login/", {"username": "carla", "password": "pw-for-tests"})
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    csrf = Client().get("/accounts/login/").cookies["csrftoken"]
    assert (csrf["secure"], csrf["httponly"], csrf["samesite"]) == (True, True, "Lax")


def test_logout_is_a_post_and_ends_the_session(client: Client, db: None) -> None:
    client.force_login(make_user("davi", "Supervisores"))
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/recordings/").status_code == 302
