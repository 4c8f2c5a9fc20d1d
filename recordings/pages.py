"""Helpers shared by the pages of several apps: shareable list links, calm upstream words,
and the 400 for input that cannot be understood."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from recordings import vono
from recordings.forms import FILTER_FIELDS, RecordingFilterForm
from recordings.redaction import upstream_text

logger = logging.getLogger(__name__)


def invalid_parameter(request: HttpRequest, field: str, problem: str) -> HttpResponse:
    """400 for a value that cannot be understood, naming it: never a silent default."""
    logger.info("400 on %s: parameter %s: %s", request.path[:200], field, problem)
    return render(request, "400.html", {"field": field, "problem": problem}, status=400)


def upstream_message(exc: vono.VonoError) -> str:
    """What a person is told when Vono fails: calm, in their language, never a URL."""
    # vono.py sanitises every message it raises; this is the last door before a page.
    logger.warning("Vono request failed: %s", upstream_text(str(exc), limit=500))
    if isinstance(exc, vono.VonoRejected):
        return _("O Vono recusou a consulta: %(reason)s") % {"reason": upstream_text(exc.reason)}
    if isinstance(exc, vono.VonoProtocolError):
        return _(
            "O Vono respondeu algo que não conseguimos entender. Tente de novo; se persistir, "
            "avise a equipe técnica."
        )
    return _("O Vono não respondeu a tempo ou está fora do ar. Tente de novo em instantes.")


def list_query(form: RecordingFilterForm, **overrides: Any) -> str:
    """The current view's query string, with some values replaced: shareable links."""
    data = {name: form.data.get(name, "") for name in (*FILTER_FIELDS, "per_page", "page")}
    data.update({k: str(v) for k, v in overrides.items()})
    return urlencode({k: v for k, v in data.items() if v != "" or k in ("date_ini", "date_end")})
