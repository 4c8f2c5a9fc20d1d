"""Start and steer the Vono simulator over its control endpoints, like any client would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class SimulatorProcess:
    """A ``python -m vonosim`` process on a real socket."""

    def __init__(self, *, port: int, token: str, key: str, args: tuple[str, ...] = ()) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.api = f"{self.base}/api/recording/{token}/{key}"
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "vonosim",
                "--port",
                str(port),
                "--token",
                token,
                "--key",
                key,
                *args,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"vonosim exited: {self._process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                self.control("GET", "/_sim/health")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("vonosim did not start within 60 s")

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)

    def kill(self) -> None:
        """Die at once, as a crash would: no clean shutdown."""
        self._process.kill()
        self._process.wait(timeout=10)

    def control(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    # -- the helpers tests use -----------------------------------------------------------

    def reset(self) -> None:
        self.control("POST", "/_sim/reset")

    def fault(self, kind: str, **options: Any) -> None:
        self.control("POST", "/_sim/faults", {"kind": kind, **options})

    def clear_faults(self) -> None:
        self.control("DELETE", "/_sim/faults")

    def configure(self, **settings: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "/_sim/config", settings)
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "/_sim/stats")
        return result

    def add_recording(self, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.control("POST", "/_sim/records", fields)["record"]
        return result

    def get(
        self,
        query: str = "",
        *,
        path: str = "",
        headers: dict[str, str] | None = None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """A raw request to the API endpoint: status, headers, body."""
        url = f"{self.api}{path}{'?' + query if query else ''}"
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def list(self, query: str = "", *, path: str = "") -> dict[str, Any]:
        status, _, body = self.get(query, path=path)
        assert status == 200
        result: dict[str, Any] = json.loads(body)
        return result
