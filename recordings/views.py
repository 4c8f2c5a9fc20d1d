from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from recordings import access, vono
from recordings.export import csv_lines, export_filename
from recordings.forms import FILTER_FIELDS, RecordingFilterForm

logger = logging.getLogger(__name__)


def upstream_message(exc: vono.VonoError) -> str:
    """What a person is told when Vono fails: calm, in their language, never a URL."""
    logger.warning("Vono request failed: %s", exc)
    if isinstance(exc, vono.VonoRejected):
        return _("O Vono recusou a consulta: %(reason)s") % {"reason": exc.reason}
    if isinstance(exc, vono.VonoProtocolError):
        return _(
            "O Vono respondeu algo que não conseguimos entender. Tente de novo; se persistir, "
            "avise a equipe técnica."
        )
    return _("O Vono não respondeu a tempo ou está fora do ar. Tente de novo em instantes.")


def _query(form: RecordingFilterForm, **overrides: Any) -> str:
    """The current view's query string, with some values replaced: shareable links."""
    data = {name: form.data.get(name, "") for name in (*FILTER_FIELDS, "per_page", "page")}
    data.update({k: str(v) for k, v in overrides.items()})
    return urlencode({k: v for k, v in data.items() if v != "" or k in ("date_ini", "date_end")})


def _pager(form: RecordingFilterForm, page: vono.RecordingPage) -> dict[str, Any]:
    """Paging from what the upstream returned (its limit may be smaller than asked)."""
    size = max(1, page.limit)
    current = page.offset // size + 1
    count = max(1, math.ceil(page.total_records / size))

    def link(number: int) -> str:
        return "?" + _query(form, page=number, per_page=size)

    return {
        "current": current,
        "count": count,
        "size": size,
        "first": link(1) if current > 1 else None,
        "previous": link(current - 1) if current > 1 else None,
        "next": link(current + 1) if current < count else None,
        "last": link(count) if current < count else None,
        "beyond": current > count,
        "from": page.offset + 1,
        "to": page.offset + len(page.recordings),
    }


@require_GET
@login_required
@permission_required("recordings.view_recording", raise_exception=True)
@vary_on_headers("HX-Request")
def recording_list(request: HttpRequest) -> HttpResponse:
    access.check_requested_scope(request)
    form = RecordingFilterForm(request.GET, scope=access.scope_of(request.user))
    context: dict[str, Any] = {"form": form, "page": None, "error": None}
    if form.is_valid():
        filters = form.filters()
        start = (form.page_number - 1) * form.page_size
        try:
            page = vono.get_client().list_recordings(filters, start=start, limit=form.page_size)
        except vono.VonoError as exc:
            context["error"] = upstream_message(exc)
        else:
            context.update(page=page, pager=_pager(form, page), filters=filters)
        context["export_query"] = _query(form, page="")
        context["current_query"] = _query(form)
    template = "recordings/list.html"
    if request.htmx:  # type: ignore[attr-defined]
        template += "#browser"
    return render(request, template, context)


@require_GET
@login_required
@permission_required("recordings.export_recordings", raise_exception=True)
def recording_export(request: HttpRequest) -> HttpResponseBase:
    access.check_requested_scope(request)
    form = RecordingFilterForm(request.GET, scope=access.scope_of(request.user))
    if not form.is_valid():
        return render(request, "recordings/list.html", {"form": form}, status=400)
    filters = form.filters()
    page_size = settings.VONO_PAGE_LIMIT
    try:
        first = vono.get_client().list_recordings(filters, start=0, limit=page_size)
    except vono.VonoError as exc:
        context = {"form": form, "error": upstream_message(exc)}
        return render(request, "recordings/list.html", context, status=503)
    response = StreamingHttpResponse(
        csv_lines(first, filters, page_size), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(filters)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and upstream reachability, for load balancers and Docker's HEALTHCHECK."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the type says why
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        vono.get_client().list_recordings(vono.RecordingFilter(id_record=0), limit=1)
        checks["upstream"] = "ok"
    except vono.VonoError as exc:
        checks["upstream"] = f"error: {exc}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )
