from __future__ import annotations

import logging
import math
import re
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit import services as audit
from deletions import selectors as deletion_selectors
from recordings import access, peaks, streaming, vono
from recordings.export import csv_lines, export_filename
from recordings.forms import RecordingFilterForm
from recordings.pages import list_query, upstream_message

logger = logging.getLogger(__name__)


def _pager(form: RecordingFilterForm, page: vono.RecordingPage) -> dict[str, Any]:
    """Paging from what the upstream returned (its limit may be smaller than asked)."""
    size = max(1, page.limit)
    current = page.offset // size + 1
    count = max(1, math.ceil(page.total_records / size))

    def link(number: int) -> str:
        return "?" + list_query(form, page=number, per_page=size)

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
            outcome = "upstream_error"
        else:
            context.update(page=page, pager=_pager(form, page), filters=filters)
            outcome = "ok"
        audit.record_event(
            action=audit.Action.SEARCH,
            request=request,
            customer_id=filters.customer_id,
            details={
                **filters.as_json(),
                "page": form.page_number,
                "per_page": form.page_size,
            },
            outcome=outcome,
        )
        context["filter_query"] = list_query(form, page="")
        context["current_query"] = list_query(form)
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
        context = {
            "form": form,
            "error": upstream_message(exc),
            "current_query": list_query(form),
            "list_url": reverse("recording_list"),  # "try again" shows the list, not a file
        }
        return render(request, "recordings/list.html", context, status=503)
    audit.record_event(
        action=audit.Action.EXPORT,
        request=request,
        customer_id=filters.customer_id,
        details={**filters.as_json(), "rows": first.total_records},
    )
    response = StreamingHttpResponse(
        csv_lines(first, filters, page_size), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export_filename(filters)}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- one recording: the player page, its audio, its waveform ------------------------------


def _neighbours(
    request: HttpRequest, record_id: int
) -> tuple[RecordingFilterForm | None, dict[str, Any]]:
    """Previous and next recordings of the list the reviewer came from (``pos`` in the URL)."""
    form = RecordingFilterForm(request.GET, scope=access.scope_of(request.user))
    pos = request.GET.get("pos", "")
    if not (pos.isdigit() and form.is_valid()):
        return None, {}
    position = int(pos)
    start = max(0, position - 1)
    try:
        window = vono.get_client().list_recordings(form.filters(), start=start, limit=3)
    except vono.VonoError as exc:
        logger.warning("neighbours of recording %s: %s", record_id, exc)
        return form, {}
    ids = [r.record_id for r in window.recordings]
    if record_id not in ids:
        return form, {"moved": True}
    index = ids.index(record_id)
    here = window.offset + index
    query = list_query(form, page="")

    def link(offset: int) -> str | None:
        neighbour = index + offset
        if 0 <= neighbour < len(ids):
            url = reverse("recording_detail", args=[ids[neighbour]])
            return f"{url}?{query}&pos={here + offset}"
        return None

    return form, {
        "previous": link(-1),
        "next": link(+1),
        "position": here + 1,
        "total": window.total_records,
        "list_query": query,
    }


