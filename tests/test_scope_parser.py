"""Extension sets as managers type them: read, refused with the item named, stored one way."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recordings.scope import (
    MAX_ITEMS,
    MAX_RANGE_SPAN,
    ExtensionError,
    Scope,
    canonical_extensions,
    parse_extensions,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("4101-4120, 2003", "2003, 4101-4120"),
        ("4101 - 4120;2003\n2004", "2003-2004, 4101-4120"),  # adjacent singles merge
        ("4101-4110, 4111-4120", "4101-4120"),  # adjacent ranges merge
        ("4101-4115, 4110-4120, 4112", "4101-4120"),  # overlaps merge
        ("2003, 2003", "2003"),
        ("4101–4120", "4101-4120"),  # an en dash, as word processors type it
        ("SUP9001-sup9012", "sup9001-sup9012"),  # letters without case
        ("sup9001-9012", "sup9001-sup9012"),  # the end keeps the start's prefix
        ("0101-0120, 101", "101, 0101-0120"),  # digit counts differ: different extensions
        ("ramal301, a1b2", "a1b2, ramal301"),
        ("4110-4110", "4110"),
    ],
)
def test_typed_sets_are_stored_canonically(typed: str, stored: str) -> None:
    assert canonical_extensions(typed) == stored


@pytest.mark.parametrize("typed", ["", "   ", " , ; ", "\n"])
def test_nothing_typed_is_no_extension_limit(typed: str) -> None:
    assert parse_extensions(typed) is None
    assert canonical_extensions(typed) == ""


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("4120-4101", "4120-4101"),  # reversed: the message names it and the fix
        ("4101-", "4101-"),
        ("-4120", "-4120"),
        ("4101-4110-4120", "4101-4110-4120"),
        ("41a1-4120", "41a1-4120"),
        ("4101-41200", "4101-41200"),  # digit counts differ
        ("sup9001-ramal9010", "sup9001-ramal9010"),
        ("ramal-ramal", "ramal-ramal"),
        ("41.01", "41.01"),
        ("ramál", "ramál"),
        ("٤١٠١", "٤١٠١"),  # Arabic-Indic digits are not extensions
        ("4101\x00", "4101\x00"),
        ("1" * 21, "1" * 21),
        ("10000-30000", "10000-30000"),  # wider than a block of extensions
    ],
)
def test_what_cannot_be_read_is_refused_naming_the_item(typed: str, says: str) -> None:
    with pytest.raises(ExtensionError) as caught:
        parse_extensions(f"2003, {typed}")
    assert says in str(caught.value)


def test_a_reversed_range_says_how_to_write_it() -> None:
    with pytest.raises(ExtensionError, match="4101-4120"):
        parse_extensions("4120-4101")


def test_too_many_items_are_refused() -> None:
    parse_extensions(", ".join(str(1000 + 2 * i) for i in range(MAX_ITEMS)))
    with pytest.raises(ExtensionError, match=str(MAX_ITEMS)):
        parse_extensions(", ".join(str(1000 + 2 * i) for i in range(MAX_ITEMS + 1)))


def test_the_widest_range_allowed() -> None:
    parse_extensions(f"10000-{10000 + MAX_RANGE_SPAN - 1}")
    with pytest.raises(ExtensionError):
        parse_extensions(f"10000-{10000 + MAX_RANGE_SPAN}")


def test_membership_is_exact_about_digits_and_prefix() -> None:
    team = parse_extensions("4101-4120, sup9001-sup9003, a1b2")
    assert team is not None
    for inside in ("4101", "4120", " 4110 ", "SUP9002", "a1b2", "A1B2"):
        assert team.contains(inside), inside
    for outside in ("4100", "4121", "04110", "41100", "411", "411:", "sup9004", "xsup9001", ""):
        assert not team.contains(outside), outside
    assert team.contains_call("5541985977963", "4105")
    assert not team.contains_call("5541985977963", "5541985974105")


def test_scope_covers() -> None:
    everything = Scope()
    subscriber = Scope(21)
    team = Scope(None, parse_extensions("4101-4120"))
    small_team = Scope(None, parse_extensions("4105-4110"))
    team_of_21 = Scope(21, parse_extensions("4101-4120"))
    assert everything.covers(subscriber) and everything.covers(team)
    assert not subscriber.covers(everything) and not team.covers(everything)
    assert team.covers(small_team) and not small_team.covers(team)
    assert subscriber.covers(team_of_21) and team.covers(team_of_21)
    assert not team_of_21.covers(team)  # a team of every subscriber reaches beyond 21
    assert not subscriber.covers(team) and not team.covers(subscriber)
    assert not Scope(7).covers(team_of_21)


# --- properties ------------------------------------------------------------------------

_prefix = st.sampled_from(["", "sup", "ramal"])
_width = st.integers(min_value=1, max_value=5)


@st.composite
def _ranges(draw: st.DrawFn) -> str:
    prefix, width = draw(_prefix), draw(_width)
    top = 10**width - 1
    low = draw(st.integers(min_value=0, max_value=top))
    high = draw(st.integers(min_value=low, max_value=min(top, low + 50)))
    text = f"{prefix}{low:0{width}d}"
    return text if low == high else f"{text}-{prefix}{high:0{width}d}"


_sets = st.lists(_ranges(), min_size=1, max_size=8)
_separators = st.sampled_from([", ", ",", ";", " ", "\n", " ,  "])


@settings(max_examples=200, deadline=None)
@given(items=_sets, separator=_separators)
def test_canonical_text_reads_back_to_the_same_set(items: list[str], separator: str) -> None:
    parsed = parse_extensions(separator.join(items))
    assert parsed is not None
    assert parse_extensions(str(parsed)) == parsed
    assert canonical_extensions(str(parsed)) == str(parsed)
    # Order and repetition typed do not matter.
    assert parse_extensions(separator.join(reversed(items + items))) == parsed


@settings(max_examples=200, deadline=None)
@given(items=_sets, probe=st.integers(min_value=0, max_value=99999), width=_width, prefix=_prefix)
def test_membership_is_the_union_of_the_items(
    items: list[str], probe: int, width: int, prefix: str
) -> None:
    number = f"{prefix}{probe % 10**width:0{width}d}"
    whole = parse_extensions(", ".join(items))
    assert whole is not None
    one_by_one = [parse_extensions(item) for item in items]
    assert whole.contains(number) == any(s is not None and s.contains(number) for s in one_by_one)


@settings(max_examples=200, deadline=None)
@given(items=_sets, more=_sets)
def test_a_set_covers_its_parts_and_not_what_it_lacks(items: list[str], more: list[str]) -> None:
    small = parse_extensions(", ".join(items))
    big = parse_extensions(", ".join(items + more))
    assert small is not None and big is not None
    assert big.covers(small)
    assert small.covers(big) == (small == big)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_any_text_is_read_or_refused_never_crashes(text: str) -> None:
    try:
        parsed = parse_extensions(text)
    except ExtensionError as exc:
        message = str(exc)
        assert message, "a refusal always says why"
        return
    assert parsed is None or parse_extensions(str(parsed)) == parsed
