"""The vendor's text formats: decimal commas, dotted thousands, "min"/"seg"."""

from __future__ import annotations


def brazilian_number(value: float, decimals: int = 0) -> str:
    """``1486`` -> ``1.486``; ``333.95`` -> ``333,95``."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def size_text(size: int) -> str:
    """Bytes as the vendor writes them: ``267,86 Kb``, ``333,95 Mb``, ``1,20 Gb`` (base 1024)."""
    for unit, factor in (("Gb", 1024**3), ("Mb", 1024**2), ("Kb", 1024)):
        if size >= factor:
            return f"{brazilian_number(size / factor, 2)} {unit}"
    return f"{size} b"


def duration_text(seconds: int) -> str:
    """Seconds in words: ``1 min 08 seg``, ``1.486 min 47 seg``."""
    minutes, rest = divmod(seconds, 60)
    return f"{brazilian_number(minutes)} min {rest:02d} seg"
