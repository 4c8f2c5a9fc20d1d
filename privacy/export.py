"""The access report as CSV: the same rows the page shows, one table with a "part" column."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from privacy import selectors
from recordings.export import BOM, Echo, csv_cell


def direction_label(direction: str) -> str:
    return {
        selectors.Direction.FROM: _("ligou (origem)"),
        selectors.Direction.TO: _("recebeu (destino)"),
        selectors.Direction.CLID: _("identificador de chamada"),
    }[direction]


def deletion_text(entry: selectors.RecordingEntry) -> str:
    """When and by which request the recording left, in words."""
    recording = entry.recording
    parts = []
    if recording.gone_at:
        parts.append(
            _("saiu em %(when)s (%(how)s)")
            % {"when": _stamp(recording.gone_at), "how": recording.get_gone_how_display()}
        )
    for item in entry.deletions:
        request = item.request
        text = _("pedido de exclusão #%(id)s de %(who)s em %(when)s") % {
            "id": request.pk,
            "who": request.requested_by.get_username(),
            "when": _stamp(request.requested_at),
        }
        if request.decided_by is not None and request.decided_at is not None:
            text += ", " + _("aprovado por %(who)s em %(when)s") % {
                "who": request.decided_by.get_username(),
                "when": _stamp(request.decided_at),
            }
        parts.append(f"{text}: {item.get_outcome_display()}")
    return "; ".join(parts)


def access_note(entry: selectors.AccessEntry) -> str:
    if not entry.inferred:
        return ""
    if entry.uncertain:
        return _(
            "pelo filtro registrado, com campos que o relatório não sabe conferir: pode ter "
            "incluído"
        )
    return _(
        "pelo filtro registrado (o evento não guarda os IDs): incluiu se a gravação "
        "ainda estava no Vono"
    )


def csv_lines(report: selectors.AccessReport) -> Iterator[str]:
    writer = csv.writer(Echo(), delimiter=";", lineterminator="\r\n")
    yield BOM + writer.writerow(
        [
            _("Parte"),
            _("Gravações"),
            _("Quando"),
            _("O quê"),
            _("Duração (s)"),
            _("Assinante"),
            _("Quem"),
            _("IP"),
            _("Exclusão"),
            _("Observação"),
        ]
    )
    for entry in report.recordings:
        r = entry.recording
        yield writer.writerow(
            [
                _("gravação"),
                r.record_id,
                _stamp(r.calldate),
                direction_label(entry.direction),
                r.duration,
                "" if r.customer_id is None else r.customer_id,
                "",
                "",
                csv_cell(deletion_text(entry)),
                "",
            ]
        )
    for access in report.accesses:
        event = access.event
        yield writer.writerow(
            [
                # Not the audit action "acesso" (a sign-in): a row about an access to the calls.
                pgettext("privacy report part", "acesso"),
                " ".join(str(i) for i in access.record_ids),
                _stamp(event.created_at),
                event.get_action_display(),
                "",
                "" if event.customer_id is None else event.customer_id,
                csv_cell(event.actor_username),
                event.ip or "",
                "",
                access_note(access),
            ]
        )


def _stamp(moment: object) -> str:
    """A moment in São Paulo, written as the reader's language writes it (as the recordings'
    and the audit log's CSVs do: 25/11/2026 14:02:07 in Portuguese, ISO in English)."""
    local = timezone.localtime(moment)  # type: ignore[arg-type]
    return dateformat.format(local, str(get_format("DATETIME_FORMAT")))
