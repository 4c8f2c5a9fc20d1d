"""Sign-in throttling as an attacker meets it: through the sign-in page, the real database
and the configured cache (Redis on CI: CACHE_URL), with every refused attempt audited."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory

from accounts.roles import ensure_groups
from audit.models import AuditEvent
from recordings import throttle
from tests.conftest import make_user
from tests.simulator import ROOT

REFUSED_PASSWORD = "Muitas tentativas"
WRONG = "wrong-password-Zq81"


def _attempt(
    username: str, password: str, ip: str = "10.0.0.1", client: Client | None = None, **extra: Any
) -> str:
    response = (client or Client()).post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra
    )
    if response.status_code == 302:
        return "in"
    assert response.status_code == 200
    return response.content.decode()


def _count(action: str, **filters: Any) -> int:
    return AuditEvent.objects.filter(action=action, **filters).count()


# --- one user name from one address -----------------------------------------------------------


def test_five_failures_lock_the_pair_for_the_window(db: None) -> None:
    make_user("maria", "Supervisores")
    for _ in range(throttle.MAX_FAILURES_PER_PAIR):
        assert "Usuário ou senha incorretos" in _attempt("maria", WRONG)
    client = Client()
    page = _attempt("maria", "pw-for-tests", client=client)
    assert "Muitas tentativas de acesso sem sucesso. Aguarde 15 minutos" in page
    assert "_auth_user_id" not in client.session
    # maria from another address, and another user from this one, are not affected.
    assert _attempt("maria", "pw-for-tests", ip="10.0.0.2") == "in"
    make_user("joao", "Supervisores")
    assert _attempt("joao", "pw-for-tests") == "in"


def test_user_name_case_and_width_do_not_dodge_the_limit(db: None) -> None:
    make_user("maria", "Supervisores")
    for name in ("maria", "MARIA", "Maria", " mAria", "ｍａｒｉａ"):
        _attempt(name, WRONG)
    assert REFUSED_PASSWORD in _attempt("maria", "pw-for-tests")


def test_success_starts_the_pair_afresh(db: None) -> None:
    make_user("bia", "Supervisores")
    for _ in range(2):
        for _ in range(throttle.MAX_FAILURES_PER_PAIR - 1):
            _attempt("bia", WRONG)
        assert _attempt("bia", "pw-for-tests") == "in"


def test_an_address_is_locked_across_user_names(db: None) -> None:
    for n in range(throttle.MAX_FAILURES_PER_IP):
        _attempt(f"guess{n}", WRONG, ip="10.9.9.9")
    make_user("ana", "Supervisores")
    assert REFUSED_PASSWORD in _attempt("ana", "pw-for-tests", ip="10.9.9.9")
    assert _attempt("ana", "pw-for-tests", ip="10.1.1.1") == "in"


def test_an_empty_field_is_neither_counted_nor_a_success(db: None) -> None:
    make_user("maria", "Supervisores")
    for _ in range(throttle.MAX_FAILURES_PER_PAIR + 1):
        assert _attempt("maria", "") != "in"
    keys = throttle.login_keys(RequestFactory().post("/", REMOTE_ADDR="10.0.0.1"), "maria")
    assert cache.get_many([keys.pair, keys.ip, keys.known]) == {}
    assert _attempt("maria", "pw-for-tests") == "in"


# --- one user name from many addresses ----------------------------------------------------------


def test_an_attacker_elsewhere_cannot_lock_admin_out(db: None) -> None:
    """Over a hundred attempts for ``admin`` from many addresses: the real admin, from
    where they usually sign in, still gets in at once."""
    make_user("admin", "Administradores")
    assert _attempt("admin", "pw-for-tests", ip="192.0.2.10") == "in"  # their usual place
    refused = 0
    for n in range(20):
        for _ in range(throttle.MAX_FAILURES_PER_PAIR + 1):
            refused += REFUSED_PASSWORD in _attempt("admin", WRONG, ip=f"198.51.100.{n}")
    assert refused >= 20
    assert _attempt("admin", "pw-for-tests", ip="192.0.2.10") == "in"


def test_many_addresses_slow_a_user_name_down_instead_of_locking_it(db: None) -> None:
    make_user("admin", "Administradores")
    for n in range(throttle.SLOWDOWN_AFTER):  # one guess from each of many addresses
        assert "Usuário ou senha incorretos" in _attempt("admin", WRONG, ip=f"203.0.113.{n}")
    checks_before = _count("login_failed")
    # From now on one password check per delay is shared by every unknown address: the
    # first attempt takes it, the rest are refused unchecked, with how long to wait.
    assert "Usuário ou senha incorretos" in _attempt("admin", WRONG, ip="203.0.113.100")
    delay = throttle.delay_after(throttle.SLOWDOWN_AFTER + 1)
    assert delay == 2
    page = _attempt("admin", "pw-for-tests", ip="203.0.113.101")
    assert "Tente de novo daqui a" in page and "segundo" in page
    assert _count("login_failed") == checks_before + 1
    blocked = AuditEvent.objects.get(action="login_blocked")
    assert blocked.details["limit"] == "slowdown"
    assert 1 <= blocked.details["retry_after"] <= delay
    # Slowed, not locked: after the delay the real admin, even from a new address, gets in.
    time.sleep(delay + 0.2)
    assert _attempt("admin", "pw-for-tests", ip="203.0.113.101") == "in"


def test_the_delay_grows_to_a_cap() -> None:
    delays = [throttle.delay_after(n) for n in range(throttle.SLOWDOWN_AFTER + 12)]
    assert delays[: throttle.SLOWDOWN_AFTER] == [0] * throttle.SLOWDOWN_AFTER
    assert delays[throttle.SLOWDOWN_AFTER :][:4] == [1, 2, 4, 8]
    assert max(delays) == throttle.MAX_DELAY_SECONDS == delays[-1]


# --- the client's address ------------------------------------------------------------------------


def test_a_spoofed_forwarded_for_does_not_change_the_key(db: None) -> None:
    """No trusted proxy: X-Forwarded-For is the attacker's to write, and is ignored."""
    make_user("maria", "Supervisores")
    for n in range(throttle.MAX_FAILURES_PER_PAIR):
        _attempt("maria", WRONG, HTTP_X_FORWARDED_FOR=f"10.66.0.{n}")
    page = _attempt("maria", "pw-for-tests", HTTP_X_FORWARDED_FOR="10.66.0.200")
    assert REFUSED_PASSWORD in page
    ips = set(AuditEvent.objects.values_list("ip", flat=True))
    assert ips == {"10.0.0.1"}


