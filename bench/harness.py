"""Shared pieces for the benchmarks: a simulator, a migrated database, gunicorn, a session."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# One audit key for every run: the databases a bench keeps between runs (BENCH_DATABASE_URL)
# hold audit events and account seals keyed with it, which another key could not verify.
AUDIT_KEY = os.environ.get("BENCH_AUDIT_HMAC_KEY", "bench-audit-key-0123456789")
TOKEN, KEY = "bench-token", "bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def simulator() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "vonosim", "--port", str(port), "--token", TOKEN, "--key", KEY],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/_sim/health")
        yield port
    finally:
        process.terminate()
        process.wait()


@contextmanager
def portal(
    sim_port: int, *, workers: int = 1, threads: int = 8, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """gunicorn (gthread) on a fresh SQLite database, with one signed-in supervisor."""
    workdir = Path(tempfile.mkdtemp(prefix="vonobench-"))
    port = free_port()
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "AUDIT_HMAC_KEY": AUDIT_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"),
        "VONO_BASE_URL": f"http://127.0.0.1:{sim_port}/api",
        "VONO_API_TOKEN": TOKEN,
        "VONO_API_KEY": KEY,
        "VONO_READ_TIMEOUT": "60",
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    run = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL}
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], **run)  # type: ignore[call-overload]
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], **run)  # type: ignore[call-overload]
    # The demo users on a throwaway database: seed_demo runs only with DEBUG (the server not).
    seed = {**run, "env": {**env, "DEBUG": "1"}}
    subprocess.run([PYTHON, "manage.py", "seed_demo"], **seed)  # type: ignore[call-overload]
    process = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "--no-control-socket",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--access-logfile",
            "/dev/null",
            "vonoportal.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/accounts/login/")
        yield port, {"Cookie": sign_in(port, "supervisor", "vono-demo"), "pid": str(process.pid)}
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def sign_in(port: int, username: str, password: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", "/accounts/login/")
    response = connection.getresponse()
    page = response.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf_cookie and token
    body = f"username={username}&password={password}&csrfmiddlewaretoken={token[1]}"
    connection.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf_cookie[1]}",
            "Referer": f"http://127.0.0.1:{port}/accounts/login/",
        },
    )
    response = connection.getresponse()
    response.read()
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie") or "")
    assert response.status == 302 and session, response.status
    return f"sessionid={session[1]}"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95) - 1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "n": len(ordered),
    }


def save(name: str, result: dict[str, object]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
