"""Play, download, the waveform and the bulk ZIP: access is checked before the first byte
is asked for."""

from __future__ import annotations

import dataclasses
import logging
from functools import partial

from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from audio import archive, services, streaming, streams
from audit import services as audit
from qa import forms as qa_forms
from recordings import access, vono
from recordings.export import export_filename
from recordings.forms import MAX_RECORD_ID, RecordingFilterForm, whole_number
from recordings.pages import invalid_parameter, list_query, upstream_message
from vonoportal.http import AuthedRequest

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
        data = services.recording_peaks(
            recording, customer_id=access.scope_of(request.user).customer_id
        )
    except vono.VonoNotFound:
        return JsonResponse({"error": "not_found"}, status=404)
    except vono.VonoError as exc:
        logger.warning("peaks of recording %s: %s", record_id, exc)
        return JsonResponse({"error": "upstream"}, status=503)
    response = JsonResponse(data)
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- the bulk ZIP download -----------------------------------------------------------------


def _zip_refused(request: HttpRequest, message: str, back: str) -> HttpResponse:
    """Said before the archive starts: the browser shows a page, not a broken file."""
    response = render(
        request, "audio/zip_refused.html", {"message": message, "back": back}, status=400
    )
    response["Cache-Control"] = "private, no-store"
    return response


# The list's fields the archive's selection applies: what ``form.search()`` carries.
_ZIP_FIELDS = frozenset(
    (
        *(field.name for field in dataclasses.fields(vono.RecordingFilter)),
        "number",
        "extension",
        "duration_min",
        "duration_max",
        *qa_forms.EVALUATION_FILTER_FIELDS,
        "page",
        "per_page",
        "sort",
    )
)


def _filters_the_zip_cannot_apply(form: RecordingFilterForm) -> str | None:
    """A list filter given a value that ``form.filters()`` does not carry (one the list
    learns before the ZIP does): refused, never a ZIP of more than the list shows."""
    for name, value in form.cleaned_data.items():
        if name not in _ZIP_FIELDS and value not in (None, "", [], ()):
            return name
    return None


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("recordings.download_recording", raise_exception=True)
def recording_zip(request: AuthedRequest) -> HttpResponseBase:
    """Many recordings in one ZIP: GET with the list's filters, or POST with the ids chosen.

    Everything is decided before the first byte: who may see which recording (404 for an id
    out of reach), the limits, the audit. Then the archive streams, one stream place held.
    """
    back = reverse("recording_list")
    if request.method == "POST":
        parsed = [whole_number(value) for value in request.POST.getlist("ids") if value.strip()]
        if not all(i is not None and 0 < i <= MAX_RECORD_ID for i in parsed):
            return invalid_parameter(request, "ids", _("cada id é um número inteiro positivo."))
        ids = [i for i in parsed if i is not None]
        select = partial(services.zip_by_ids, user=request.user, ids=ids)
        name = f"{_('gravacoes')}_{timezone.localtime():%Y-%m-%d_%H%M%S}.zip"
    else:
        access.check_requested_scope(request)
        form = RecordingFilterForm(request.GET, scope=access.scope_of(request.user))
        for field, errors in form.errors.items():
            return invalid_parameter(request, field, " ".join(str(e) for e in errors))
        if unread := _filters_the_zip_cannot_apply(form):
            return invalid_parameter(request, unread, _("este filtro ainda não vale para o ZIP."))
        search = form.search()
        back += "?" + list_query(form, page="")
        select = partial(services.zip_by_filter, search=search, scope=access.scope_of(request.user))
        name = export_filename(search.filters, search).removesuffix(".csv") + ".zip"
    try:
        selection = select()
    except services.ZipNotVisible:
        raise Http404 from None
    except services.ZipRefused as exc:
        return _zip_refused(request, str(exc), back)
    except vono.VonoError as exc:
        return _unavailable(request, exc)
    slot = streams.claim()
    if slot is None:
        return _busy(request)
    try:
        response = _zip_response(request, selection, name, slot)
    except BaseException:
        slot.release()
        raise
    if not connection.in_atomic_block:
        connection.close()  # as for a single stream: no database connection while it plays
    return response


def _zip_response(
    request: HttpRequest, selection: services.ZipSelection, name: str, slot: streams.StreamSlot
) -> StreamingHttpResponse:
    services.zip_audit(request=request, selection=selection, archive_name=name)

    def failed(recording: vono.Recording, position: int, exc: Exception) -> None:
        services.zip_failed(
            request=request, recording=recording, position=position, archive_name=name
        )

    manifest = archive.ManifestFormat(
        header=(
            _("Arquivo"),
            _("ID"),
            _("Data e hora"),
            _("Origem"),
            _("Destino"),
            _("Número exibido (clid)"),
            _("Duração (s)"),
            _("Tamanho (bytes)"),
            _("SHA-256"),
            _("Assinante"),
        ),  # translated now, while the request's language is active
        date_format=str(get_format("DATETIME_FORMAT")),
    )
    body = archive.ArchiveBody(
        selection.recordings,
        customer_id=access.scope_of(request.user).customer_id,
        manifest=manifest,
        max_bytes=services.zip_max_bytes(),
        slot=slot,
        on_failure=failed,
    )
    response = StreamingHttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