def test_behind_a_proxy_only_the_hop_it_added_counts(db: None, settings: Any) -> None:
    """One trusted proxy appends the address it saw; whatever the client wrote before it is
    the attacker's and must not move them to a fresh key."""
    settings.TRUSTED_PROXY_COUNT = 1
    make_user("maria", "Supervisores")
    for n in range(throttle.MAX_FAILURES_PER_PAIR):
        _attempt("maria", WRONG, ip="10.0.0.254", HTTP_X_FORWARDED_FOR=f"10.66.0.{n}, 203.0.113.7")
    page = _attempt(
        "maria", "pw-for-tests", ip="10.0.0.254", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    assert REFUSED_PASSWORD in page
    # Another client behind the same proxy is someone else.
    assert (
        _attempt("maria", "pw-for-tests", ip="10.0.0.254", HTTP_X_FORWARDED_FOR="198.51.100.8")
        == "in"
    )


def test_client_address_behind_trusted_proxies(settings: Any) -> None:
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7"
    )
    assert throttle.client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert throttle.client_ip(request) == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 2
    assert throttle.client_ip(request) == "203.0.113.9"


# --- the audit log ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_every_refused_attempt_is_audited_and_no_password_is_stored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ensure_groups()  # a transactional test starts from an emptied database
    make_user("maria", "Supervisores")
    secret_guess = "Hunter2-attempt-9f3b"
    for _ in range(throttle.MAX_FAILURES_PER_PAIR):
        _attempt("maria", secret_guess, ip="10.4.4.4", HTTP_USER_AGENT="curl/8")
    for _ in range(3):
        _attempt("maria", secret_guess, ip="10.4.4.4", HTTP_USER_AGENT="curl/8")
    assert _count("login_failed", ip="10.4.4.4") == throttle.MAX_FAILURES_PER_PAIR
    _run_due_tasks()
    assert _blocked_attempts(ip="10.4.4.4") == 3
    for blocked in AuditEvent.objects.filter(action="login_blocked"):
        assert blocked.details["username"] == "maria"
        assert blocked.details["limit"] == "pair"
        assert (blocked.outcome, blocked.user_agent) == ("refused", "curl/8")
    for event in AuditEvent.objects.all():
        assert secret_guess not in str(event.details) + event.user_agent
    assert secret_guess not in caplog.text


