"""A real deployment for tests and benchmarks: migrate, sessions, gunicorn, concurrent users.

Everything runs as separate processes on real sockets, configured by environment only, as
in production: ``manage.py migrate``, gunicorn with threaded workers, ``manage.py db_worker``.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.environment import _free_port
from tests.simulator import ROOT

_SESSIONS_SCRIPT = """
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from importlib import import_module
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore  # keyed rows
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
import time
role, count, prefix, recent = ROLE, COUNT, PREFIX, RECENT
User = get_user_model()
for n in range(count):
    user, _ = User.objects.get_or_create(username=f"{prefix}-{n}")
    user.set_unusable_password()
    user.save()
    user.groups.add(Group.objects.get(name=role))
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # the sealed backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if recent:
        session["auth_at"] = time.time()  # signed in with a password just now (step-up)
    session.create()
    print(session.session_key)
"""


def manage(env: Mapping[str, str], *args: str, timeout: float = 300) -> str:
    """Run ``manage.py`` with this environment; its output."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
    return done.stdout


def signed_in_sessions(
    env: Mapping[str, str], role: str, count: int, prefix: str, *, recent: bool = False
) -> list[str]:
    """Session keys of ``count`` users of ``role``, signed in without a password hash (the
    load is the portal's, not PBKDF2's). ``recent``: as if the password was typed just now,
    so a step-up (approving a deletion) does not ask for it again."""
    script = (
        _SESSIONS_SCRIPT.replace("ROLE", repr(role))
        .replace("COUNT", str(count))
        .replace("PREFIX", repr(prefix))
        .replace("RECENT", repr(recent))
    )
    return manage(env, "shell", "--no-imports", "-c", script).split()


@dataclass
class Server:
    """One gunicorn instance (or another long-running process) of the portal."""

    env: dict[str, str]
    args: list[str]
    port: int = 0
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Server:
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True
        )
        return self

    def wait_ready(self, path: str = "/healthz", seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.args[:3]} exited with {self.process.returncode}")
            try:
                status, _ = request(self.port, "GET", path)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.args[:3]} not ready in {seconds} s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def gunicorn(
    env: Mapping[str, str], *, workers: int = 2, threads: int = 8, log: Path | None = None
) -> Server:
    port = _free_port()
    return Server(
        env={
            **env,
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": str(threads),
        },
        args=[
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "gunicorn.conf.py",
            "--no-control-socket",
            "vonoportal.wsgi",
        ],
        port=port,
        log=log,
    )


def db_worker(env: Mapping[str, str], *, log: Path | None = None) -> Server:
    return Server(
        env=dict(env),
        args=[sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
        log=log,
    )


def request(
    port: int,
    method: str,
    path: str,
    *,
    session: str = "",
    form: Mapping[str, str | list[str]] | None = None,
    csrf: str = "",
    timeout: float = 60,
) -> tuple[int, str]:
    """One request on a fresh connection: status and body text."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": "127.0.0.1"}
    cookies = []
    if session:
        cookies.append(f"sessionid={session}")
    if csrf:
        cookies.append(f"csrftoken={csrf}")
        headers["X-CSRFToken"] = csrf
        headers["Referer"] = f"http://127.0.0.1:{port}/"
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form, doseq=True)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


CSRF_TOKEN = "a" * 32  # any 32 alphanumerics: Django compares the cookie with the header


def portal_env(
    database_url: str, cache_url: str, vono_base_url: str, token: str, key: str
) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "VONO_BASE_URL": vono_base_url,
        "VONO_API_TOKEN": token,
        "VONO_API_KEY": key,
        "SECRET_KEY": "live-stack-secret-key-for-tests-only-0123456789",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "LOG_LEVEL_URLLIB3": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return env


def has_500(text: str) -> bool:
    return bool(re.search(r"Server Error|database is locked|Traceback", text))
