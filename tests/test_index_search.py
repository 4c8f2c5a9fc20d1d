"""Searching the recording index: numbers typed any way, durations, sorts, subscriber scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from index import numbers, selectors, sync
from index.models import IndexedRecording
from recordings import vono

pytestmark = pytest.mark.django_db

SP = sync.SAO_PAULO


def _recording(
    record_id: int,
    *,
    source: str,
    destination: str,
    clid: str = "",
    duration: int = 60,
    size: int | None = 1000,
    customer_id: int = 3,
    when: dt.datetime | None = None,
) -> vono.Recording:
    return vono.Recording(
        record_id=record_id,
        customer_id=customer_id,
        calldate=when or dt.datetime(2026, 11, 20, 10, 0, record_id % 60, tzinfo=SP),
        clid=clid or source,
        source=source,
        destination=destination,
        duration=duration,
        duration_text="",
        size=size,
        size_text="",
    )


@pytest.fixture
def calls(db: None) -> dict[str, int]:
    rows = [
        _recording(1, source="5541985977963", destination="4115", duration=68, size=5000),
        _recording(2, source="4101", destination="+55 (21) 3344-5566", duration=5, size=200),
        _recording(
            3,
            source="sup9001",
            destination="041985977963",
            duration=1800,
            size=90_000,
            customer_id=7,
        ),
        _recording(4, source="ramal301", destination="5511999990000", clid="ramal301", duration=59),
        _recording(5, source="2003", destination="7963", duration=60, size=None),
    ]
    sync.upsert_page(rows, timezone.now())
    return {"mobile": 1, "landline": 2, "other_subscriber": 3, "text": 4, "short": 5}


def _ids(**filters: object) -> list[int]:
    return list(selectors.search(**filters).values_list("record_id", flat=True))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "typed",
    ["(41) 98597-7963", "+55 41 98597-7963", "41985977963", "5541985977963", "041 98597-7963"],
)
def test_a_mobile_number_typed_any_way_finds_its_calls(calls: dict[str, int], typed: str) -> None:
    assert sorted(_ids(number=typed)) == [1, 3]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("4115", [1]),  # an extension, exactly
        ("98597", [1, 3]),  # a fragment of a number
        ("3344-5566", [2]),
        ("+55 21 3344 5566", [2]),
        ("sup9001", [3]),  # an extension with letters: its digits
        ("ramal", [4]),  # no digits at all: the vendor's texts
        ("RAMAL30", [4]),
        ("7963", [1, 3, 5]),
    ],
)
def test_partial_numbers_and_extensions(
    calls: dict[str, int], typed: str, expected: list[int]
) -> None:
    assert sorted(_ids(number=typed)) == expected


def test_a_search_never_matches_across_two_numbers(calls: dict[str, int]) -> None:
    # "…7963" ends the source and "4115" is the destination of call 1.
    assert _ids(number="79634115") == []


def test_duration_bounds_are_inclusive(calls: dict[str, int]) -> None:
    assert sorted(_ids(duration_min=59, duration_max=68)) == [1, 4, 5]
    assert sorted(_ids(duration_min=60)) == [1, 3, 5]
    assert sorted(_ids(duration_max=5)) == [2]
    assert _ids(duration_min=69, duration_max=1799) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-calldate", [5, 4, 3, 2, 1]),
        ("calldate", [1, 2, 3, 4, 5]),
        ("duration", [2, 4, 5, 1, 3]),
        ("-duration", [3, 1, 5, 4, 2]),
        ("size", [2, 4, 1, 3, 5]),
        ("-size", [5, 3, 1, 4, 2]),
    ],
)
def test_every_sort(calls: dict[str, int], sort: str, expected: list[int]) -> None:
    got = _ids(sort=sort)
    if "size" in sort:
        # Where an unknown size (None) sorts is the database's choice; the rest is ordered.
        got = [i for i in got if i != 5]
        expected = [i for i in expected if i != 5]
    assert got == expected


def test_an_unknown_sort_is_refused(calls: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="sort"):
        selectors.search(sort="record_id; DROP TABLE")


def test_scope_limits_to_one_subscriber(calls: dict[str, int]) -> None:
    assert sorted(_ids(scope=3)) == [1, 2, 4, 5]
    assert _ids(scope=7) == [3]
    assert _ids(scope=7, number="4115") == []
    assert _ids(scope=99) == []


def test_filters_combine_with_dates(db: None) -> None:
    day = dt.datetime(2026, 11, 20, 23, 59, 59, tzinfo=SP)
    sync.upsert_page(
        [
            _recording(10, source="4101", destination="4115", when=day),
            _recording(11, source="4101", destination="4115", when=day + dt.timedelta(seconds=2)),
        ],
        timezone.now(),
    )
    # 23:59:59 in São Paulo is the next day in UTC: the local day counts.
    assert _ids(number="4101", date_ini=dt.date(2026, 11, 20), date_end=dt.date(2026, 11, 20)) == [
        10
    ]
    assert _ids(number="4101", date_ini=dt.date(2026, 11, 21)) == [11]


def test_gone_recordings_are_not_found(calls: dict[str, int]) -> None:
    IndexedRecording.objects.filter(record_id=1).update(
        gone_at=timezone.now(), gone_how=IndexedRecording.GoneHow.VANISHED
    )
    assert _ids(number="41985977963") == [3]


def test_normalising_numbers() -> None:
    assert numbers.normalise("+55 (41) 98597-7963") == "41985977963"
    assert numbers.normalise("5541985977963") == "41985977963"
    assert numbers.normalise("041985977963") == "41985977963"
    assert numbers.normalise("552133445566") == "2133445566"
    assert numbers.normalise("4115") == "4115"
    assert numbers.normalise("55") == "55"  # too short to be a country code
    assert numbers.normalise("sup9001") == "9001"
    assert numbers.normalise("") == ""
