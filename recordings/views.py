from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit import services as audit
from deletions import selectors as deletion_selectors
from recordings import access, listing, vono
from recordings.export import csv_lines, csv_lines_of, export_filename
from recordings.forms import LOCAL_FIELDS, RecordingFilterForm, whole_number
from recordings.pages import invalid_parameter, list_query, upstream_message

logger = logging.getLogger(__name__)


def _pager(form: RecordingFilterForm, page: vono.RecordingPage) -> dict[str, Any]:
    """Paging as the URL asked it: page N of size S is rows (N-1)*S+1 to N*S, whatever page
    size the upstream allows, so a shared link shows the same rows to everyone."""
    size = form.page_size
    current = form.page_number
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


def _sort_links(form: RecordingFilterForm, sort: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the link that sorts by it (a second click turns the order
    around; longest and largest come first) and its aria-sort."""
    links = {}
    for column in ("calldate", "duration", "size"):
        if sort == f"-{column}":
            target, state = column, "descending"
        elif sort == column:
            target, state = f"-{column}", "ascending"
        else:
            target, state = f"-{column}", "none"
        links[column] = {"href": "?" + list_query(form, sort=target, page=""), "state": state}
    return links


@require_GET
@login_required
@permission_required("recordings.view_recording", raise_exception=True)
@vary_on_headers("HX-Request")
def recording_list(request: HttpRequest) -> HttpResponse:
    access.check_requested_scope(request)
    scope = access.scope_of(request.user)
    form = RecordingFilterForm(request.GET, scope=scope)
    context: dict[str, Any] = {
        "form": form,
        "page": None,
        "error": None,
        "scope_extensions": scope.extensions_text,
    }
    if form.is_valid():
        search = form.search()
        start = (form.page_number - 1) * form.page_size
        # QA's evaluation filter keeps what it hides (export, queue, delete-all), as QA chose.
        context["from_index"] = search.evaluation is not None
        try:
            answer = listing.list_page(search, scope=scope, start=start, count=form.page_size)
        except vono.VonoError as exc:
            context["error"] = upstream_message(exc)
            outcome, source = "upstream_error", listing.Source.LIVE
        else:
            source = answer.plan.source
            context.update(
                page=answer.page,
                pager=_pager(form, answer.page),
                filters=search.filters,
                search=search,
                plan=answer.plan,
            )
            outcome = "ok"
        audit.record_event(
            action=audit.Action.SEARCH,
            request=request,
            customer_id=search.filters.customer_id,
            details={
                **search.as_json(),
                "page": form.page_number,
                "per_page": form.page_size,
                "source": source,
            },
            outcome=outcome,
        )
        context["filter_query"] = list_query(form, page="")
        context["current_query"] = list_query(form)
        context["sort_links"] = _sort_links(form, search.sort)
        # What the upstream can answer by itself: the same dates, none of the index's filters.
        context["live_query"] = list_query(form, page="", **dict.fromkeys(LOCAL_FIELDS, ""))
    template = "recordings/list.html"
    if request.htmx:  # type: ignore[attr-defined]
        template += "#browser"
    # Input that cannot be understood is a 400 naming its field, never a silent default.
    return render(request, template, context, status=400 if form.errors else 200)


@require_GET
@login_required
@permission_required("recordings.export_recordings", raise_exception=True)
def recording_export(request: HttpRequest) -> HttpResponseBase:
    """The CSV of every row the list shows for the same URL, from the same source."""
    access.check_requested_scope(request)
    scope = access.scope_of(request.user)
    form = RecordingFilterForm(request.GET, scope=scope)
    if not form.is_valid():
        return render(request, "recordings/list.html", {"form": form}, status=400)
    search = form.search()
    filters = search.filters
    plan = listing.plan(search, scope)
    if plan.source == listing.Source.INDEX:
        total = listing.rows(search, scope=scope).count()
        # One query streams the rows: a sync between the count and it may change the number
        # by a row or two, which is no reason to abort the download (expected=0).
        lines = csv_lines_of(listing.index_recordings(search, scope=scope), 0)
    else:
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
        total = first.total_records
        lines = csv_lines(first, filters, page_size)
    audit.record_event(
        action=audit.Action.EXPORT,
        request=request,
        customer_id=filters.customer_id,
        details={
            **search.as_json(),
            "rows": total,
            "source": plan.source,
            "partial": plan.partial,
            "stale": plan.stale and plan.source == listing.Source.INDEX,
        },
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = export_filename(filters, search)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- one recording: the player page, its audio, its waveform ------------------------------


def _neighbours(
    request: HttpRequest, record_id: int
) -> tuple[RecordingFilterForm | None, dict[str, Any]]:
    """Previous and next recordings of the list the reviewer came from (``pos`` in the URL)."""
    form = RecordingFilterForm(request.GET, scope=access.scope_of(request.user))
    position = whole_number(request.GET.get("pos", ""))
    if position is None or not form.is_valid():
        return None, {}
    start = max(0, position - 1)
    try:
        window = listing.list_page(
            form.search(), scope=access.scope_of(request.user), start=start, count=3
        ).page
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


def _list_context_problem(request: HttpRequest) -> tuple[str, str] | None:
    """The first parameter of the list context (``pos`` and the filters) that cannot be
    understood, with what is wrong with it."""
    pos = request.GET.get("pos")
    if pos is None:
        return None
    position = whole_number(pos)
    if position is None or not 0 <= position <= MAX_POSITION:
        return "pos", _("informe a posição na lista como um número inteiro.")
    form = RecordingFilterForm(request.GET, scope=access.scope_of(request.user))
    for field, errors in form.errors.items():
        return field, " ".join(str(e) for e in errors)
    return None


MAX_POSITION = 10**9


@require_GET
@login_required
@permission_required("recordings.view_recording", raise_exception=True)
def recording_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    if problem := _list_context_problem(request):
        return invalid_parameter(request, *problem)
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


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's own 400s (a bad Host, too many fields...), in the portal's page."""
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403, recorded in the audit log: who tried to reach what."""
    audit.record_event(
        action=audit.Action.ACCESS_DENIED,
        request=request,
        outcome="denied",
        details={"path": request.path[:300], "method": request.method},
    )
    return render(request, "403.html", status=403)
