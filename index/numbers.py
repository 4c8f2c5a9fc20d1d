"""Phone numbers and extensions as digits, so every way people type a number finds it.

Pure functions, no I/O: the index stores what ``normalise`` makes of each number, and a
search looks for what ``normalise_query`` makes of what was typed.
"""

from __future__ import annotations

import re

_NON_DIGITS = re.compile(r"\D+")
COUNTRY_CODE = "55"  # Brazil
# A Brazilian national number (DDD + subscriber) has 10 (landline) or 11 (mobile) digits.
_NATIONAL_LENGTHS = (10, 11)


def digits(text: str) -> str:
    """Only the digits of ``text``: ``(41) 98597-7963`` -> ``41985977963``."""
    return _NON_DIGITS.sub("", text or "")


def normalise(text: str) -> str:
    """A number as the index stores it: digits only, without Brazil's country code or a
    trunk prefix ``0``, so ``+55 41 98597-7963``, ``041 98597-7963`` and ``41985977963``
    are all ``41985977963``. Extensions keep their digits (``sup9001`` -> ``9001``)."""
    number = digits(text)
    if number.startswith(COUNTRY_CODE) and len(number) - 2 in _NATIONAL_LENGTHS:
        return number[2:]
    if number.startswith("0") and len(number) - 1 in _NATIONAL_LENGTHS:
        return number[1:]
    return number


def normalise_query(text: str) -> str:
    """What a typed search looks for. A whole international or trunk-prefixed number loses
    its prefix like a stored one; a fragment (``4115``, ``98597``) is kept as typed."""
    return normalise(text)
