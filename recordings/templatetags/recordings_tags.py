"""Formatting for recordings: clock durations, durations in words, sizes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from html import escape

from django import template
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format, number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from recordings import vono

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


@register.filter
def phone(value: str) -> str:
    """Brazilian numbers as people in Brazil write them: ``5511987654321`` -> ``(11) 98765-4321``.

    The country code is dropped for Brazilian numbers (every call here is Brazilian, and a
    leading ``+`` would be read as a formula by spreadsheets). Extensions and anything
    unexpected are shown as they came.
    """
    if not value.isdigit():
        return value
    if value.startswith("55") and len(value) in (12, 13):
        value = value[2:]
    if len(value) in (10, 11) and not value.startswith("0"):
        return f"({value[:2]}) {value[2:-4]}-{value[-4:]}"
    return value


_STRFTIME = {"d": "%d", "m": "%m", "Y": "%Y", "y": "%y", "H": "%H", "i": "%M", "s": "%S"}


def strftime_pattern(django_format: str) -> str | None:
    """Django's date format as a strftime pattern, when it only uses simple numeric codes."""
    out = []
    for char in django_format:
        if char.isalpha():
            if char not in _STRFTIME:
                return None
            out.append(_STRFTIME[char])
        else:
            out.append(char.replace("%", "%%"))
    return "".join(out)


def _size_formatter() -> Callable[[int | None, str], str]:
    """``size`` for many values at once: the locale's units and separator looked up once."""
    units = [(1024**3, _("%s GB")), (1024**2, _("%s MB")), (1024, _("%s KB"))]
    decimal = str(get_format("DECIMAL_SEPARATOR"))

    def fmt(value: int | None, text: str) -> str:
        if value is None:
            return text
        for factor, unit in units:
            if value >= factor:
                return (unit % f"{value / factor:.1f}".replace(".", decimal)).replace(" ", "\xa0")
        return str(filesizeformat(value))

    return fmt


_ID_MARK = 918273645  # stands for the record id in a reversed URL; no other digits look alike


@register.simple_tag
def recording_rows(
    recordings: Iterable[vono.Recording],
    query: str = "",
    offset: int = 0,
    selectable: bool = False,
    scores: dict[int, Decimal | None] | None = None,
) -> SafeString:
    """The table body, built in Python: as template nodes, 100 rows cost ~10 ms a page.

    Same cells as the per-cell filters (``clock``, ``phone``, ``size``, the locale's
    DATETIME_FORMAT); every value passes through html.escape. With ``scores`` (record id ->
    average evaluation score, qa_tags.evaluation_scores), an "avaliação" cell ends each row.
    """
    django_format = get_format("DATETIME_FORMAT")
    pattern = strftime_pattern(django_format)
    size_of = _size_formatter()
    listen = escape(_("Ouvir"))
    choose = escape(_("Selecionar a gravação"))
    labels = [
        escape(str(label))
        for label in (
            _("Origem"),
            _("Destino"),
            _("Número exibido"),
            _("Duração"),
            _("Tamanho"),
            _("Assinante"),
        )
    ]
    evaluated = escape(_("Avaliação"))
    # One reverse() for the page: the id is the only part of the path that changes.
    before, _mark, after = reverse("recording_detail", args=[_ID_MARK]).partition(str(_ID_MARK))
    rows = []
    for position, r in enumerate(recordings, start=offset):
        href = escape(f"{before}{r.record_id}{after}?{query}&pos={position}")
        local = timezone.localtime(r.calldate)
        stamp = local.strftime(pattern) if pattern else dateformat.format(local, django_format)
        select = (
            f'<td class="select-col"><label><input type="checkbox" name="ids" '
            f'value="{r.record_id}" form="delete-form" '
            f'aria-label="{choose} {r.record_id}"></label></td>'
            if selectable
            else ""
        )
        # Play comes first: on a phone the row is a card with the button on its left.
        cells = [
            f'<td class="act"><a class="play" href="{href}" aria-label="{listen} {escape(stamp)}">'
            '<span aria-hidden="true">▶</span></a></td>',
            f'<td class="when">{escape(stamp)}</td>',
            f'<td data-label="{labels[0]}" title="{escape(r.source)}">'
            f"{escape(phone(r.source))}</td>",
            f'<td data-label="{labels[1]}" title="{escape(r.destination)}">'
            f"{escape(phone(r.destination))}</td>",
            f'<td data-label="{labels[2]}" title="{escape(r.clid)}">{escape(phone(r.clid))}</td>',
            f'<td class="num" data-label="{labels[3]}">{clock(r.duration)}</td>',
            f'<td class="num" data-label="{labels[4]}">{escape(size_of(r.size, r.size_text))}</td>',
            f'<td class="num" data-label="{labels[5]}">'
            f"{'' if r.customer_id is None else r.customer_id}</td>",
        ]
        if scores is not None:
            score = scores.get(r.record_id)
            cells.append(
                f'<td class="num" data-label="{evaluated}" data-score="{score}">'
                f"{number_format(score, 1)}</td>"
                if score is not None
                else f'<td class="num" data-label="{evaluated}">—</td>'
            )
        rows.append(f'<tr data-record-id="{r.record_id}">{select}{"".join(cells)}</tr>')
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above went through escape()


PLAYBACK_SPEEDS = ("0.75", "1", "1.25", "1.5", "2")


@register.simple_tag
def playback_speeds() -> list[tuple[str, str]]:
    """The player's speeds: the value for the audio element, the label in the page's locale
    (``0,75×`` in Portuguese, ``0.75×`` in English)."""
    return [(value, f"{number_format(Decimal(value))}×") for value in PLAYBACK_SPEEDS]


@register.filter
def iso_local(value: str) -> str:
    """An ISO timestamp (as kept in a snapshot) in the locale's date and time format."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value or "")
    return str(dateformat.format(timezone.localtime(moment), get_format("DATETIME_FORMAT")))


@register.filter
def details_text(details: dict[str, object] | None) -> str:
    """An audit event's details for people: ``request=1 · count=3``, empty values left out."""
    if not details:
        return ""
    parts = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " · ".join(parts)
