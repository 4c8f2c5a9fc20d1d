"""What a user may see: one subscriber, a set of extensions, both, or everything.

Pure values, no I/O. ``parse_extensions`` turns what a manager types (``4101-4120, 2003``)
into an ``ExtensionSet`` with one canonical text, and refuses anything it cannot read with
a message naming the item. ``Scope`` is the immutable value ``recordings.access.scope_of``
returns; the index (``index.selectors.scope_q``) and the access checks read it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

MAX_ITEMS = 100
MAX_TOKEN_LENGTH = 20
# A PBX's block of extensions, at most: a "range" wider than this is really "every number".
MAX_RANGE_SPAN = 10_000
# An extension is letters and digits; a range's ends are a common prefix and digits.
_TOKEN = re.compile(r"[a-z0-9]+", re.ASCII)
_NUMBERED = re.compile(r"(?P<prefix>[a-z]*)(?P<digits>[0-9]+)", re.ASCII)
_SEPARATORS = re.compile(r"[\s,;]+")
_AROUND_DASH = re.compile(r"\s*[-–]\s*")


class ExtensionError(ValueError):
    """What a person typed cannot be read as extensions; the message says which item."""


@dataclass(frozen=True, slots=True, order=True)
class ExtensionRange:
    """``prefix`` + a number of ``width`` digits between ``low`` and ``high``; width 0 is
    the literal extension ``prefix`` (``a1b2``, which has no numeric part to range over)."""

    prefix: str
    width: int
    low: int
    high: int

    def __str__(self) -> str:
        if self.width == 0:
            return self.prefix
        low = f"{self.prefix}{self.low:0{self.width}d}"
        if self.low == self.high:
            return low
        return f"{low}-{self.prefix}{self.high:0{self.width}d}"

    def contains(self, number: str) -> bool:
        text = number.strip().lower()
        if self.width == 0:
            return text == self.prefix
        match = _NUMBERED.fullmatch(text)
        return bool(
            match
            and match["prefix"] == self.prefix
            and len(match["digits"]) == self.width
            and self.low <= int(match["digits"]) <= self.high
        )

    def covers(self, other: ExtensionRange) -> bool:
        return (
            self.prefix == other.prefix
            and self.width == other.width
            and self.low <= other.low
            and other.high <= self.high
        )


@dataclass(frozen=True, slots=True)
class ExtensionSet:
    """Extensions and ranges, sorted and merged: equal sets have equal text."""

    ranges: tuple[ExtensionRange, ...]

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.ranges)

    def contains(self, number: str) -> bool:
        return any(r.contains(number) for r in self.ranges)

    def contains_call(self, source: str, destination: str) -> bool:
        """A call belongs to the set when its source or its destination does."""
        return self.contains(source) or self.contains(destination)

    def covers(self, other: ExtensionSet) -> bool:
        """Every extension of ``other`` is in this set (ranges are merged, so one of ours
        holds each of theirs whole)."""
        return all(any(mine.covers(theirs) for mine in self.ranges) for theirs in other.ranges)


def _endpoint(text: str, item: str) -> tuple[str, str]:
    match = _NUMBERED.fullmatch(text)
    if match is None:
        raise ExtensionError(
            _("Na faixa “%(item)s”, as pontas devem terminar em dígitos (ex.: 4101-4120).")
            % {"item": item}
        )
    return match["prefix"], match["digits"]


def _token(text: str, item: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise ExtensionError(
            _("“%(item)s” não é um ramal: use só letras e números, e hífen para faixas.")
            % {"item": item}
        )
    if len(text) > MAX_TOKEN_LENGTH:
        raise ExtensionError(
            _("O ramal “%(item)s” é longo demais (até %(max)s caracteres).")
            % {"item": item, "max": MAX_TOKEN_LENGTH}
        )
    return text


def _item(item: str) -> ExtensionRange:
    text = item.lower()
    if "-" not in text:
        token = _token(text, item)
        match = _NUMBERED.fullmatch(token)
        if match is None:
            return ExtensionRange(token, 0, 0, 0)
        number = int(match["digits"])
        return ExtensionRange(match["prefix"], len(match["digits"]), number, number)
    parts = text.split("-")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ExtensionError(
            _("“%(item)s” não é uma faixa: escreva o primeiro e o último ramal (ex.: 4101-4120).")
            % {"item": item}
        )
    start, end = (_token(part, item) for part in parts)
    prefix, low = _endpoint(start, item)
    end_prefix, high = _endpoint(end, item)
    if end_prefix == "" and prefix:
        end_prefix = prefix  # sup9001-9012: the end keeps the start's prefix
    if end_prefix != prefix or len(low) != len(high):
        raise ExtensionError(
            _(
                "Na faixa “%(item)s”, as duas pontas precisam do mesmo prefixo e do mesmo "
                "número de dígitos."
            )
            % {"item": item}
        )
    if int(low) > int(high):
        raise ExtensionError(
            _("A faixa “%(item)s” está invertida: escreva %(fixed)s.")
            % {"item": item, "fixed": f"{prefix}{high}-{prefix}{low}"}
        )
    if int(high) - int(low) + 1 > MAX_RANGE_SPAN:
        raise ExtensionError(
            _("A faixa “%(item)s” tem mais de %(max)s ramais: divida-a ou use um assinante.")
            % {"item": item, "max": f"{MAX_RANGE_SPAN:,}".replace(",", ".")}
        )
    return ExtensionRange(prefix, len(low), int(low), int(high))


def _merged(ranges: list[ExtensionRange]) -> tuple[ExtensionRange, ...]:
    out: list[ExtensionRange] = []
    for r in sorted(set(ranges)):
        last = out[-1] if out else None
        if (
            last is not None
            and last.width > 0
            and (last.prefix, last.width) == (r.prefix, r.width)
            and r.low <= last.high + 1
        ):
            out[-1] = ExtensionRange(r.prefix, r.width, last.low, max(last.high, r.high))
        else:
            out.append(r)
    return tuple(out)


def parse_extensions(text: str) -> ExtensionSet | None:
    """``4101-4120, 2003`` as a set; None when nothing is typed (no extension limit).

    Items are separated by commas, semicolons or spaces; a range is ``first-last`` with the
    same prefix and digit count at both ends (``4101-4120``, ``sup9001-sup9012``). Letters
    are compared without case. Raises ExtensionError naming the item it cannot read.
    """
    items = [i for i in _SEPARATORS.split(_AROUND_DASH.sub("-", text.strip())) if i]
    if not items:
        return None
    if len(items) > MAX_ITEMS:
        raise ExtensionError(
            _("São %(count)s itens: o limite é %(max)s ramais ou faixas.")
            % {"count": len(items), "max": MAX_ITEMS}
        )
    return ExtensionSet(_merged([_item(i) for i in items]))


def canonical_extensions(text: str) -> str:
    """The stored form of what was typed: ``2003, 4101-4120``; empty for no limit."""
    parsed = parse_extensions(text)
    return "" if parsed is None else str(parsed)


@functools.lru_cache(maxsize=256)
def _stored(text: str) -> ExtensionSet | None:
    """Stored text is canonical and was validated when saved: parsed once per process."""
    return parse_extensions(text)


@dataclass(frozen=True, slots=True)
class Scope:
    """A user's reach: None in a field means no limit of that kind."""

    customer_id: int | None = None
    extensions: ExtensionSet | None = None

    @classmethod
    def of(cls, customer_id: int | None, extensions: str) -> Scope:
        """From the stored fields (``extensions`` in canonical text, empty for none)."""
        return cls(customer_id, _stored(extensions or ""))

    @property
    def unlimited(self) -> bool:
        return self.customer_id is None and self.extensions is None

    @property
    def extensions_text(self) -> str:
        return "" if self.extensions is None else str(self.extensions)

    def allows(self, *, customer_id: int | None, source: str, destination: str) -> bool:
        """Whether a call of this subscriber between these numbers is within reach."""
        if self.customer_id is not None and customer_id != self.customer_id:
            return False
        return self.extensions is None or self.extensions.contains_call(source, destination)

    def covers(self, other: Scope) -> bool:
        """Everything ``other`` reaches is within this scope."""
        if self.customer_id is not None and other.customer_id != self.customer_id:
            return False
        if self.extensions is None:
            return True
        return other.extensions is not None and self.extensions.covers(other.extensions)

    def as_json(self) -> dict[str, object]:
        return {"customer_id": self.customer_id, "extensions": self.extensions_text}
