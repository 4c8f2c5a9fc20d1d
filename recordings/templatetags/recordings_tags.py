"""Formatting for recordings: clock durations, durations in words, sizes."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def clock(seconds: int | None) -> str:
    """``68`` -> ``1:08``; ``3723`` -> ``1:02:03``."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def duration_words(seconds: int | None) -> str:
    """``89207`` -> ``24 h 46 min 47 s``."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(_("%(n)s h") % {"n": number_format(hours, force_grouping=True)})
    if hours or minutes:
        parts.append(_("%(n)s min") % {"n": minutes})
    parts.append(_("%(n)s s") % {"n": secs})
    return " ".join(parts)


@register.filter
def size(value: int | None, text: str = "") -> str:
    """Bytes in the active locale (``267,9 KB``); the vendor's text when unreadable."""
    if value is None:
        return text
    return str(filesizeformat(value))
