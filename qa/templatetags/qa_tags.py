"""Formatting for the QA pages."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import template

from qa import selectors

register = template.Library()


@register.filter
def moment(ms: int | None) -> str:
    """Milliseconds into a call as people say them: ``83000`` -> ``1:23``."""
    if ms is None:
        return ""
    seconds = int(ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.simple_tag
def evaluation_scores(recordings: Iterable[Any]) -> dict[int, Decimal | None]:
    """The average submitted score of each listed recording that has one (one query)."""
    return selectors.scores_by_record([r.record_id for r in recordings])
