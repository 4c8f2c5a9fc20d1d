"""Searching the recording index: numbers typed any way, durations, sorts, subscriber scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from index import numbers, selectors, sync
from index.models import IndexedRecording
from recordings import vono
from tests.conftest import make_recording

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
    return make_recording(
        record_id,
        when or dt.datetime(2026, 11, 20, 10, 0, record_id % 60, tzinfo=SP),
        customer_id=customer_id,
        source=source,
        destination=destination,
        clid=clid,
        duration=duration,
        size=size,
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


def test_a_day_starts_at_midnight_in_sao_paulo(db: None) -> None:
    """The window is bounded by moments (the date order's index): midnight belongs to the
    day it starts, for a window of one day and for an open end alike."""
    midnight = dt.datetime(2026, 11, 21, 0, 0, 0, tzinfo=SP)
    sync.upsert_page(
        [
            _recording(20, source="4101", destination="4115", when=midnight),
            _recording(
                21, source="4101", destination="4115", when=midnight - dt.timedelta(seconds=1)
            ),
        ],
        timezone.now(),
    )
    one_day = {"date_ini": dt.date(2026, 11, 21), "date_end": dt.date(2026, 11, 21)}
    assert _ids(**one_day) == [20]
    assert _ids(date_end=dt.date(2026, 11, 20)) == [21]
    assert _ids(date_ini=dt.date(2026, 11, 21)) == [20]


def test_gone_recordings_are_not_ids(calls: dict[str, int]) -> None:
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


# --- runs of four digits (the PostgreSQL path of a partial-number search) ---------------------


def test_runs_of_four_digits_stay_inside_each_number() -> None:
    assert numbers.grams("41985977963 4115") == sorted(
        {4198, 1985, 9859, 8597, 5977, 9779, 7796, 7963, 4115}
    )
    assert numbers.grams("1234 5678") == [1234, 5678]  # never 2345, 3456...
    assert numbers.grams("0041 123 ") == [41]  # "0041"; three digits make no run
    assert numbers.grams("77777777") == [7777]


def test_fewer_than_four_digits_have_no_runs_to_narrow_by() -> None:
    assert numbers.query_grams("411") == []
    assert numbers.query_grams("4115") == [4115]
    assert numbers.query_grams("") == []


def test_the_index_stores_the_runs_of_its_numbers(calls: dict[str, int]) -> None:
    row = IndexedRecording.objects.get(pk=1)
    assert row.numbers == "41985977963 4115 41985977963"
    assert row.number_grams == numbers.grams(row.numbers)


def test_holding_every_run_of_a_fragment_is_not_holding_the_fragment(db: None) -> None:
    # Row 1 has the runs 2341, 3412 (in 23412) and 1234 (in 1234): all the runs of 123412,
    # yet not 123412 itself. Row 2 has it.
    sync.upsert_page(
        [
            _recording(1, source="23412", destination="1234"),
            _recording(2, source="99123412", destination="5000"),
        ],
        timezone.now(),
    )
    assert _ids(number="123412") == [2]
    assert _ids(number="3412") == [2, 1]


def test_a_whole_number_and_an_extension_use_the_runs_and_find_the_same(
    calls: dict[str, int],
) -> None:
    assert _ids(number="(41) 98597-7963") == [3, 1]
    assert _ids(number="4115") == [1]
    assert _ids(number="97796") == [3, 1]


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="the migration fills existing rows with SQL on PostgreSQL",
)
def test_the_migrations_sql_makes_the_same_runs_as_the_python(calls: dict[str, int]) -> None:
    from importlib import import_module

    from django.db import connection

    sync.upsert_page(
        [_recording(9, source="ramal sem número", destination="0800 123-4567")], timezone.now()
    )
    IndexedRecording.objects.update(number_grams=[])
    with connection.cursor() as cursor:
        cursor.execute(import_module("index.migrations.0003_number_grams").FILL_SQL)
    for row in IndexedRecording.objects.all():
        assert row.number_grams == numbers.grams(row.numbers), row.numbers


def test_a_broad_search_is_counted_up_to_a_cap(calls: dict[str, int]) -> None:
    assert selectors.count_up_to(selectors.search(number="7963"), cap=5) == (3, False)
    assert selectors.count_up_to(selectors.search(number="7963"), cap=3) == (3, False)
    assert selectors.count_up_to(selectors.search(number="7963"), cap=2) == (2, True)
    assert selectors.count_up_to(selectors.search(), cap=1) == (1, True)


@pytest.mark.parametrize("typed", ["4115", "7963", "97796", "(41) 98597-7963", "411"])
def test_rows_to_count_are_the_rows_to_show(calls: dict[str, int], typed: str) -> None:
    shown = set(_ids(number=typed))
    assert set(selectors.search(number=typed, for_count=True).values_list("pk", flat=True)) == (
        shown
    )
    assert selectors.count_up_to(selectors.search(number=typed, for_count=True)) == (
        len(shown),
        False,
    )
