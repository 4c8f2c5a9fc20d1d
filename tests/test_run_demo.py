"""``make run`` survives its parts: the simulator dies, the portal stays up and says so, and
the simulator comes back with its state. Runs scripts/run-demo.sh itself, on free ports."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.environment import _free_port
from tests.simulator import ROOT


class Demo:
    def __init__(self, tmp: Path) -> None:
        self.port, self.sim_port = _free_port(), _free_port()
        self.state = tmp / "vonosim-state.json"
        env = {
            **os.environ,
            "PORT": str(self.port),
            "SIM_PORT": str(self.sim_port),
            "SIM_STATE": str(self.state),
            "SIM_RESTART_SECONDS": "3",
            "DEMO_DATABASE_URL": f"sqlite:///{tmp / 'demo.sqlite3'}",
        }
        for name in ("DATABASE_URL", "CACHE_URL", "SECRET_KEY", "DEBUG", "VONO_BASE_URL"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            ["scripts/run-demo.sh"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as one at the end
        )
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.sim_api = f"http://127.0.0.1:{self.sim_port}/api/recording/demo-token/demo-key"

    def get(self, path: str, *, data: bytes | None = None) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with self.opener.open(url, data=data, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def sim(self, path: str = "", *, query: str = "", method: str = "GET") -> Any:
        url = (
            f"{self.sim_api}{path}?{query}"
            if path == ""
            else f"http://127.0.0.1:{self.sim_port}{path}"
        )
        request = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def sign_in(self, username: str, password: str) -> None:
        _, page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token
        form = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
        ).encode()
        status, page = self.get("/accounts/login/", data=form)
        assert status == 200
        assert 'action="/accounts/logout/"' in page, "signed in"

    def descendants(self) -> list[str]:
        """The command lines of every process the demo started."""
        children: dict[int, list[int]] = {}
        commands: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                commands[int(entry.name)] = (entry / "cmdline").read_text().replace("\0", " ")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
        found, pending = [], [self.process.pid]
        while pending:
            for child in children.get(pending.pop(), []):
                found.append(commands.get(child, ""))
                pending.append(child)
        return found

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"not within {seconds} s: {what}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path)
    yield running
    running.stop()


def test_the_portal_outlives_the_simulator_and_the_simulator_its_restart(demo: Demo) -> None:
    _until(lambda: demo.get("/healthz")[0] == 200, 180, "the demo starts")
    demo.sign_in("supervisor", "vono-demo")
    assert "data-record-id" in demo.get("/recordings/?date_ini=&date_end=")[1]
    first = demo.sim(query="limit=1")["data"][0]["record_id"]
    assert demo.sim(query=f"type=id&ids[]={first}", method="DELETE")["deleted"] == 1

    pid = demo.sim("/_sim/health")["pid"]
    os.kill(pid, signal.SIGKILL)  # a crash, not a clean stop
    status, _ = demo.get("/healthz")
    assert status == 200, "this instance still serves (an upstream outage is only degraded)"
    status, page = demo.get("/recordings/?date_ini=&date_end=")
    assert status == 200, "the dashboard is up"
    assert "O Vono não respondeu a tempo ou está fora do ar" in page
    running = demo.descendants()
    assert any("runserver" in c for c in running), "the dashboard process is alive"
    assert any("db_worker" in c for c in running), "the worker process is alive"

    _until(
        lambda: "data-record-id" in demo.get("/recordings/?date_ini=&date_end=")[1],
        30,
        "the simulator comes back and the pages with it",
    )
    assert demo.sim("/_sim/health")["pid"] != pid
    assert demo.sim(query=f"id_record={first}")["total_records"] == 0, "still deleted"
    status, page = demo.get("/recordings/?date_ini=&date_end=")
    assert status == 200 and "data-record-id" in page
    assert "2.399" in page


def test_a_number_search_is_answered_by_the_index_soon_after_the_page_comes_up(
    demo: Demo,
) -> None:
    """The worker indexes the simulator's days in the background from the start: the list's
    week is whole within seconds, and until then the page says the answer is partial."""
    _until(lambda: demo.get("/healthz")[0] == 200, 180, "the demo starts")
    demo.sign_in("supervisor", "vono-demo")

    def whole_answer() -> bool:
        status, page = demo.get("/recordings/?number=%2841%29+9")
        assert status == 200
        if 'class="age' not in page:
            return False  # not an index answer
        # Until the week is indexed, the page warns; once it is, it does not.
        return "data-coverage=" not in page and "data-record-id" in page

    _until(whole_answer, 60, "a number search answered whole by the index")
    _, page = demo.get("/recordings/?number=%2841%29+9")
    assert "índice atualizado há" in page
