"""QA pages: notes and the evaluation beside the player, forms, queues, reports."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from qa import selectors, services
from qa.forms import (
    EvaluationForm,
    FormDefinitionForm,
    NoteForm,
    QueueForm,
    ReportFilterForm,
    field_problem,
)
from qa.models import Evaluation, Note, QueueItem, ScoreForm
from recordings import access, vono
from recordings.forms import RecordingFilterForm, whole_number
from recordings.pages import invalid_parameter, upstream_message
from vonoportal.http import AuthedRequest

# --- notes beside the player ------------------------------------------------------------------


def _recording(request: AuthedRequest, record_id: int) -> vono.Recording:
    """The recording if visible to this user (404 before anything else); 503 text otherwise."""
    return access.visible_recording(request, record_id)


def _notes_page(
    request: AuthedRequest,
    recording: vono.Recording,
    form: NoteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    notes = list(selectors.notes_of(recording.record_id))
    context = {
        "recording": recording,
        "record_id": recording.record_id,
        "notes": [(n, services.can_change_note(n, request.user)) for n in notes],
        "form": form or NoteForm(),
        "tags": NoteForm.SUGGESTED_TAGS,
    }
    template = "qa/notes.html"
    if request.htmx:
        template += "#notes"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("recordings.view_recording", raise_exception=True)
def recording_notes(request: AuthedRequest, record_id: int) -> HttpResponse:
    """A recording's notes (GET); a new one at a moment of it (POST)."""
    if request.method == "POST" and not request.user.has_perm("qa.annotate_recording"):
        raise PermissionDenied
    try:
        recording = _recording(request, record_id)
    except vono.VonoError as exc:
        return render(request, "qa/unavailable.html", {"error": upstream_message(exc)}, status=503)
    if request.method == "GET":
        return _notes_page(request, recording)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _notes_page(request, recording, form, status=400)
    services.note_add(
        request=request,
        actor=request.user,
        recording=recording,
        at_ms=form.cleaned_data["at_ms"],
        text=form.cleaned_data["text"],
        tag=form.cleaned_data["tag"],
    )
    if request.htmx:
        return _notes_page(request, recording)
    return redirect(reverse("recording_detail", args=[record_id]) + "#notes")


@require_POST
@login_required
@permission_required("qa.annotate_recording", raise_exception=True)
def recording_note(request: AuthedRequest, record_id: int, note_id: int) -> HttpResponse:
    """Edit or (with ``delete``) remove one's own note, within 15 minutes of writing it."""
    try:
        recording = _recording(request, record_id)
    except vono.VonoError as exc:
        return render(request, "qa/unavailable.html", {"error": upstream_message(exc)}, status=503)
    note = get_object_or_404(Note, pk=note_id, record_id=record_id)
    if not services.can_change_note(note, request.user):
        raise PermissionDenied
    if request.POST.get("delete"):
        services.note_delete(request=request, actor=request.user, note=note)
    else:
        form = NoteForm(request.POST, editing=True)
        if not form.is_valid():
            return _notes_page(request, recording, form, status=400)
        services.note_change(
            request=request,
            actor=request.user,
            note=note,
            text=form.cleaned_data["text"],
            tag=form.cleaned_data["tag"],
        )
    if request.htmx:
        return _notes_page(request, recording)
    return redirect(reverse("recording_detail", args=[record_id]) + "#notes")


# --- the evaluation beside the player -------------------------------------------------------


def _queue_item(request: AuthedRequest, record_id: int) -> QueueItem | None:
    """The caller's queue item for this call when ``?queue=`` names one of their queues."""
    raw = request.GET.get("queue", request.POST.get("queue", ""))
    if not raw:
        return None
    queue_id = whole_number(raw)
    if queue_id is None:
        raise _BadParameter("queue", _("informe a fila como um número inteiro."))
    return selectors.queue_item_for(request.user, queue_id, record_id)


class _BadParameter(Exception):
    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem


