"""Play, download and the waveform: access is checked before the first byte is asked for."""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_safe

from audio import services, streaming, streams
from audit import services as audit
from recordings import access, vono
from recordings.pages import upstream_message

logger = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 2


def _unavailable(request: HttpRequest, exc: vono.VonoError) -> HttpResponse:
    """A calm page: 404 for a recording without a file, 504 when Vono stalled, 503 when it
    is down, 502 when it answered nonsense (a body cut short included)."""
    if isinstance(exc, vono.VonoNotFound):
        status, message = 404, _("Gravação indisponível no Vono.")
    else:
        status = (
            504
            if isinstance(exc, vono.VonoTimeout)
            else 503
            if isinstance(exc, vono.VonoUnavailable)
            else 502
        )
        message = upstream_message(exc)
    response = render(request, "audio/unavailable.html", {"message": message}, status=status)
    response["Cache-Control"] = "private, no-store"
    if status == 503:
        response["Retry-After"] = "5"
    return response


def _busy(request: HttpRequest) -> HttpResponse:
    message = _("Muitas pessoas ouvindo agora. Tente de novo em instantes.")
    response = render(request, "audio/unavailable.html", {"message": message}, status=503)
    response["Cache-Control"] = "private, no-store"
    response["Retry-After"] = str(BUSY_RETRY_SECONDS)
    return response


def _serve(request: HttpRequest, record_id: int, *, attachment: bool) -> HttpResponseBase:
    try:
        recording = access.visible_recording(request, record_id)  # 404 before any byte
    except vono.VonoError as exc:
        return _unavailable(request, exc)
    slot = streams.claim() if request.method == "GET" else None
    if request.method == "GET" and slot is None:
        return _busy(request)
    try:
        response = streaming.recording_response(
            request, recording, attachment=attachment, slot=slot
        )
    except vono.VonoError as exc:
        if slot is not None:
            slot.release()
        return _unavailable(request, exc)
    except BaseException:
        if slot is not None:
            slot.release()
        raise
    if request.method == "GET" and response.status_code in (200, 206):
        if attachment:
            audit.record_event(
                action=audit.Action.DOWNLOAD,
                request=request,
                record_ids=[record_id],
                customer_id=recording.customer_id,
                details={"range": response.get("Content-Range", "")},
            )
        else:
            audit.record_play_once(request, record_id=record_id, customer_id=recording.customer_id)
    if slot is not None and not connection.in_atomic_block:
        # A listener holds this thread for the whole call: it must not hold a database
        # connection too (PostgreSQL's are few). The next request opens a fresh one.
        connection.close()
    return response


@require_safe
@login_required
@permission_required("recordings.play_recording", raise_exception=True)
def recording_audio(request: HttpRequest, record_id: int) -> HttpResponseBase:
    return _serve(request, record_id, attachment=False)


@require_safe
@login_required
@permission_required("recordings.download_recording", raise_exception=True)
def recording_download(request: HttpRequest, record_id: int) -> HttpResponseBase:
    return _serve(request, record_id, attachment=True)


@require_GET
@login_required
@permission_required("recordings.play_recording", raise_exception=True)
def recording_peaks(request: HttpRequest, record_id: int) -> JsonResponse:
    """The waveform's peaks, computed once per recording from its frames and cached."""
    try:
        recording = access.visible_recording(request, record_id)
        data = services.recording_peaks(recording, customer_id=access.scope_of(request.user))
    except vono.VonoNotFound:
        return JsonResponse({"error": "not_found"}, status=404)
    except vono.VonoError as exc:
        logger.warning("peaks of recording %s: %s", record_id, exc)
        return JsonResponse({"error": "upstream"}, status=503)
    response = JsonResponse(data)
    response["Cache-Control"] = "private, max-age=86400"
    return response