def _run_due_tasks() -> None:
    """Run the aggregation tasks now, as the worker would once their minute is over: their
    run_after is moved to now (the only way to skip a minute in a test), then the real
    database worker runs them."""
    from django.core.management import call_command
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(run_after=timezone.now())
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def _blocked_attempts(**filters: Any) -> int:
    events = AuditEvent.objects.filter(action="login_blocked", **filters)
    return sum(int(e.details["attempts"]) for e in events)


@pytest.mark.django_db(transaction=True)  # the worker closes its connection
def test_a_flood_of_refused_attempts_is_counted_in_few_audit_rows() -> None:
    """The audit table is append-only: an attacker must not be able to fill it. Repeats are
    aggregated per user name, address and minute, and every one of them is counted."""
    ensure_groups()  # a transactional test starts from an emptied database
    make_user("maria", "Supervisores")
    for _ in range(throttle.MAX_FAILURES_PER_PAIR):
        _attempt("maria", WRONG, ip="10.5.5.5")
    for _ in range(40):
        assert REFUSED_PASSWORD in _attempt("maria", WRONG, ip="10.5.5.5")
    rows = _count("login_blocked")
    assert 1 <= rows <= 2  # one per minute started (the flood may straddle a minute)
    assert _blocked_attempts() == rows  # the first of each minute, at once
    _run_due_tasks()
    assert _blocked_attempts(ip="10.5.5.5") == 40
    assert _count("login_blocked") <= 4
    repeats = AuditEvent.objects.filter(action="login_blocked", details__aggregated=True)
    assert repeats.exists() and all(e.details["minute"] for e in repeats)
    _run_due_tasks()  # a task runs once: nothing is counted twice
    assert _blocked_attempts(ip="10.5.5.5") == 40


# --- the shared cache ---------------------------------------------------------------------------


def test_concurrent_attempts_cannot_slip_past_the_pair_limit() -> None:
    """Twenty attempts at once for one pair: only five reach a password check."""
    keys = throttle.login_keys(
        RequestFactory().post("/", REMOTE_ADDR="10.7.7.7"), "concurrent-user"
    )
    admitted: list[bool] = []
    barrier = threading.Barrier(20)

    def attempt() -> None:
        barrier.wait()
        admitted.append(throttle.admit(keys) is None)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == throttle.MAX_FAILURES_PER_PAIR


@pytest.mark.skipif(
    "redis" not in os.environ.get("CACHE_URL", ""),
    reason="needs the shared cache; CI runs this with CACHE_URL=redis://…",
)
def test_the_limits_hold_across_processes(db: None) -> None:
    """Five failures in another process (another gunicorn instance) lock the pair here."""
    make_user("maria", "Supervisores")
    script = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from recordings import throttle\n"
        "keys = throttle.login_keys(RequestFactory().post('/', REMOTE_ADDR='10.8.8.8'), 'maria')\n"
        f"for _ in range({throttle.MAX_FAILURES_PER_PAIR}):\n"
        "    assert throttle.admit(keys) is None\n"
        "    throttle.record_failure(keys)\n"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "vonoportal.settings"},
        timeout=60,
    )
    assert REFUSED_PASSWORD in _attempt("maria", "pw-for-tests", ip="10.8.8.8")


# --- the deploy check -----------------------------------------------------------------------


def _cache_warnings() -> list[str]:
    from django.core import checks

    return [m.id for m in checks.run_checks(tags=[checks.Tags.caches]) if m.id]


def test_a_per_process_cache_in_production_is_warned_about(settings: Any) -> None:
    settings.DEBUG = False
    for backend in ("locmem.LocMemCache", "dummy.DummyCache"):
        settings.CACHES = {"default": {"BACKEND": f"django.core.cache.backends.{backend}"}}
        assert "recordings.W001" in _cache_warnings(), backend


def test_a_shared_cache_or_debug_is_not_warned_about(settings: Any) -> None:
    settings.DEBUG = False
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/5",
        }
    }
    assert "recordings.W001" not in _cache_warnings()
    settings.DEBUG = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "recordings.W001" not in _cache_warnings()


def test_manage_check_deploy_shows_the_warning() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vonoportal.settings", "DEBUG": "false"}
    env["CACHE_URL"] = "locmemcache://"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "recordings.W001" in result.stdout + result.stderr
