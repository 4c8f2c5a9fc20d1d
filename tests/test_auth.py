"""Sign-in: throttling through the shared cache, session lifetime, cookie flags."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client

from recordings import throttle
from tests.conftest import make_user


def _attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1") -> str:
    response = client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )
    if response.status_code == 302:
        return "in"
    return response.content.decode()


def test_a_user_is_throttled_after_repeated_failures(client: Client, db: None) -> None:
    make_user("maria", "Supervisores")
    for _ in range(throttle.MAX_FAILURES_PER_USER):
        assert "Usuário ou senha incorretos" in _attempt(client, "maria", "wrong")
    page = _attempt(client, "maria", "pw-for-tests")
    assert "Muitas tentativas de acesso sem sucesso" in page
    assert "_auth_user_id" not in client.session
    # Other users, from the same address, are not locked out by maria's failures.
    make_user("joao", "Supervisores")
    assert _attempt(Client(), "joao", "pw-for-tests") == "in"


def test_user_name_case_does_not_dodge_the_limit(client: Client, db: None) -> None:
    make_user("maria", "Supervisores")
    for name in ("maria", "MARIA", "Maria", "mAria", "mariA"):
        _attempt(client, name, "wrong")
    assert "Muitas tentativas" in _attempt(client, "maria", "pw-for-tests")


def test_an_address_is_throttled_across_user_names(client: Client, db: None) -> None:
    for n in range(throttle.MAX_FAILURES_PER_IP):
        _attempt(client, f"guess{n}", "wrong", ip="10.9.9.9")
    make_user("ana", "Supervisores")
    assert "Muitas tentativas" in _attempt(client, "ana", "pw-for-tests", ip="10.9.9.9")
    assert _attempt(Client(), "ana", "pw-for-tests", ip="10.1.1.1") == "in"


def test_success_clears_the_users_failures(client: Client, db: None) -> None:
    make_user("bia", "Supervisores")
    for _ in range(throttle.MAX_FAILURES_PER_USER - 1):
        _attempt(client, "bia", "wrong")
    assert _attempt(client, "bia", "pw-for-tests") == "in"
    client.post("/accounts/logout/")
    for _ in range(throttle.MAX_FAILURES_PER_USER - 1):
        _attempt(client, "bia", "wrong")
    assert _attempt(client, "bia", "pw-for-tests") == "in"


def test_client_address_behind_trusted_proxies(rf: object, settings: object) -> None:
    from django.test import RequestFactory

    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7"
    )
    assert throttle.client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1  # type: ignore[attr-defined]
    assert throttle.client_ip(request) == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 2  # type: ignore[attr-defined]
    assert throttle.client_ip(request) == "203.0.113.9"


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
