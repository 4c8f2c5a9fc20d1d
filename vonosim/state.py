"""What the simulator must remember across restarts, kept in a small JSON file.

A real upstream does not bring deleted recordings back when it restarts, and never hands out
an id twice. The demo data is regenerated from its seed and the day it was first made; the
file holds only what changed since: the ids deleted, the recordings added, and the highest id
ever given out.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vonosim.data import Record

VERSION = 1


@dataclass
class State:
    day: dt.date  # the demo data's "today"
    deleted: set[int] = field(default_factory=set)
    added: dict[int, Record] = field(default_factory=dict)
    last_id: int = 0  # the highest id ever given out: new ids go above it

    def as_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "day": self.day.isoformat(),
            "deleted": sorted(self.deleted),
            "added": [_record_json(r) for r in self.added.values()],
            "last_id": self.last_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        if data.get("version") != VERSION:
            raise ValueError(f"unknown simulator state version {data.get('version')!r}")
        added = [_record(item) for item in data.get("added", [])]
        return cls(
            day=dt.date.fromisoformat(data["day"]),
            deleted={int(i) for i in data.get("deleted", [])},
            added={r.record_id: r for r in added},
            last_id=int(data.get("last_id", 0)),
        )


def load(path: Path) -> State | None:
    """The state saved at ``path``, or None when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return State.from_json(json.loads(text))


def save(path: Path, state: State) -> None:
    """Write the state atomically: a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".vonosim-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state.as_json(), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record_json(r: Record) -> dict[str, Any]:
    return {
        "record_id": r.record_id,
        "customer_id": r.customer_id,
        "calldate": r.calldate.isoformat(),
        "clid": r.clid,
        "source": r.source,
        "destination": r.destination,
        "duration": r.duration,
    }


def _record(item: dict[str, Any]) -> Record:
    return Record(
        record_id=int(item["record_id"]),
        customer_id=int(item["customer_id"]),
        calldate=dt.datetime.fromisoformat(item["calldate"]),
        clid=str(item["clid"]),
        source=str(item["source"]),
        destination=str(item["destination"]),
        duration=int(item["duration"]),
    )