def _evaluation_context(
    request: AuthedRequest,
    recording: vono.Recording,
    item: QueueItem | None,
    form: EvaluationForm | None = None,
) -> dict[str, Any]:
    user = request.user
    mine = selectors.evaluation_of(recording.record_id, user)
    forms = selectors.published_forms()
    chosen: ScoreForm | None = item.queue.form if item else None
    if chosen is None and forms:
        wanted = whole_number(request.GET.get("form", ""))
        chosen = next((f for f in forms if f.pk == wanted), forms[0])
    version = mine.version if mine else (services.current_version(chosen) if chosen else None)
    if form is None and version is not None:
        form = EvaluationForm(
            criteria=services.criteria_of(version),
            initial_answers={a.criterion_id: a.value for a in mine.answers.all()} if mine else {},
            initial={"comment": mine.comment if mine else ""},
        )
    previous = following = None
    if item is not None:
        previous, following = selectors.queue_neighbours(item)
    others = [
        (e, services.can_reopen_evaluation(e, user))
        for e in selectors.submitted_evaluations_of(recording.record_id)
    ]
    return {
        "recording": recording,
        "record_id": recording.record_id,
        "mine": mine,
        "editable": mine is None or services.can_edit_evaluation(mine, user),
        "can_evaluate": user.has_perm("qa.evaluate_recording"),
        "version": version,
        "forms": forms,
        "chosen": chosen,
        "form": form,
        "item": item,
        "previous": previous,
        "following": following,
        "evaluations": others,
    }


