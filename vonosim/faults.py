"""Faults the simulator injects, set and cleared over HTTP while it runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("latency", "status", "error", "malformed", "truncate", "reset", "slow", "body")


@dataclass
class Fault:
    """One fault: what it does, which requests it hits, and how often.

    ``skip`` lets that many matching requests through first; ``times`` limits how many it
    hits (``None``: every one until cleared). ``target`` is ``list``, ``download``,
    ``delete`` or ``any``.
    """

    kind: str
    target: str = "any"
    skip: int = 0
    times: int | None = None
    seconds: float = 0.0  # latency, and the pause between chunks of a slow stream
    status: int = 503
    reason: str = "Erro interno simulado"
    chunk: int = 1024  # bytes per chunk of a slow stream
    body: str = ""  # a canned answer, sent as is with ``content_type``
    content_type: str = "application/json"
    hits: int = field(default=0, init=False)
    seen: int = field(default=0, init=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        target = data.get("target", "any")
        if target not in ("list", "download", "delete", "any"):
            raise ValueError(f"unknown target {target!r}")
        fault = cls(kind=kind, target=target, status=200 if kind == "body" else 503)
        for name in ("skip", "times", "status", "chunk"):
            if data.get(name) is not None:
                setattr(fault, name, int(data[name]))
        if data.get("seconds") is not None:
            fault.seconds = float(data["seconds"])
        for name in ("reason", "body", "content_type"):
            if data.get(name) is not None:
                setattr(fault, name, str(data[name]))
        return fault

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "skip": self.skip,
            "times": self.times,
            "seconds": self.seconds,
            "status": self.status,
            "reason": self.reason,
            "chunk": self.chunk,
            "hits": self.hits,
            "body": self.body,
            "content_type": self.content_type,
        }


class FaultBoard:
    """The active faults; thread-safe, since the server handles requests in threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_json() for f in self._faults]

    def take(self, target: str) -> list[Fault]:
        """The faults that hit this request; counts it against each matching fault."""
        hit = []
        with self._lock:
            for fault in self._faults:
                if fault.target not in ("any", target):
                    continue
                fault.seen += 1
                if fault.seen <= fault.skip:
                    continue
                if fault.times is not None and fault.hits >= fault.times:
                    continue
                fault.hits += 1
                hit.append(fault)
        return hit
