"""The index's status page for admins, with "sync now"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from index import selectors, services
from vonoportal.http import AuthedRequest

PERMISSION = "index.view_index"


@require_GET
@login_required
@permission_required(PERMISSION, raise_exception=True)
def index_status(request: AuthedRequest) -> HttpResponse:
    # Seeds the periodic sync when none is queued (a first start, or a lost task).
    services.ensure_scheduled()
    template = "index/status.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"status": selectors.index_status()})


@require_POST
@login_required
@permission_required(PERMISSION, raise_exception=True)
def index_sync_now(request: AuthedRequest) -> HttpResponse:
    services.sync_request_now(request=request, actor=request.user)
    messages.success(request, _("Sincronização pedida: o trabalho em segundo plano a executa."))
    return redirect("index_status")
