"""Phone numbers and extensions as digits, so every way people type a number finds it.

Pure functions, no I/O: the index stores what ``normalise`` makes of each number, and a
search looks for what ``normalise_query`` makes of what was typed.
"""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")
COUNTRY_CODE = "55"  # Brazil
INTERNATIONAL_PREFIX = "00"  # dialled before a country code from Brazil
# A Brazilian national number (DDD + subscriber) has 10 (landline) or 11 (mobile) digits.
_NATIONAL_LENGTHS = (10, 11)


def digits(text: str) -> str:
    """Only the digits of ``text``: ``(41) 98597-7963`` -> ``41985977963``."""
    return _NON_DIGITS.sub("", text or "")


def _national(number: str) -> bool:
    return len(number) in _NATIONAL_LENGTHS


def normalise(text: str) -> str:
    """A number as the index stores it: digits only, without Brazil's country code (after
    the international prefix ``00`` or not) or a trunk prefix ``0``, so
    ``+55 41 98597-7963``, ``0055 41 98597-7963``, ``+55 (041) 98597-7963``,
    ``041 98597-7963``, ``0 15 41 98597-7963`` (with a carrier code) and ``41985977963``
    are all ``41985977963``: a legal hold typed one way covers the calls Vono lists another
    way. Extensions keep their digits (``sup9001`` -> ``9001``)."""
    number = digits(text)
    for prefix in (INTERNATIONAL_PREFIX + COUNTRY_CODE, COUNTRY_CODE):
        rest = number[len(prefix) :]
        if number.startswith(prefix) and (
            _national(rest) or (rest.startswith("0") and _national(rest[1:]))
        ):
            number = rest
            break
    if number.startswith("0") and _national(number[1:]):
        number = number[1:]
    elif number.startswith("0") and _national(number[3:]):
        number = number[3:]  # a long-distance carrier code: 0 15 41 3333-4444
    return number


def normalise_query(text: str) -> str:
    """What a typed search looks for. A whole international or trunk-prefixed number loses
    its prefix like a stored one; a fragment (``4115``, ``98597``) is kept as typed."""
    return normalise(text)


# Partial-number search on PostgreSQL looks up runs of GRAM digits. Digit trigrams (pg_trgm)
# come from an alphabet of ten: a thousand of them in all, each one in tens of thousands of
# rows, so a fragment's few trigrams intersect long lists. Runs of four digits number ten
# thousand, each in about a thousand rows at a million recordings (bench/README.md).
GRAM = 4


def grams(numbers: str) -> list[int]:
    """Every run of GRAM digits inside each of the space-separated ``numbers`` (never across
    two of them), as integers, sorted and without repeats: what the index stores beside them."""
    return sorted(
        {int(word[i : i + GRAM]) for word in numbers.split() for i in range(len(word) - GRAM + 1)}
    )


def query_grams(wanted: str) -> list[int]:
    """The runs a row must hold to contain the digits ``wanted`` (as ``normalise_query``
    makes them); empty when there are fewer than GRAM digits, which no run can narrow."""
    return grams(wanted) if wanted.isdigit() else []
