from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from recordings import vono
from recordings.redaction import secrets
from tests import environment
from tests.simulator import SimulatorProcess


@pytest.fixture(scope="session", autouse=True)
def _collected_static(django_db_setup: None) -> None:
    """Outside DEBUG the manifest storage needs collectstatic, as in production."""
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """PBKDF2's deliberate slowness costs seconds per test user; the suite tests logic."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A test that switched the thread to English (a request in English, an explicit
    activate) must not leave it so for the next: each test starts in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _own_checkpoint_dir(settings: Any, tmp_path: Any) -> None:
    """Each test's audit chain starts empty, and so do its signed checkpoints."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "audit-checkpoints"


@pytest.fixture(autouse=True)
def _own_audio_cache(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test starts with an empty audio cache of its own."""
    settings.AUDIO_CACHE_DIR = tmp_path_factory.mktemp("audio-cache")


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Throttle counters and cached pages must not leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()


def _truncate_audit_between_live_tests() -> None:
    """Live-server tests empty the database with TRUNCATE after each test; the audit tables
    refuse TRUNCATE (PostgreSQL triggers that obey no session setting). The suite connects as
    a superuser, the one role that may switch every trigger off for its session
    (``session_replication_role``), as a DBA restoring a test database would."""
    from django.db import connection
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def teardown(self: TransactionTestCase) -> None:
        if connection.vendor != "postgresql":
            return original(self)
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return original(self)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET session_replication_role")

    TransactionTestCase._fixture_teardown = teardown  # type: ignore[method-assign]


_truncate_audit_between_live_tests()


# --- the simulator ---


@pytest.fixture(scope="session")
def _simulator_process() -> Iterator[SimulatorProcess]:
    process = SimulatorProcess(
        port=environment.SIM_PORT, token=environment.TOKEN, key=environment.KEY
    )
    yield process
    process.stop()


@pytest.fixture
def sim(_simulator_process: SimulatorProcess) -> Iterator[SimulatorProcess]:
    """The simulator with its demo data as generated, no faults, empty counters."""
    _simulator_process.reset()
    yield _simulator_process
    _simulator_process.clear_faults()


@pytest.fixture
def client_vono(sim: SimulatorProcess) -> vono.VonoClient:
    """The client as the portal configures it, pointed at the simulator."""
    return vono.get_client()


# --- users ---


def make_recording(
    record_id: int,
    when: dt.datetime,
    *,
    customer_id: int | None = 3,
    source: str = "4101",
    destination: str = "5541985977963",
    clid: str = "",
    duration: int = 60,
    size: int | None = 1000,
) -> vono.Recording:
    """A recording as the client parses one, for the index (``index.sync.upsert_page``);
    the caller id is the source unless given."""
    return vono.Recording(
        record_id=record_id,
        customer_id=customer_id,
        calldate=when,
        clid=clid or source,
        source=source,
        destination=destination,
        duration=duration,
        duration_text="",
        size=size,
        size_text="",
    )


def make_user(username: str, role: str | None, **fields: Any) -> Any:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username, password="pw-for-tests", **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def supervisor(db: None) -> Any:
    return make_user("sup", "Supervisores")


@pytest.fixture
def supervisor_client(supervisor: Any, client: Client) -> Client:
    client.force_login(supervisor)
    return client


# --- secrets never leak ---


class _RecordKeeper(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_keeper = _RecordKeeper()
logging.getLogger().addHandler(_keeper)


def _leaks(text: str) -> list[str]:
    return [s for s in (environment.TOKEN, environment.KEY) if s in text]


# The upstream's address and its credentialled path: no page may show either, even masked.
UPSTREAM_HOST = f"127.0.0.1:{environment.SIM_PORT}"
_UPSTREAM_PATH = "/recording/"


def _url_leaks(text: str) -> list[str]:
    return [s for s in (UPSTREAM_HOST, _UPSTREAM_PATH) if s in text]


@pytest.fixture(autouse=True)
def _no_secret_leaves_the_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Suite-wide: no log record, response or exception text may hold the token or key;
    no response may show the upstream's URL, and no log line of ours (urllib3's own lines,
    masked, name the host and path) may quote it."""
    assert secrets(), "the redaction knows the credentials"
    _keeper.records.clear()
    leaked: list[str] = []
    original = Client.request

    def checked_request(self: Client, **request: Any) -> Any:
        response = original(self, **request)
        texts = [str(response.headers)]
        if not getattr(response, "streaming", False):
            texts.append(response.content.decode("utf-8", "replace"))
        for text in texts:
            if _leaks(text) or _url_leaks(text):
                leaked.append(f"HTTP response to {request.get('PATH_INFO')}")
        return response

    monkeypatch.setattr(Client, "request", checked_request)
    yield
    for record in _keeper.records:
        text = _keeper.format(record) + (record.exc_text or "")
        ours = not record.name.startswith("urllib3")
        if _leaks(text) or (ours and _url_leaks(text)):
            leaked.append(f"log record from {record.name}: {record.getMessage()[:80]}")
    assert not leaked, f"the Vono token, key or URL leaked: {leaked}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.excinfo is not None and _leaks(call.excinfo.exconly() + str(report.longrepr)):
        report.outcome = "failed"
        report.longrepr = "an exception's text holds the Vono token or key (text withheld)"
    return report
