"""CSV export of a whole filtered result, streamed page by page from the upstream."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from index import numbers
from recordings import vono
from recordings.listing import ListSearch
from recordings.templatetags.recordings_tags import phone, strftime_pattern

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Echo:
    """A file-like object for csv.writer that hands back what was written (for streaming)."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: object) -> str:
    """Text as Excel should show it: a leading formula character is neutralised."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def export_filename(filters: vono.RecordingFilter, search: ListSearch | None = None) -> str:
    """``gravacoes_2026-11-20_a_2026-11-27_0800-1800_assinante3.csv`` and the like."""
    parts = [_("gravacoes")]
    if filters.date_ini or filters.date_end:
        start = filters.date_ini.isoformat() if filters.date_ini else _("inicio")
        end = filters.date_end.isoformat() if filters.date_end else _("hoje")
        joiner = _("a")  # as in "de 2026-11-01 a 2026-11-02"
        parts.append(f"{start}_{joiner}_{end}")
    if filters.time_ini or filters.time_end:
        start = filters.time_ini.strftime("%H%M") if filters.time_ini else "0000"
        end = filters.time_end.strftime("%H%M") if filters.time_end else "2359"
        parts.append(f"{start}-{end}")
    if filters.id_record is not None:
        parts.append(f"id{filters.id_record}")
    if filters.customer_id is not None:
        parts.append(f"{_('assinante')}{filters.customer_id}")
    if search is not None:
        number_word, extension_word = _("numero"), _("ramal")  # as in a file name
        if digits := numbers.digits(search.number):
            parts.append(f"{number_word}{digits[:20]}")
        if digits := numbers.digits(search.extension):
            parts.append(f"{extension_word}{digits[:20]}")
        if search.duration_min is not None or search.duration_max is not None:
            low = search.duration_min or 0
            high = "" if search.duration_max is None else search.duration_max
            parts.append(f"{low}-{high}s")
    return "_".join(parts) + ".csv"


def csv_header() -> list[str]:
    """The CSV's column names, translated now, while the request's language is active."""
    return [
        _("ID"),
        _("Data e hora"),
        _("Origem"),
        _("Destino"),
        _("Número exibido (clid)"),
        _("Duração (s)"),
        _("Duração"),
        _("Tamanho (bytes)"),
        _("Tamanho (Vono)"),
        _("Assinante"),
    ]


def csv_lines(
    first: vono.RecordingPage, filters: vono.RecordingFilter, page_size: int
) -> Iterator[str]:
    """The CSV of a live answer, line by line: header, then every recording, fetching pages
    as it goes.

    ``first`` is the first page, fetched before the response started so that an upstream
    failure then is an ordinary error page. A failure later raises: the server aborts the
    response and the browser shows a failed download, never a short file taken as whole.
    """
    return csv_lines_of(_upstream(first, filters, page_size), first.total_records)


def csv_lines_of(recordings: Iterable[vono.Recording], expected: int) -> Iterator[str]:
    """The CSV of ``recordings`` (an index answer, or the upstream's pages), line by line.

    Fewer recordings than ``expected`` raise at the end: a failed download, never a short
    file taken as whole.
    """
    return _lines(csv_header(), str(get_format("DATETIME_FORMAT")), recordings, expected)


def _upstream(
    first: vono.RecordingPage, filters: vono.RecordingFilter, page_size: int
) -> Iterator[vono.Recording]:
    client = vono.get_client()
    page = first
    while True:
        yield from page.recordings
        start = page.offset + len(page.recordings)
        if not page.recordings or start >= page.total_records:
            return
        page = client.list_recordings(filters, start=start, limit=page_size)


def _lines(
    header: list[str], date_format: str, recordings: Iterable[vono.Recording], expected: int
) -> Iterator[str]:
    """Dates as the page shows them in the reader's language; phone numbers as on screen
    (``(11) 98765-4321``), which no spreadsheet turns into ``5,51E+12``."""
    pattern = strftime_pattern(date_format)
    writer = csv.writer(Echo(), delimiter=";", lineterminator="\r\n")
    yield BOM + writer.writerow(header)
    written = 0
    for r in recordings:
        local = timezone.localtime(r.calldate)
        stamp = local.strftime(pattern) if pattern else dateformat.format(local, date_format)
        minutes, seconds = divmod(r.duration, 60)
        yield writer.writerow(
            [
                r.record_id,
                stamp,
                csv_cell(phone(r.source)),
                csv_cell(phone(r.destination)),
                csv_cell(phone(r.clid)),
                r.duration,
                f"{minutes}:{seconds:02d}",
                "" if r.size is None else r.size,
                csv_cell(r.size_text),
                "" if r.customer_id is None else r.customer_id,
            ]
        )
        written += 1
    if written < expected:
        raise vono.VonoProtocolError(f"the export stopped at {written} of {expected} recordings")