def _evaluation_page(
    request: AuthedRequest, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    template = "qa/evaluation.html"
    if request.htmx:
        template += "#evaluation"
    return render(request, template, context, status=status)


def _player_url(record_id: int, queue_id: int | None = None) -> str:
    url = reverse("recording_detail", args=[record_id])
    return f"{url}?queue={queue_id}" if queue_id else url


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("recordings.view_recording", raise_exception=True)
def recording_evaluation(request: AuthedRequest, record_id: int) -> HttpResponse:
    """The scorecard beside the player: fill, save, submit; a coordinator reopens."""
    try:
        item = _queue_item(request, record_id)
    except _BadParameter as bad:
        return invalid_parameter(request, bad.field, bad.problem)
    if request.method == "POST":
        if request.POST.get("action") == "reopen":
            if not request.user.has_perm("qa.manage_forms"):
                raise PermissionDenied
        elif not request.user.has_perm("qa.evaluate_recording"):
            raise PermissionDenied
    try:
        recording = _recording(request, record_id)
    except vono.VonoError as exc:
        return render(request, "qa/unavailable.html", {"error": upstream_message(exc)}, status=503)
    if request.method == "GET":
        return _evaluation_page(request, _evaluation_context(request, recording, item))
    if request.POST.get("action") == "reopen":
        return _reopen(request, recording, item)
    return _save_evaluation(request, recording, item)


def _reopen(
    request: AuthedRequest, recording: vono.Recording, item: QueueItem | None
) -> HttpResponse:
    pk = whole_number(request.POST.get("evaluation", ""))
    evaluation = get_object_or_404(Evaluation, pk=pk or 0, record_id=recording.record_id)
    if not services.can_reopen_evaluation(evaluation, request.user):
        raise PermissionDenied
    try:
        services.evaluation_reopen(
            request=request,
            actor=request.user,
            evaluation=evaluation,
            reason=request.POST.get("reason", ""),
        )
    except services.QaError as exc:
        context = _evaluation_context(request, recording, item)
        context["reopen_error"] = _("Informe o motivo da reabertura (até 500 caracteres).")
        context["reopen_field"] = exc.field
        return _evaluation_page(request, context, status=400)
    if request.htmx:
        return _evaluation_page(request, _evaluation_context(request, recording, item))
    return redirect(_player_url(recording.record_id) + "#evaluation")


def _save_evaluation(
    request: AuthedRequest, recording: vono.Recording, item: QueueItem | None
) -> HttpResponse:
    user = request.user
    mine = selectors.evaluation_of(recording.record_id, user)
    if mine is None:
        form_id = whole_number(request.POST.get("form", ""))
        chosen = item.queue.form if item else ScoreForm.objects.filter(pk=form_id or 0).first()
        if chosen is None:
            return invalid_parameter(request, "form", _("escolha um formulário publicado."))
        try:
            mine = services.evaluation_start(actor=user, recording=recording, form=chosen)
        except services.QaError:
            return invalid_parameter(request, "form", _("escolha um formulário publicado."))
    if not services.can_edit_evaluation(mine, user):
        raise PermissionDenied
    submit = request.POST.get("action") == "submit"
    form = EvaluationForm(request.POST, criteria=services.criteria_of(mine.version), submit=submit)
    if not form.is_valid():
        context = _evaluation_context(request, recording, item, form)
        return _evaluation_page(request, context, status=400)
    services.evaluation_save(
        request=request,
        actor=user,
        evaluation=mine,
        answers=form.answers(),
        comment=form.cleaned_data["comment"],
        submit=submit,
    )
    if submit:
        following = selectors.next_pending(item) if item else None
        if following is not None:
            target = _player_url(following.record_id, following.queue_id)
        elif item is not None:
            messages.success(request, _("Fila concluída: todas as chamadas foram avaliadas."))
            target = reverse("qa_queue")
        else:
            target = _player_url(recording.record_id) + "#evaluation"
        return HttpResponseClientRedirect(target) if request.htmx else redirect(target)
    if request.htmx:
        context = _evaluation_context(request, recording, item)
        context["saved"] = True
        return _evaluation_page(request, context)
    return redirect(_player_url(recording.record_id, item.queue_id if item else None))


# --- forms (scorecards) -----------------------------------------------------------------------


@require_GET
@login_required
@permission_required("qa.manage_forms", raise_exception=True)
def form_list(request: AuthedRequest) -> HttpResponse:
    rows = []
    for score_form in ScoreForm.objects.prefetch_related("versions").order_by("name", "pk"):
        versions = sorted(score_form.versions.all(), key=lambda v: -v.number)
        published = next((v for v in versions if v.is_published), None)
        draft = versions[0] if versions and not versions[0].is_published else None
        rows.append((score_form, published, draft))
    return render(request, "qa/forms.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("qa.manage_forms", raise_exception=True)
def form_new(request: AuthedRequest) -> HttpResponse:
    form = FormDefinitionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.form_create(
                request=request,
                actor=request.user,
                name=form.cleaned_data["name"],
                definition=form.cleaned_data["definition"],
            )
        except services.QaError as exc:
            form.add_error(field_problem(form, exc.field), exc.message)
        else:
            messages.success(request, _("Formulário criado como rascunho: publique-o para usar."))
            return redirect("qa_form_detail", pk=created.pk)
    status = 400 if form.errors else 200
    return render(request, "qa/form_edit.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("qa.manage_forms", raise_exception=True)
def form_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    score_form = get_object_or_404(ScoreForm, pk=pk)
    latest = score_form.versions.order_by("-number").first()
    assert latest is not None
    form = FormDefinitionForm(
        request.POST or None,
        initial={"name": score_form.name, "definition": latest.definition},
    )
    if request.method == "POST" and form.is_valid():
        try:
            version = services.form_edit(
                request=request,
                actor=request.user,
                form=score_form,
                name=form.cleaned_data["name"],
                definition=form.cleaned_data["definition"],
            )
        except services.QaError as exc:
            form.add_error(field_problem(form, exc.field), exc.message)
        else:
            messages.success(
                request,
                _("Versão %(n)d salva como rascunho: publique-a para usar.")
                % {"n": version.number},
            )
            return redirect("qa_form_detail", pk=score_form.pk)
    versions = score_form.versions.prefetch_related("sections__criteria").order_by("-number")
    return render(
        request,
        "qa/form_edit.html",
        {"form": form, "score_form": score_form, "versions": versions, "latest": latest},
        status=400 if form.errors else 200,
    )


@require_POST
@login_required
@permission_required("qa.manage_forms", raise_exception=True)
def form_publish(request: AuthedRequest, pk: int) -> HttpResponse:
    score_form = get_object_or_404(ScoreForm, pk=pk)
    try:
        version = services.form_publish(request=request, actor=request.user, form=score_form)
    except services.QaError:
        messages.info(request, _("Não há rascunho a publicar."))
    else:
        messages.success(request, _("Versão %(n)d publicada.") % {"n": version.number})
    return redirect("qa_form_detail", pk=score_form.pk)


# --- queues -------------------------------------------------------------------------------------


@require_GET
@login_required
@permission_required("qa.evaluate_recording", raise_exception=True)
def my_queue(request: AuthedRequest) -> HttpResponse:
    """Minha fila: the calls assigned to me, with what is already evaluated."""
    return render(request, "qa/queue.html", {"queues": selectors.my_queues(request.user)})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("qa.build_queue", raise_exception=True)
def queue_new(request: AuthedRequest) -> HttpResponse:
    """Build a sample (the list's filter, or N random calls per extension) and assign it."""
    access.check_requested_scope(request)
    scope = access.scope_of(request.user)
    filters = RecordingFilterForm(request.GET, scope=scope)
    form = QueueForm(request.POST or None, initial=QueueForm.initial_from(request.GET))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if data["mode"] == QueueForm.FROM_FILTER:
                filter_form = RecordingFilterForm(request.POST, scope=scope)
                if not filter_form.is_valid():
                    field, errors = next(iter(filter_form.errors.items()))
                    return invalid_parameter(request, field, " ".join(str(e) for e in errors))
                calls = services.sample_from_filter(filter_form.filters(), scope=scope)
                how: dict[str, object] = {"mode": "filter", **filter_form.filters().as_json()}
            else:
                calls = services.sample_per_extension(
                    scope=scope,
                    date_ini=data["period_ini"],
                    date_end=data["period_end"],
                    per_extension=data["per_extension"],
                )
                how = {
                    "mode": "per_extension",
                    "per_extension": data["per_extension"],
                    "period": [str(data["period_ini"]), str(data["period_end"])],
                }
            queue = services.queue_create(
                request=request,
                actor=request.user,
                name=data["name"],
                form=data["form"],
                calls=calls,
                reviewers=data["reviewers"],
                how=how,
            )
        except vono.VonoError as exc:
            messages.error(request, upstream_message(exc))
        except services.QaError as exc:
            form.add_error(field_problem(form, exc.field), _("Nenhuma chamada nesta amostra."))
        else:
            messages.success(
                request,
                _("Fila “%(name)s” criada com %(n)d chamadas.")
                % {"name": queue.name, "n": queue.items.count()},
            )
            return redirect("qa_queue_new")
    context = {"form": form, "filters": filters.data if filters.is_valid() else {}}
    return render(request, "qa/queue_new.html", context, status=400 if form.errors else 200)


# --- reports ----------------------------------------------------------------------------------


def _report_rows(request: AuthedRequest) -> tuple[ReportFilterForm, Any, Any]:
    form = ReportFilterForm(request.GET)
    if not form.is_valid():
        return form, [], []
    evaluations = selectors.submitted_in(
        scope=access.scope_of(request.user),
        date_ini=form.cleaned_data["date_ini"],
        date_end=form.cleaned_data["date_end"],
    )
    return (
        form,
        selectors.report_by_extension(evaluations),
        selectors.report_by_criterion(evaluations),
    )


@require_GET
@login_required
@permission_required("qa.view_qa_reports", raise_exception=True)
def reports(request: AuthedRequest) -> HttpResponse:
    form, by_extension, by_criterion = _report_rows(request)
    context = {
        "form": form,
        "by_extension": by_extension,
        "by_criterion": by_criterion,
        "query": request.GET.urlencode(),
    }
    return render(request, "qa/reports.html", context, status=400 if form.errors else 200)


def _csv_line(values: list[object]) -> str:
    import io

    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if isinstance(value, Decimal):
        return text.replace(".", ",")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    # A spreadsheet reads a leading = + - @ as a formula: never from our cells.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@require_GET
@login_required
@permission_required("qa.view_qa_reports", raise_exception=True)
def reports_csv(request: AuthedRequest) -> HttpResponseBase:
    form, by_extension, by_criterion = _report_rows(request)
    if form.errors:
        return render(request, "qa/reports.html", {"form": form}, status=400)

    def lines() -> Any:
        yield "\ufeff" + _csv_line(
            [
                _("tipo"),
                _("assinante"),
                _("ramal"),
                _("formulário"),
                _("seção"),
                _("critério"),
                _("mês"),
                _("avaliações"),
                _("média"),
                _("falhas críticas"),
            ]
        )
        for r in by_extension:
            yield _csv_line(
                [
                    _("ramal"),
                    r.customer_id,
                    r.extension,
                    "",
                    "",
                    "",
                    r.month,
                    r.count,
                    r.average,
                    r.critical_failures,
                ]
            )
        for c in by_criterion:
            yield _csv_line(
                [
                    _("critério"),
                    "",
                    "",
                    c.form,
                    c.section,
                    c.criterion,
                    c.month,
                    c.count,
                    c.average,
                    "",
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="avaliacoes.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
