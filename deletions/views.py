"""Deletion requests: ask (from the recordings list), review, approve or reject, follow."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.stepup import needs_step_up
from deletions import selectors
from deletions import services as deletions
from deletions.models import DeletionItem, DeletionRequest
from recordings import access, listing, vono
from recordings.forms import MAX_RECORD_ID, RecordingFilterForm, whole_number
from recordings.listing import ListSearch
from recordings.pages import invalid_parameter, list_query, upstream_message
from recordings.signals import AUTH_AT, auth_age_seconds
from vonoportal.http import AuthedRequest

logger = logging.getLogger(__name__)


def _can_use_deletions(user: Any) -> bool:
    return bool(
        user.has_perm("recordings.request_deletion") or user.has_perm("recordings.approve_deletion")
    )


@require_GET
@login_required
def deletion_list(request: AuthedRequest) -> HttpResponse:
    if not _can_use_deletions(request.user):
        raise PermissionDenied
    deletions.deletion_requests_expire_due()
    visible = selectors.visible_requests(request.user)
    return render(
        request,
        "deletions/list.html",
        {
            "pending": visible.filter(status=DeletionRequest.Status.PENDING),
            "others": visible.exclude(status=DeletionRequest.Status.PENDING)[:100],
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("recordings.request_deletion", raise_exception=True)
def deletion_new(request: AuthedRequest) -> HttpResponse:
    """Confirm what will go (GET), then create the request (POST)."""
    data = request.POST if request.method == "POST" else request.GET
    access.check_requested_scope(request)
    form = RecordingFilterForm(data, scope=access.scope_of(request.user))
    parsed = [whole_number(value) for value in data.getlist("ids") if value.strip()]
    if not all(i is not None and 0 < i <= MAX_RECORD_ID for i in parsed):
        return invalid_parameter(request, "ids", _("cada id é um número inteiro positivo."))
    ids = sorted({i for i in parsed if i is not None})
    whole_filter = data.get("all") == "1"
    for field, errors in form.errors.items():
        return invalid_parameter(request, field, " ".join(str(e) for e in errors))
    if not (ids or whole_filter):
        messages.error(
            request, _("Selecione gravações na lista ou peça a exclusão de todas as do filtro.")
        )
        return redirect(f"/recordings/?{list_query(form) if form.is_bound else ''}")
    search = form.search()
    filters = search.filters
    # A number, an extension or durations: the upstream cannot delete by them, so "all of
    # this filter" is resolved to ids through the index (deletions.services.preview_search).
    by_index = whole_filter and listing.needs_index(search, access.scope_of(request.user))
    context: dict[str, Any] = {
        "form": form,
        "ids": ids,
        "whole_filter": whole_filter,
        "by_index": by_index,
        "search": search,
        "filter_query": list_query(form, page=""),
        "filters": filters,
        "reason": data.get("reason", "")[:2000],
    }
    if "\x00" in data.get("reason", ""):
        return invalid_parameter(request, "reason", _("o texto tem um caractere nulo."))
    try:
        if request.method == "POST":
            deletion = deletions.deletion_request_create(
                actor=request.user,
                reason=request.POST.get("reason", ""),
                request=request,
                ids=None if whole_filter else ids,
                search=search if whole_filter else None,
            )
            messages.success(
                request, _("Pedido de exclusão criado. Outra pessoa precisa aprová-lo.")
            )
            return redirect("deletion_detail", pk=deletion.pk)
        preview, resolved = _preview(request, ids, search, whole_filter)
        context["preview"] = preview
        deletions.refuse_held(ids=resolved, filters=filters if resolved is None else None)
    except deletions.AlreadyPending as exc:
        context["refusal"] = str(exc)
        context["existing"] = exc.existing
    except deletions.NotAllowed as exc:
        context["refusal"] = str(exc)
        if request.method == "POST":  # show again what was about to be asked
            with contextlib.suppress(deletions.DeletionError, vono.VonoError):
                context["preview"] = _preview(request, ids, search, whole_filter)[0]
    except vono.VonoError as exc:
        context["error"] = upstream_message(exc)
    return render(request, "deletions/new.html", context)


def _preview(
    request: AuthedRequest, ids: list[int], search: ListSearch, whole_filter: bool
) -> tuple[deletions.Preview, list[int] | None]:
    """What the request would delete, and its ids when it is made of ids (chosen, or
    resolved from a search only the index can answer); None for a filter Vono applies."""
    if not whole_filter:
        return deletions.preview_ids(user=request.user, ids=ids), ids
    if listing.needs_index(search, access.scope_of(request.user)):
        return deletions.preview_search(user=request.user, search=search)
    return deletions.preview_filter(filters=search.filters), None


def _get_visible(request: AuthedRequest, pk: int) -> DeletionRequest:
    if not _can_use_deletions(request.user):
        raise PermissionDenied
    deletion = selectors.visible_requests(request.user).filter(pk=pk).first()
    if deletion is None:
        raise Http404
    return deletion


@require_GET
@login_required
def deletion_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    deletion = _get_visible(request, pk)
    if deletions.deletion_requests_expire_due():
        deletion.refresh_from_db()
    context = _detail_context(request, deletion)
    template = "deletions/detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, context)


def _detail_context(request: AuthedRequest, deletion: DeletionRequest) -> dict[str, Any]:
    user = request.user
    counts: dict[str, int] = {}
    for outcome in deletion.items.values_list("outcome", flat=True):
        counts[outcome] = counts.get(outcome, 0) + 1
    Status = DeletionRequest.Status
    context: dict[str, Any] = {
        "deletion": deletion,
        "counts": [(DeletionItem.Outcome(o).label, n) for o, n in sorted(counts.items())],
        "done_items": counts.get("deleted", 0) + counts.get("absent", 0),
        "total_items": sum(counts.values()),
        "problems": deletion.items.exclude(outcome__in=["deleted", "absent", "pending"])[:200],
        "running": deletion.status in (Status.APPROVED, Status.RUNNING),
        "can_approve": deletions.can_decide(deletion, user),
        "can_cancel": deletions.can_cancel(deletion, user),
        "can_retry": deletions.can_retry(deletion, user),
        "ask_again": _ask_again_query(deletion) if deletion.status == Status.STALE else None,
        "step_up": needs_step_up(auth_age_seconds(request)),
        "step_up_minutes": settings.DELETION_STEP_UP_MINUTES,
    }
    if deletions.can_decide(deletion, user):
        try:
            context["fresh_count"] = deletions.fresh_count(deletion)
        except vono.VonoError as exc:
            context["fresh_error"] = upstream_message(exc)
    return context


def _decide(request: AuthedRequest, pk: int, action: str) -> HttpResponse:
    deletion = _get_visible(request, pk)
    if "\x00" in request.POST.get("reason", ""):
        return invalid_parameter(request, "reason", _("o texto tem um caractere nulo."))
    try:
        if action == "approve":
            deletions.deletion_request_approve(
                deletion_id=deletion.pk,
                actor=request.user,
                typed_count=request.POST.get("typed_count", ""),
                password=request.POST.get("password", ""),
                auth_age_seconds=auth_age_seconds(request),
                request=request,
            )
            if request.POST.get("password"):
                request.session[AUTH_AT] = time.time()  # the password was just confirmed
            messages.success(
                request,
                _(
                    "Exclusão aprovada. Ela é executada em segundo plano: "
                    "acompanhe o andamento aqui."
                ),
            )
        elif action == "reject":
            deletions.deletion_request_reject(
                deletion_id=deletion.pk,
                actor=request.user,
                reason=request.POST.get("reason", ""),
                request=request,
            )
            messages.success(request, _("Pedido rejeitado."))
        elif action == "cancel":
            deletions.deletion_request_cancel(
                deletion_id=deletion.pk, actor=request.user, request=request
            )
            messages.success(request, _("Pedido cancelado."))
        elif action == "retry":
            deletions.deletion_request_retry(
                deletion_id=deletion.pk, actor=request.user, request=request
            )
            messages.success(
                request, _("A exclusão vai ser executada de novo, só para o que faltou.")
            )
    except (deletions.ConfirmationMismatch, deletions.StepUpRequired) as exc:
        # Shown again in place, with the count as typed: only the password is asked again.
        deletion.refresh_from_db()
        context = _detail_context(request, deletion)
        context.update(decide_error=str(exc), typed_count=request.POST.get("typed_count", ""))
        return render(request, "deletions/detail.html", context, status=400)
    except deletions.DeletionError as exc:
        messages.error(request, str(exc))
    except vono.VonoError as exc:
        messages.error(request, upstream_message(exc))
    return redirect("deletion_detail", pk=deletion.pk)


@require_POST
@login_required
def deletion_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "approve")


@require_POST
@login_required
def deletion_reject(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "reject")


@require_POST
@login_required
def deletion_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "cancel")


@require_POST
@login_required
def deletion_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "retry")


def _ask_again_query(deletion: DeletionRequest) -> str:
    """The new-request page, filled in with what this request asked for."""
    searched = deletion.filters.get("search")
    query: dict[str, Any]
    if deletion.kind == DeletionRequest.Kind.IDS and isinstance(searched, dict):
        # Ids resolved from a search: asking again searches again.
        query = {k: v for k, v in searched.items() if v not in (None, "")}
        query["all"] = "1"
    elif deletion.kind == DeletionRequest.Kind.IDS:
        query = {"ids": deletion.filters.get("ids", [])}
    else:
        saved = vono.RecordingFilter.from_json(deletion.filters)
        query = {k: v for k, v in saved.params().items() if v}
        query["all"] = "1"
        if saved.customer_id is not None:
            query["customer_id"] = saved.customer_id
    query["reason"] = deletion.reason
    return urlencode(query, doseq=True)
