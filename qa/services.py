"""Every write of the QA app, and the rules that decide who may make it.

Each change is atomic and writes its audit event in the same transaction. Views ask the
``can_*`` functions (for the buttons they show) and call the services, which ask again.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import services as audit
from qa import scoring
from qa.models import (
    Answer,
    Criterion,
    Evaluation,
    FormVersion,
    Note,
    QueueItem,
    ReviewQueue,
    ScoreForm,
    Section,
)
from recordings import access, vono
from recordings.models import User
from recordings.scope import Scope

NOTE_EDIT_WINDOW = dt.timedelta(minutes=15)
MAX_SAMPLE = 500


class QaError(ValueError):
    """Input a service refuses; ``field`` names what to correct (the view's 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def extension_of(source: str, destination: str) -> str:
    """The agent's extension of a call: the party that is not a phone number (10+ digits)."""

    def is_phone(number: str) -> bool:
        digits = number.lstrip("+")
        return digits.isdigit() and len(digits) >= 10

    if source and not is_phone(source):
        return source[:80]
    if destination and not is_phone(destination):
        return destination[:80]
    return ""


# --- notes ------------------------------------------------------------------------------------


def can_change_note(note: Note, actor: User, *, now: dt.datetime | None = None) -> bool:
    """The author may edit or delete a note for 15 minutes; after that it is fixed."""
    now = now or timezone.now()
    return note.author_id == actor.pk and now - note.created_at < NOTE_EDIT_WINDOW


def _note_fields(at_ms: int | None, text: str, tag: str) -> tuple[str, str]:
    text = text.strip()
    if not text:
        raise QaError("text", "empty")
    if len(text) > 2000:
        raise QaError("text", "too long")
    if len(tag.strip()) > 40:
        raise QaError("tag", "too long")
    if at_ms is not None and not 0 <= at_ms <= 24 * 3600 * 1000:
        raise QaError("at", "out of range")
    return text, tag.strip()


@transaction.atomic
def note_add(
    *,
    request: HttpRequest,
    actor: User,
    recording: vono.Recording,
    at_ms: int,
    text: str,
    tag: str = "",
) -> Note:
    """A note at ``at_ms`` of a recording the actor may see (the view checked)."""
    text, tag = _note_fields(at_ms, text, tag)
    at_ms = min(at_ms, recording.duration * 1000)
    now = timezone.now()
    note = Note.objects.create(
        record_id=recording.record_id,
        customer_id=recording.customer_id,
        author=actor,
        at_ms=at_ms,
        text=text,
        tag=tag,
        created_at=now,
        updated_at=now,
    )
    audit.record_event(
        action=audit.Action.QA_NOTE_ADDED,
        request=request,
        actor=actor,
        record_ids=[note.record_id],
        customer_id=note.customer_id,
        details={"note": note.pk, "at_ms": at_ms, "tag": tag, "text": text[:200]},
    )
    return note


@transaction.atomic
def note_change(*, request: HttpRequest, actor: User, note: Note, text: str, tag: str = "") -> Note:
    note = Note.objects.select_for_update().get(pk=note.pk)
    if not can_change_note(note, actor):
        raise PermissionDenied
    text, tag = _note_fields(None, text, tag)
    before = {"text": note.text[:200], "tag": note.tag}
    note.text, note.tag, note.updated_at = text, tag, timezone.now()
    note.save(update_fields=["text", "tag", "updated_at"])
    audit.record_event(
        action=audit.Action.QA_NOTE_CHANGED,
        request=request,
        actor=actor,
        record_ids=[note.record_id],
        customer_id=note.customer_id,
        details={"note": note.pk, "before": before, "after": {"text": text[:200], "tag": tag}},
    )
    return note


@transaction.atomic
def note_delete(*, request: HttpRequest, actor: User, note: Note) -> None:
    note = Note.objects.select_for_update().get(pk=note.pk)
    if not can_change_note(note, actor):
        raise PermissionDenied
    audit.record_event(
        action=audit.Action.QA_NOTE_DELETED,
        request=request,
        actor=actor,
        record_ids=[note.record_id],
        customer_id=note.customer_id,
        details={"note": note.pk, "at_ms": note.at_ms, "tag": note.tag, "text": note.text[:200]},
    )
    note.delete()


# --- evaluation forms ---------------------------------------------------------------------------


def can_manage_forms(actor: User) -> bool:
    return actor.has_perm("qa.manage_forms")


def _write_content(version: FormVersion, sections: list[scoring.SectionSpec]) -> None:
    version.sections.all().delete()
    for s_pos, spec in enumerate(sections):
        section = Section.objects.create(version=version, position=s_pos, title=spec.title)
        Criterion.objects.bulk_create(
            Criterion(
                section=section,
                position=c_pos,
                text=c.text,
                weight=c.weight,
                kind=c.kind,
                critical=c.critical,
            )
            for c_pos, c in enumerate(spec.criteria)
        )


def _parsed(definition: str) -> list[scoring.SectionSpec]:
    try:
        return scoring.parse_definition(definition)
    except scoring.DefinitionError as exc:
        raise QaError("definition", str(exc)) from None


@transaction.atomic
def form_create(
    *, request: HttpRequest | None, actor: User, name: str, definition: str
) -> ScoreForm:
    """A new form with its first version, a draft."""
    if not can_manage_forms(actor):
        raise PermissionDenied
    name = name.strip()
    if not name or len(name) > 120:
        raise QaError("name", "empty or too long")
    sections = _parsed(definition)
    now = timezone.now()
    form = ScoreForm.objects.create(name=name, created_by=actor, created_at=now)
    version = FormVersion.objects.create(
        form=form, number=1, definition=definition, created_by=actor, created_at=now
    )
    _write_content(version, sections)
    audit.record_event(
        action=audit.Action.QA_FORM_SAVED,
        request=request,
        actor=actor,
        details={"form": form.pk, "name": name, "version": 1},
    )
    return form


@transaction.atomic
def form_edit(
    *, request: HttpRequest | None, actor: User, form: ScoreForm, name: str, definition: str
) -> FormVersion:
    """Change a form: its draft version is rewritten; a published one never is, so editing
    it makes the next version (a draft) and the evaluations keep the version they used."""
    if not can_manage_forms(actor):
        raise PermissionDenied
    form = ScoreForm.objects.select_for_update().get(pk=form.pk)
    name = name.strip()
    if not name or len(name) > 120:
        raise QaError("name", "empty or too long")
    sections = _parsed(definition)
    latest = form.versions.order_by("-number").first()
    assert latest is not None
    if latest.is_published:
        latest = FormVersion.objects.create(
            form=form,
            number=latest.number + 1,
            definition=definition,
            created_by=actor,
            created_at=timezone.now(),
        )
    else:
        latest.definition = definition
        latest.save(update_fields=["definition"])
    _write_content(latest, sections)
    if form.name != name:
        form.name = name
        form.save(update_fields=["name"])
    audit.record_event(
        action=audit.Action.QA_FORM_SAVED,
        request=request,
        actor=actor,
        details={"form": form.pk, "name": name, "version": latest.number},
    )
    return latest


@transaction.atomic
def form_publish(*, request: HttpRequest | None, actor: User, form: ScoreForm) -> FormVersion:
    """Publish the form's draft: new evaluations use it from now on."""
    if not can_manage_forms(actor):
        raise PermissionDenied
    latest = form.versions.select_for_update().order_by("-number").first()
    assert latest is not None
    if latest.is_published:
        raise QaError("version", "already published")
    latest.published_at = timezone.now()
    latest.save(update_fields=["published_at"])
    audit.record_event(
        action=audit.Action.QA_FORM_PUBLISHED,
        request=request,
        actor=actor,
        details={"form": form.pk, "version": latest.number},
    )
    return latest


def current_version(form: ScoreForm) -> FormVersion | None:
    """The newest published version: the one a new evaluation is filled with."""
    return form.versions.filter(published_at__isnull=False).order_by("-number").first()


# --- evaluations --------------------------------------------------------------------------------


def can_edit_evaluation(evaluation: Evaluation, actor: User) -> bool:
    return (
        evaluation.reviewer_id == actor.pk
        and evaluation.status == Evaluation.Status.DRAFT
        and actor.has_perm("qa.evaluate_recording")
    )


def can_reopen_evaluation(evaluation: Evaluation, actor: User) -> bool:
    """Only a coordinator reopens, and only what was submitted."""
    return evaluation.status == Evaluation.Status.SUBMITTED and actor.has_perm("qa.manage_forms")


@transaction.atomic
def evaluation_start(*, actor: User, recording: vono.Recording, form: ScoreForm) -> Evaluation:
    """The actor's evaluation of this recording: theirs if it exists, else a new draft with the
    form's current version."""
    if not actor.has_perm("qa.evaluate_recording"):
        raise PermissionDenied
    existing = Evaluation.objects.filter(record_id=recording.record_id, reviewer=actor).first()
    if existing is not None:
        return existing
    version = current_version(form)
    if version is None:
        raise QaError("form", "not published")
    now = timezone.now()
    # Two tabs sending at once: the unique constraint decides, get_or_create reads the winner.
    evaluation, _ = Evaluation.objects.get_or_create(
        record_id=recording.record_id,
        reviewer=actor,
        defaults={
            "customer_id": recording.customer_id,
            "extension": extension_of(recording.source, recording.destination),
            "calldate": recording.calldate,
            "version": version,
            "created_at": now,
            "updated_at": now,
        },
    )
    return evaluation


def criteria_of(version: FormVersion) -> list[Criterion]:
    return list(
        Criterion.objects.filter(section__version=version)
        .select_related("section")
        .order_by("section__position", "position")
    )


def spec_of(criterion: Criterion) -> scoring.CriterionSpec:
    return scoring.CriterionSpec(
        criterion.text, criterion.weight, criterion.kind, critical=criterion.critical
    )


@transaction.atomic
def evaluation_save(
    *,
    request: HttpRequest | None,
    actor: User,
    evaluation: Evaluation,
    answers: dict[int, str],
    comment: str = "",
    submit: bool = False,
) -> Evaluation:
    """Keep the answers of a draft; with ``submit``, every criterion must be answered and the
    score is computed here, on the server, from the evaluation's own form version."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not can_edit_evaluation(evaluation, actor):
        raise PermissionDenied
    criteria = criteria_of(evaluation.version)
    kept: dict[int, str] = {}
    for criterion in criteria:
        value = answers.get(criterion.pk, "")
        if value == "":
            continue
        if not scoring.valid_answer(criterion.kind, value):
            raise QaError(f"c{criterion.pk}", "invalid answer")
        kept[criterion.pk] = value
    if len(comment) > 4000:
        raise QaError("comment", "too long")
    if submit:
        missing = [c for c in criteria if c.pk not in kept]
        if missing:
            raise QaError(f"c{missing[0].pk}", "unanswered")
    evaluation.answers.all().delete()
    Answer.objects.bulk_create(
        Answer(evaluation=evaluation, criterion_id=pk, value=value) for pk, value in kept.items()
    )
    now = timezone.now()
    evaluation.comment = comment.strip()
    evaluation.updated_at = now
    action = audit.Action.QA_EVALUATION_SAVED
    if submit:
        score = scoring.compute_score([(spec_of(c), kept[c.pk]) for c in criteria])
        evaluation.status = Evaluation.Status.SUBMITTED
        evaluation.score = score.value
        evaluation.critical_failed = score.critical_failed
        evaluation.submitted_at = now
        action = audit.Action.QA_EVALUATION_SUBMITTED
    evaluation.save()
    audit.record_event(
        action=action,
        request=request,
        actor=actor,
        record_ids=[evaluation.record_id],
        customer_id=evaluation.customer_id,
        details={
            "evaluation": evaluation.pk,
            "form_version": evaluation.version_id,
            "answered": len(kept),
            "score": None if evaluation.score is None else str(evaluation.score),
        },
    )
    return evaluation


@transaction.atomic
def evaluation_reopen(
    *, request: HttpRequest | None, actor: User, evaluation: Evaluation, reason: str
) -> Evaluation:
    """Back to a draft its reviewer can change; the score is cleared until it is sent again."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not can_reopen_evaluation(evaluation, actor):
        raise PermissionDenied
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise QaError("reason", "empty or too long")
    before = None if evaluation.score is None else str(evaluation.score)
    evaluation.status = Evaluation.Status.DRAFT
    evaluation.score = None
    evaluation.critical_failed = False
    evaluation.submitted_at = None
    evaluation.updated_at = timezone.now()
    evaluation.save()
    audit.record_event(
        action=audit.Action.QA_EVALUATION_REOPENED,
        request=request,
        actor=actor,
        record_ids=[evaluation.record_id],
        customer_id=evaluation.customer_id,
        details={
            "evaluation": evaluation.pk,
            "reviewer": evaluation.reviewer.username,
            "score_before": before,
            "reason": reason,
        },
    )
    return evaluation


# --- review queues ----------------------------------------------------------------------------


def can_build_queue(actor: User) -> bool:
    return actor.has_perm("qa.build_queue")


@dataclass(frozen=True)
class SampledCall:
    record_id: int
    customer_id: int | None
    extension: str
    calldate: dt.datetime


def sample_per_extension(
    *,
    scope: Scope,
    date_ini: dt.date,
    date_end: dt.date,
    per_extension: int,
    rng: random.Random | None = None,
) -> list[SampledCall]:
    """N random calls per extension in the period, from the recording index."""
    from index.models import IndexedRecording
    from index.selectors import scope_q

    rows = IndexedRecording.objects.filter(
        gone_at__isnull=True, call_day__gte=date_ini, call_day__lte=date_end
    )
    rows = rows.filter(scope_q(scope))
    by_extension: dict[str, list[SampledCall]] = {}
    fields = ("record_id", "customer_id", "source", "destination", "calldate")
    for record_id, customer_id, source, destination, calldate in rows.values_list(*fields):
        extension = extension_of(source, destination)
        if extension:
            by_extension.setdefault(extension, []).append(
                SampledCall(record_id, customer_id, extension, calldate)
            )
    rng = rng or random.SystemRandom()
    picked: list[SampledCall] = []
    for extension in sorted(by_extension):
        calls = sorted(by_extension[extension], key=lambda c: c.record_id)
        picked += rng.sample(calls, min(per_extension, len(calls)))
    return picked[:MAX_SAMPLE]


def sample_from_filter(filters: vono.RecordingFilter, *, scope: Scope) -> list[SampledCall]:
    """The first calls of a recordings-list filter (at most MAX_SAMPLE), as the list shows them:
    for a team (extension scope), from the index, as their list is.

    Raises vono.VonoError when the upstream fails."""
    from index import selectors as index_selectors

    if scope.extensions is not None:
        page = index_selectors.filtered_page(filters, scope, start=0, count=MAX_SAMPLE)
    else:
        page = vono.get_client().list_window(filters, start=0, count=MAX_SAMPLE)
    return [
        SampledCall(r.record_id, r.customer_id, extension_of(r.source, r.destination), r.calldate)
        for r in page.recordings
    ]


@transaction.atomic
def queue_create(
    *,
    request: HttpRequest | None,
    actor: User,
    name: str,
    form: ScoreForm,
    calls: Sequence[SampledCall],
    reviewers: Iterable[User],
    how: dict[str, object],
) -> ReviewQueue:
    """A queue of ``calls`` dealt in turn to the ``reviewers``."""
    if not can_build_queue(actor):
        raise PermissionDenied
    name = name.strip()
    if not name or len(name) > 120:
        raise QaError("name", "empty or too long")
    if current_version(form) is None:
        raise QaError("form", "not published")
    people = [r for r in reviewers if r.has_perm("qa.evaluate_recording")]
    if not people:
        raise QaError("reviewers", "none")
    reach = access.scope_of(actor)
    scope = reach.customer_id
    calls = [
        c
        for c in calls
        if (scope is None or c.customer_id == scope)
        and (reach.extensions is None or reach.extensions.contains(c.extension))
    ]
    if not calls:
        raise QaError("sample", "empty")
    queue = ReviewQueue.objects.create(
        name=name,
        form=form,
        created_by=actor,
        customer_id=scope,
        created_at=timezone.now(),
        how=how,
    )
    seen: set[int] = set()
    items: list[QueueItem] = []
    for call in calls:
        if call.record_id in seen:
            continue
        seen.add(call.record_id)
        items.append(
            QueueItem(
                queue=queue,
                position=len(items),
                record_id=call.record_id,
                customer_id=call.customer_id,
                extension=call.extension,
                calldate=call.calldate,
                assignee=people[len(items) % len(people)],
            )
        )
    QueueItem.objects.bulk_create(items)
    audit.record_event(
        action=audit.Action.QA_QUEUE_CREATED,
        request=request,
        actor=actor,
        record_ids=[i.record_id for i in items][:MAX_SAMPLE],
        customer_id=scope,
        details={
            "queue": queue.pk,
            "name": name,
            "form": form.pk,
            "reviewers": sorted(p.username for p in people),
            "calls": len(items),
            **how,
        },
    )
    return queue