@require_GET
@login_required
@permission_required("recordings.view_recording", raise_exception=True)
def recording_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    gone = deletion_selectors.deletion_of_record(
        record_id=record_id, scope=access.scope_of(request.user)
    )
    if gone is not None:
        return render(
            request,
            "recordings/deleted.html",
            {"item": gone, "deletion": gone.request, "record_id": record_id},
            status=410,
        )
    try:
        recording = access.visible_recording(request, record_id)
    except vono.VonoError as exc:
        return render(
            request,
            "recordings/detail.html",
            {"error": upstream_message(exc), "record_id": record_id},
            status=503,
        )
    form, around = _neighbours(request, record_id)
    back = ""
    if form is not None:  # back to the page of the list this recording was on
        back = list_query(form, page=int(request.GET["pos"]) // form.page_size + 1)
    return render(
        request,
        "recordings/detail.html",
        {"recording": recording, "around": around, "record_id": record_id, "list_query": back},
    )


def _unavailable(request: HttpRequest, status: int, message: str) -> HttpResponse:
    response = render(request, "recordings/unavailable.html", {"message": message}, status=status)
    response["Cache-Control"] = "private, no-store"
    if status == 503:
        response["Retry-After"] = "5"
    return response


def _audio(request: HttpRequest, record_id: int, *, attachment: bool) -> HttpResponseBase:
    """Stream a recording through this server: permission and scope are checked, and the
    recording found, before the first upstream byte is asked for."""
    scope = access.scope_of(request.user)
    try:
        recording = access.visible_recording(request, record_id)
        asked = streaming.parse_range(request.headers.get("Range"))
        stack = ExitStack()
        stream = stack.enter_context(
            vono.get_client().open_recording(
                record_id, customer_id=scope, range_header=asked.header() if asked else None
            )
        )
    except vono.VonoNotFound:
        return _unavailable(request, 404, _("Gravação indisponível no Vono."))
    except vono.VonoError as exc:
        return _unavailable(
            request, 503 if isinstance(exc, vono.VonoUnavailable) else 502, upstream_message(exc)
        )
    plan = streaming.plan_response(asked, stream)
    body = streaming.UpstreamBody(stack, stream, plan, record_id=record_id)
    response = StreamingHttpResponse(body, status=plan.status, content_type="audio/mpeg")
    if plan.content_length is not None:
        response["Content-Length"] = str(plan.content_length)
    if plan.content_range:
        response["Content-Range"] = plan.content_range
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    name = download_filename(recording)
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    if plan.status in (200, 206):
        if attachment:
            audit.record_event(
                action=audit.Action.DOWNLOAD,
                request=request,
                record_ids=[record_id],
                customer_id=recording.customer_id,
                details={"range": plan.content_range or ""},
            )
        else:
            audit.record_play_once(request, record_id=record_id, customer_id=recording.customer_id)
    return response


@require_GET
@login_required
@permission_required("recordings.play_recording", raise_exception=True)
def recording_audio(request: HttpRequest, record_id: int) -> HttpResponseBase:
    return _audio(request, record_id, attachment=False)


@require_GET
@login_required
@permission_required("recordings.download_recording", raise_exception=True)
def recording_download(request: HttpRequest, record_id: int) -> HttpResponseBase:
    return _audio(request, record_id, attachment=True)


@require_GET
@login_required
@permission_required("recordings.play_recording", raise_exception=True)
def recording_peaks(request: HttpRequest, record_id: int) -> JsonResponse:
    """The waveform's peaks, computed once per recording from its frames and cached."""
    key = f"peaks:v1:{record_id}"
    try:
        recording = access.visible_recording(request, record_id)
        data = cache.get(key)
        if data is None:
            with vono.get_client().open_recording(
                record_id, customer_id=access.scope_of(request.user)
            ) as stream:
                levels = peaks.frame_levels(stream.chunks)
            data = {"peaks": peaks.peaks(levels), "duration": recording.duration}
            cache.set(key, data, timeout=30 * 24 * 3600)
    except vono.VonoNotFound:
        return JsonResponse({"error": "not_found"}, status=404)
    except vono.VonoError as exc:
        logger.warning("peaks of recording %s: %s", record_id, exc)
        return JsonResponse({"error": "upstream"}, status=503)
    response = JsonResponse(data)
    response["Cache-Control"] = "private, max-age=86400"
    return response


def download_filename(recording: vono.Recording) -> str:
    """``2026-09-30_22-32-42_5551939809735_sup9010_5931.mp3``: safe on every OS."""
    local = timezone.localtime(recording.calldate)
    parties = [
        re.sub(r"[^A-Za-z0-9+-]", "", p)[:40] or "x"
        for p in (recording.source, recording.destination)
    ]
    return f"{local:%Y-%m-%d_%H-%M-%S}_{parties[0]}_{parties[1]}_{recording.record_id}.mp3"


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403, recorded in the audit log: who tried to reach what."""
    audit.record_event(
        action=audit.Action.ACCESS_DENIED,
        request=request,
        outcome="denied",
        details={"path": request.path[:300], "method": request.method},
    )
    return render(request, "403.html", status=403)
