from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from recordings import vono

logger = logging.getLogger(__name__)


@require_GET
@login_required
@permission_required("recordings.view_recording", raise_exception=True)
def recording_list(request: HttpRequest) -> HttpResponse:
    filters = vono.RecordingFilter(customer_id=request.user.customer_id)  # type: ignore[union-attr]
    page = error = None
    try:
        page = vono.get_client().list_recordings(filters, limit=25)
    except vono.VonoError as exc:
        logger.warning("recording list failed: %s", exc)
        error = exc
    return render(request, "recordings/list.html", {"page": page, "error": error})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and upstream reachability, for load balancers and Docker's HEALTHCHECK."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
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
