"""Deterministic demo data: a call centre's recordings over the last 60 days."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from vonosim.audio import size_for_duration

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

# Subscriber (customer_id) -> the extensions of its agents.
SUBSCRIBERS = {
    3: [f"sup90{n:02d}" for n in range(1, 13)],
    7: [str(n) for n in range(2001, 2009)],
    12: [f"ramal{n}" for n in range(301, 306)],
    21: [str(n) for n in range(4101, 4121)],
}
_DDDS = ("11", "21", "31", "41", "47", "48", "51", "61", "71", "81", "85", "19", "27", "62")


@dataclass(frozen=True, slots=True)
class Record:
    record_id: int
    customer_id: int
    calldate: dt.datetime  # naive, Sao Paulo wall-clock time
    clid: str
    source: str
    destination: str
    duration: int  # seconds

    @property
    def size(self) -> int:
        return size_for_duration(self.duration)


def _phone(rng: random.Random) -> str:
    ddd = rng.choice(_DDDS)
    if rng.random() < 0.7:
        return f"55{ddd}9{rng.randrange(6000, 10000)}{rng.randrange(10000):04d}"  # mobile
    return f"55{ddd}{rng.randrange(2, 6)}{rng.randrange(100, 1000)}{rng.randrange(10000):04d}"


def _duration(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.08:
        return rng.randrange(3, 20)  # hang-ups and wrong numbers
    if roll < 0.985:
        return min(1799, max(20, int(rng.lognormvariate(4.9, 0.8))))
    return rng.randrange(1801, 2700)  # the long escalations


def generate(
    *, seed: int = 2026, count: int = 2400, days: int = 60, today: dt.date | None = None
) -> list[Record]:
    """Make ``count`` recordings spread over the ``days`` days up to ``today``.

    The same seed and day give the same recordings. Calls fall in business hours, weighted
    towards weekdays, and none lies in the future.
    """
    rng = random.Random(seed)
    now = dt.datetime.now(SAO_PAULO).replace(tzinfo=None, microsecond=0)
    today = today or now.date()
    first_day = today - dt.timedelta(days=days - 1)
    weights = [0.35 if (first_day + dt.timedelta(d)).weekday() >= 5 else 1.0 for d in range(days)]
    subscribers = list(SUBSCRIBERS)
    records = []
    for _ in range(count):
        day = first_day + dt.timedelta(days=rng.choices(range(days), weights)[0])
        seconds = int(rng.triangular(7.5 * 3600, 21 * 3600, 11 * 3600))
        calldate = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
        if calldate > now:
            calldate -= dt.timedelta(days=1)
        customer_id = rng.choices(subscribers, weights=(5, 3, 1, 4))[0]
        extension = rng.choice(SUBSCRIBERS[customer_id])
        if rng.random() < 0.55:
            source, destination, clid = extension, _phone(rng), extension  # outbound
        else:
            phone = _phone(rng)
            source, destination, clid = phone, extension, phone  # inbound
        records.append((calldate, customer_id, clid, source, destination, _duration(rng)))
    records.sort()
    return [
        Record(10_001 + i, customer_id, calldate, clid, source, destination, duration)
        for i, (calldate, customer_id, clid, source, destination, duration) in enumerate(records)
    ]
