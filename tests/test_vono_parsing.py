"""The vendor's formats, parsed defensively."""

from __future__ import annotations

import datetime as dt

import pytest

from recordings import vono


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("267,86 Kb", round(267.86 * 1024)),
        ("333,95 Mb", round(333.95 * 1024**2)),
        ("1,2 Gb", round(1.2 * 1024**3)),
        ("1.024,50 Kb", round(1024.5 * 1024)),
        ("2.048 Kb", 2048 * 1024),
        ("12.5 MB", round(12.5 * 1024**2)),
        ("512 b", 512),
        ("512", 512),
        ("0 Kb", 0),
        (" 7,5kb ", round(7.5 * 1024)),
        ("3 KiB", 3072),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert vono.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "Mb", "1,2,3 Mb", "12 parsecs", "-5 Kb", "1.23.4 Kb", "abc"])
def test_parse_size_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        vono.parse_size(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 min 08 seg", 68),
        ("1.486 min 47 seg", 89207),
        ("0 min 05 seg", 5),
        ("45 seg", 45),
        ("12 min", 720),
        ("1 h 02 min 03 seg", 3723),
        ("10.000 min 00 seg", 600000),
    ],
)
def test_parse_duration_text(text: str, expected: int) -> None:
    assert vono.parse_duration_text(text) == expected


@pytest.mark.parametrize("text", ["", "uma hora", "5 minutos e tanto", "min seg"])
def test_parse_duration_text_refuses_odd_text(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        vono.parse_duration_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.486", 1486.0), ("333,95", 333.95), ("1.234.567,8", 1234567.8), ("12.5", 12.5), ("7", 7.0)],
)
def test_parse_brazilian_number(text: str, expected: float) -> None:
    assert vono.parse_brazilian_number(text) == pytest.approx(expected)


def test_calldate_is_sao_paulo_local_time() -> None:
    moment = vono.parse_calldate("2018-03-14 14:03:46")
    assert moment == dt.datetime(2018, 3, 14, 17, 3, 46, tzinfo=dt.UTC)
    assert moment.tzinfo is vono.SAO_PAULO


@pytest.mark.parametrize("value", [None, "", "14/03/2018", "2018-02-30 10:00:00", 12345])
def test_bad_calldate_is_a_protocol_error(value: object) -> None:
    with pytest.raises(vono.VonoProtocolError, match="calldate"):
        vono.parse_calldate(value)


def _record(**changes: object) -> dict[str, object]:
    record: dict[str, object] = {
        "record_id": 1976,
        "customer_id": 3,
        "calldate": "2018-03-14 14:03:46",
        "clid": "sup9001",
        "source": "sup9001",
        "destination": "9003",
        "duration": 68,
        "duration2": "1 min 08 seg",
        "size": "267,86 Kb",
    }
    record.update(changes)
    return record


def test_numbers_sent_as_strings_are_read() -> None:
    recording = vono.parse_recording(_record(record_id="1976", customer_id="3", duration="68"))
    assert (recording.record_id, recording.customer_id, recording.duration) == (1976, 3, 68)


def test_missing_duration_falls_back_to_its_text() -> None:
    assert vono.parse_recording(_record(duration=None)).duration == 68


def test_unreadable_size_keeps_the_text_and_no_number() -> None:
    recording = vono.parse_recording(_record(size="n/d"))
    assert recording.size is None
    assert recording.size_text == "n/d"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"record_id": None}, "record_id"),
        ({"record_id": "abc"}, "record_id"),
        ({"record_id": True}, "record_id"),
        ({"duration": -4}, "duration"),
        ({"duration": 1.5}, "duration"),
        ({"duration": None, "duration2": ""}, "duration"),
        ({"customer_id": "x"}, "customer_id"),
    ],
)
def test_bad_fields_are_protocol_errors_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(vono.VonoProtocolError, match=field):
        vono.parse_recording(_record(**changes))


def test_empty_strings_and_nulls_become_empty_text() -> None:
    recording = vono.parse_recording(_record(clid=None, source="", destination=" 9003 "))
    assert (recording.clid, recording.source, recording.destination) == ("", "", "9003")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not an object"),
        ({"total_records": 1, "data": {}}, "not a list"),
        ({"data": []}, "total_records"),
        ({"total_records": 1, "data": ["x"]}, "not a record"),
        ({"total_records": "muitos", "data": []}, "total_records"),
    ],
)
def test_bad_pages_are_protocol_errors(document: object, message: str) -> None:
    with pytest.raises(vono.VonoProtocolError, match=message):
        vono.parse_page(document)


def test_page_without_paging_fields_uses_what_was_asked_and_got() -> None:
    page = vono.parse_page(
        {"total_records": 2, "total_time": 10, "data": [_record(), _record(record_id=2)]},
        requested_start=40,
    )
    assert (page.offset, page.limit, len(page.recordings)) == (40, 2, 2)
    assert page.total_size is None and page.total_size_text == ""
