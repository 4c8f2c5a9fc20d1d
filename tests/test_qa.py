"""QA through the real stack: notes, versioned forms, evaluations, queues, reports, scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from qa import selectors, services
from qa.models import Evaluation, Note
from recordings import vono
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

DEFINITION = """# Abertura
Saudou | 2 | sim/não
! Confirmou a identidade | 3 | sim/não
# Atendimento
Cordialidade | 1 | 0-10
"""


@pytest.fixture
def coord(db: None) -> Any:
    return make_user("coord", "Coordenadores de QA")


@pytest.fixture
def reviewer(db: None) -> Any:
    return make_user("qa", "Revisores de QA")


@pytest.fixture
def published(coord: Any) -> Any:
    form = services.form_create(request=None, actor=coord, name="Padrão", definition=DEFINITION)
    services.form_publish(request=None, actor=coord, form=form)
    return form


def _recording(sim: SimulatorProcess, customer: int = 3, nth: int = 0) -> vono.Recording:
    record_id = sim.list(f"limit={nth + 1}", path=f"/{customer}")["data"][nth]["record_id"]
    return vono.get_client().get_recording(record_id)


def _current(form: Any) -> Any:
    version = services.current_version(form)
    assert version is not None
    return version


def _answers(evaluation: Evaluation, *values: str) -> dict[int, str]:
    criteria = services.criteria_of(evaluation.version)
    return {c.pk: v for c, v in zip(criteria, values, strict=True)}


def _evaluate(
    actor: Any, recording: vono.Recording, form: Any, *values: str, submit: bool = True
) -> Evaluation:
    """``actor``'s evaluation of ``recording`` with these answers, submitted or a draft."""
    evaluation = services.evaluation_start(actor=actor, recording=recording, form=form)
    services.evaluation_save(
        request=None,
        actor=actor,
        evaluation=evaluation,
        answers=_answers(evaluation, *values),
        submit=submit,
    )
    return evaluation


# --- notes ----------------------------------------------------------------------------------


def test_a_reviewer_adds_a_note_at_a_moment_and_it_is_audited(
    client: Client, sim: SimulatorProcess, reviewer: Any
) -> None:
    recording = _recording(sim)
    client.force_login(reviewer)
    response = client.post(
        f"/recordings/{recording.record_id}/notes",
        {"at": "0:07", "text": "Saudação sem o nome da empresa", "tag": "saudação"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    note = Note.objects.get()
    assert (note.at_ms, note.tag, note.customer_id) == (7000, "saudação", 3)
    page = response.content.decode()
    assert 'data-at-ms="7000"' in page and "?t=0:07" in page
    event = AuditEvent.objects.get(action=AuditEvent.Action.QA_NOTE_ADDED)
    assert event.record_ids == [recording.record_id]
    assert event.details["text"] == "Saudação sem o nome da empresa"


def test_a_note_without_text_or_with_an_unreadable_moment_is_a_400(
    client: Client, sim: SimulatorProcess, reviewer: Any
) -> None:
    recording = _recording(sim)
    client.force_login(reviewer)
    url = f"/recordings/{recording.record_id}/notes"
    assert client.post(url, {"at": "1:23", "text": " "}).status_code == 400
    assert client.post(url, {"at": "1:99", "text": "x"}).status_code == 400
    assert client.post(url, {"at": "9" * 5000, "text": "x"}).status_code == 400
    assert not Note.objects.exists()


def test_the_author_may_change_a_note_for_15_minutes_then_it_is_fixed(
    sim: SimulatorProcess, reviewer: Any, rf: Any
) -> None:
    recording = _recording(sim)
    request = rf.post("/")
    request.user = reviewer
    note = services.note_add(
        request=request, actor=reviewer, recording=recording, at_ms=1000, text="a"
    )
    services.note_change(request=request, actor=reviewer, note=note, text="b", tag="elogio")
    assert Note.objects.get().text == "b"
    later = note.created_at + dt.timedelta(minutes=15)
    assert services.can_change_note(note, reviewer, now=later - dt.timedelta(seconds=1))
    assert not services.can_change_note(note, reviewer, now=later)
    Note.objects.filter(pk=note.pk).update(created_at=timezone.now() - dt.timedelta(minutes=16))
    note.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.note_change(request=request, actor=reviewer, note=note, text="c")
    with pytest.raises(PermissionDenied):
        services.note_delete(request=request, actor=reviewer, note=note)
    assert Note.objects.get().text == "b"
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions == [AuditEvent.Action.QA_NOTE_ADDED, AuditEvent.Action.QA_NOTE_CHANGED]


def test_nobody_else_changes_or_deletes_a_note(
    client: Client, sim: SimulatorProcess, reviewer: Any, coord: Any
) -> None:
    recording = _recording(sim)
    client.force_login(reviewer)
    client.post(f"/recordings/{recording.record_id}/notes", {"at": "3", "text": "minha"})
    note = Note.objects.get()
    client.force_login(coord)
    url = f"/recordings/{recording.record_id}/notes/{note.pk}"
    assert client.post(url, {"delete": "1"}).status_code == 403
    assert client.post(url, {"text": "outra"}).status_code == 403
    client.force_login(reviewer)
    assert client.post(url, {"delete": "1"}).status_code == 302
    assert not Note.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.QA_NOTE_DELETED).count() == 1


def test_a_scoped_user_cannot_reach_another_subscribers_notes_or_evaluation(
    client: Client, sim: SimulatorProcess, published: Any
) -> None:
    other = _recording(sim, customer=3)
    client.force_login(make_user("scoped-qa", "Revisores de QA", customer_id=12))
    sim.reset()
    for suffix in ("notes", "evaluation"):
        assert client.get(f"/recordings/{other.record_id}/{suffix}").status_code == 404
        response = client.post(
            f"/recordings/{other.record_id}/{suffix}", {"at": "1", "text": "x", "action": "save"}
        )
        assert response.status_code == 404
    assert sim.stats()["requests"].get("download", 0) == 0
    assert not Note.objects.exists() and not Evaluation.objects.exists()


# --- forms and their versions ---------------------------------------------------------------


def test_editing_a_published_form_makes_a_new_version_and_old_evaluations_keep_theirs(
    sim: SimulatorProcess, coord: Any, reviewer: Any, published: Any
) -> None:
    first, second = _recording(sim), _recording(sim, nth=1)
    old = services.evaluation_start(actor=reviewer, recording=first, form=published)
    old = services.evaluation_save(
        request=None,
        actor=reviewer,
        evaluation=old,
        answers=_answers(old, "yes", "yes", "5"),
        submit=True,
    )
    assert old.score == Decimal("91.67")  # (2 + 3 + 0.5) / 6

    v2 = services.form_edit(
        request=None,
        actor=coord,
        form=published,
        name="Padrão",
        definition=DEFINITION + "Resolveu | 6 | sim/não\n",
    )
    assert (v2.number, v2.is_published) == (2, False)
    # A draft is not used yet; editing it again rewrites it instead of stacking versions.
    assert _current(published).number == 1
    again = services.form_edit(
        request=None,
        actor=coord,
        form=published,
        name="Padrão",
        definition=DEFINITION + "Resolveu | 4 | sim/não\n",
    )
    assert again.pk == v2.pk and published.versions.count() == 2
    services.form_publish(request=None, actor=coord, form=published)

    new = services.evaluation_start(actor=reviewer, recording=second, form=published)
    assert new.version.number == 2 and len(services.criteria_of(new.version)) == 4
    old.refresh_from_db()
    assert old.version.number == 1 and old.score == Decimal("91.67")
    assert len(services.criteria_of(old.version)) == 3


def test_only_coordinators_define_forms(sim: SimulatorProcess, reviewer: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.form_create(request=None, actor=reviewer, name="x", definition=DEFINITION)


def test_a_coordinator_defines_a_form_on_its_page_and_a_bad_line_is_a_400(
    client: Client, coord: Any
) -> None:
    client.force_login(coord)
    response = client.post("/qa/forms/new", {"name": "Vendas", "definition": "Ofertou | x | 0-10"})
    assert response.status_code == 400
    assert "linha 1" in response.content.decode()
    response = client.post("/qa/forms/new", {"name": "Vendas", "definition": DEFINITION})
    assert response.status_code == 302
    detail = response["Location"]
    assert "Publicar a versão 1" in client.get(detail).content.decode()
    client.post(detail + "publish")
    assert "v1" in client.get("/qa/forms/").content.decode()


# --- evaluations ----------------------------------------------------------------------------


def test_submitting_needs_every_answer_and_the_score_is_computed_on_the_server(
    client: Client, sim: SimulatorProcess, reviewer: Any, published: Any
) -> None:
    recording = _recording(sim)
    client.force_login(reviewer)
    url = f"/recordings/{recording.record_id}/evaluation"
    criteria = services.criteria_of(_current(published))
    partial = {"form": published.pk, f"c{criteria[0].pk}": "yes", "action": "submit"}
    assert client.post(url, partial).status_code == 400
    evaluation = Evaluation.objects.get()
    assert evaluation.status == Evaluation.Status.DRAFT  # nothing was submitted
    answers = {f"c{c.pk}": v for c, v in zip(criteria, ["yes", "no", "10"], strict=True)}
    # A score sent by the client is ignored: the server computes it.
    response = client.post(url, {**answers, "score": "100", "action": "submit"})
    assert response.status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.SUBMITTED
    assert (evaluation.score, evaluation.critical_failed) == (Decimal("0.00"), True)
    assert evaluation.extension  # the agent, kept for the reports
    # Submitted: the reviewer cannot change it any more.
    assert client.post(url, {**answers, "action": "save"}).status_code == 403


def test_an_answer_outside_the_criterions_type_is_a_400(
    client: Client, sim: SimulatorProcess, reviewer: Any, published: Any
) -> None:
    recording = _recording(sim)
    client.force_login(reviewer)
    criteria = services.criteria_of(_current(published))
    response = client.post(
        f"/recordings/{recording.record_id}/evaluation",
        {"form": published.pk, f"c{criteria[2].pk}": "11", "action": "save"},
    )
    assert response.status_code == 400


def test_only_a_coordinator_reopens_with_a_reason_and_it_is_audited(
    client: Client, sim: SimulatorProcess, reviewer: Any, coord: Any, published: Any
) -> None:
    recording = _recording(sim)
    evaluation = services.evaluation_start(actor=reviewer, recording=recording, form=published)
    evaluation = services.evaluation_save(
        request=None,
        actor=reviewer,
        evaluation=evaluation,
        answers=_answers(evaluation, "yes", "yes", "8"),
        submit=True,
    )
    url = f"/recordings/{recording.record_id}/evaluation"
    reopen = {"action": "reopen", "evaluation": evaluation.pk}
    client.force_login(reviewer)
    assert client.post(url, {**reopen, "reason": "quero mudar"}).status_code == 403
    client.force_login(make_user("sup", "Supervisores"))
    assert client.post(url, {**reopen, "reason": "x"}).status_code == 403
    client.force_login(coord)
    assert client.post(url, {**reopen, "reason": "  "}).status_code == 400
    assert client.post(url, {**reopen, "reason": "nota errada no item 3"}).status_code == 302
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.DRAFT and evaluation.score is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.QA_EVALUATION_REOPENED)
    assert event.details["reason"] == "nota errada no item 3"
    assert event.details["score_before"] == "96.67"
    assert services.can_edit_evaluation(evaluation, reviewer)


# --- queues -----------------------------------------------------------------------------------


def test_after_submitting_the_player_moves_to_the_next_call_of_the_queue(
    client: Client, sim: SimulatorProcess, reviewer: Any, coord: Any, published: Any
) -> None:
    calls = [_recording(sim, nth=n) for n in range(3)]
    queue = services.queue_create(
        request=None,
        actor=coord,
        name="Semana 48",
        form=published,
        calls=[
            services.SampledCall(c.record_id, c.customer_id, "sup9001", c.calldate) for c in calls
        ],
        reviewers=[reviewer],
        how={"mode": "test"},
    )
    client.force_login(reviewer)
    page = client.get("/qa/queue/").content.decode()
    assert "0 de 3 avaliadas" in page
    criteria = services.criteria_of(_current(published))
    answers = {f"c{c.pk}": v for c, v in zip(criteria, ["yes", "yes", "9"], strict=True)}
    response = client.post(
        f"/recordings/{calls[0].record_id}/evaluation",
        {**answers, "queue": queue.pk, "action": "submit"},
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == f"/recordings/{calls[1].record_id}/?queue={queue.pk}"
    assert "1 de 3 avaliadas" in client.get("/qa/queue/").content.decode()
    evaluation = client.get(
        f"/recordings/{calls[1].record_id}/evaluation?queue={queue.pk}"
    ).content.decode()
    assert 'data-nav="queue-next"' in evaluation and 'data-nav="queue-previous"' in evaluation
    assert client.get(f"/recordings/{calls[1].record_id}/evaluation?queue=x").status_code == 400


def test_a_sample_per_extension_takes_n_calls_of_each(
    client: Client, sim: SimulatorProcess, coord: Any, reviewer: Any, published: Any
) -> None:
    from index.models import IndexedRecording

    now = timezone.now()
    for n, (source, destination) in enumerate(
        [("2001", "5511999990000")] * 4 + [("5511999990000", "2002")] * 2
    ):
        IndexedRecording.objects.create(
            record_id=900 + n,
            customer_id=7,
            calldate=now,
            call_day=timezone.localdate(),
            source=source,
            destination=destination,
            duration=60,
            first_seen=now,
            last_seen=now,
        )
    client.force_login(coord)
    today = timezone.localdate()
    response = client.post(
        "/qa/queues/new",
        {
            "name": "Por ramal",
            "form": published.pk,
            "reviewers": [reviewer.pk, coord.pk],
            "mode": "per_extension",
            "per_extension": 3,
            "period_ini": str(today - dt.timedelta(days=1)),
            "period_end": str(today),
        },
    )
    assert response.status_code == 302
    items = list(selectors.my_queues(reviewer)[0].rows) + list(selectors.my_queues(coord)[0].rows)
    extensions = sorted(row.item.extension for row in items)
    assert extensions == ["2001", "2001", "2001", "2002", "2002"]
    assert {
        len(selectors.my_queues(reviewer)[0].rows),
        len(selectors.my_queues(coord)[0].rows),
    } == {
        2,
        3,
    }


def test_a_sample_from_the_lists_filter(
    client: Client, sim: SimulatorProcess, coord: Any, reviewer: Any, published: Any
) -> None:
    one = sim.list("limit=1", path="/12")["data"][0]
    client.force_login(coord)
    response = client.post(
        "/qa/queues/new",
        {
            "name": "Filtro",
            "form": published.pk,
            "reviewers": [reviewer.pk],
            "mode": "filter",
            "per_extension": 3,
            "period_ini": "2026-01-01",
            "period_end": "2026-01-02",
            "date_ini": "",
            "date_end": "",
            "id_record": one["record_id"],
        },
    )
    assert response.status_code == 302
    [progress] = selectors.my_queues(reviewer)
    assert [r.item.record_id for r in progress.rows] == [one["record_id"]]


# --- reports ------------------------------------------------------------------------------------


def test_reports_average_per_extension_and_criterion_within_the_scope(
    client: Client, sim: SimulatorProcess, reviewer: Any, published: Any
) -> None:
    mine, theirs = _recording(sim, customer=12), _recording(sim, customer=3)
    for recording, values in ((mine, ("yes", "yes", "6")), (theirs, ("na", "yes", "2"))):
        _evaluate(reviewer, recording, published, *values)
    client.force_login(make_user("scoped-sup", "Supervisores", customer_id=12))
    response = client.get("/qa/reports/?date_ini=&date_end=")
    rows = response.context["by_extension"]
    assert [(r.customer_id, r.count, r.average) for r in rows] == [(12, 1, Decimal("93.3"))]
    from django.utils.formats import date_format

    page = response.content.decode()
    assert date_format(rows[0].month, "YEAR_MONTH_FORMAT") in page  # "novembro de 2026"
    assert rows[0].month.strftime("%m/%Y") not in page
    streamed = client.get("/qa/reports.csv")
    csv = b"".join(streamed.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert "93,3" in csv and ";3;" not in csv
    client.force_login(make_user("coord2", "Coordenadores de QA"))
    rows = client.get("/qa/reports/").context["by_extension"]
    assert sorted(r.count for r in rows) == [1, 1]
    criteria = {
        (c.criterion, c.count, c.average)
        for c in client.get("/qa/reports/").context["by_criterion"]
    }
    assert ("Saudou", 1, Decimal("100.0")) in criteria  # N/A left out
    assert ("Cordialidade", 2, Decimal("40.0")) in criteria
    assert client.get("/qa/reports/?date_end=9999-12-31").status_code == 400


def test_the_recordings_list_shows_the_evaluation_column(
    client: Client, sim: SimulatorProcess, reviewer: Any, published: Any
) -> None:
    recording = _recording(sim, customer=12)
    _evaluate(reviewer, recording, published, "yes", "yes", "6")
    client.force_login(reviewer)
    response = client.get(f"/recordings/?date_ini=&date_end=&id_record={recording.record_id}")
    assert 'data-score="93.33"' in response.content.decode()


def test_the_list_column_averages_submitted_evaluations_only(
    sim: SimulatorProcess, reviewer: Any, published: Any
) -> None:
    recording, other = _recording(sim, customer=12), _recording(sim, customer=12, nth=1)
    second = make_user("qa2", "Revisores de QA")
    third = make_user("qa3", "Revisores de QA")
    _evaluate(reviewer, recording, published, "yes", "yes", "6")
    _evaluate(second, recording, published, "no", "yes", "7")
    _evaluate(third, recording, published, "yes", "yes", "10", submit=False)  # counts nothing
    submitted = Evaluation.objects.filter(
        record_id=recording.record_id, status=Evaluation.Status.SUBMITTED
    ).values_list("score", flat=True)
    assert len(submitted) == 2
    mean = (sum(submitted, Decimal(0)) / 2).quantize(Decimal("0.01"))
    scores = selectors.scores_by_record([recording.record_id, other.record_id, 999_999_999])
    assert scores == {recording.record_id: mean}
    assert selectors.scores_by_record([]) == {}


def test_the_recordings_list_filters_by_evaluation_and_score_from_the_index(
    client: Client, sim: SimulatorProcess, reviewer: Any, published: Any
) -> None:
    from index.models import IndexedRecording

    calls = [_recording(sim, customer=7, nth=n) for n in range(3)]
    now = timezone.now()
    for call in calls:
        IndexedRecording.objects.create(
            record_id=call.record_id,
            customer_id=call.customer_id,
            calldate=call.calldate,
            call_day=call.calldate.date(),
            source=call.source,
            destination=call.destination,
            duration=call.duration,
            size=call.size,
            first_seen=now,
            last_seen=now,
        )
    for call, values in ((calls[0], ("yes", "yes", "10")), (calls[1], ("no", "yes", "0"))):
        _evaluate(reviewer, call, published, *values)
    client.force_login(make_user("sup", "Supervisores"))

    def listed(query: str) -> list[int]:
        response = client.get(f"/recordings/?date_ini=&date_end=&customer_id=7&{query}")
        assert response.status_code == 200
        return [r.record_id for r in response.context["page"].recordings]

    assert listed("evaluation=evaluated") == [calls[0].record_id, calls[1].record_id]
    assert listed("evaluation=not_evaluated") == [calls[2].record_id]
    assert listed("score_min=90") == [calls[0].record_id]
    assert listed("score_min=40&score_max=60") == [calls[1].record_id]  # (3 + 0) / 6 = 50
    page = client.get("/recordings/?evaluation=evaluated&date_ini=&date_end=").content.decode()
    assert "Consulta ao índice local" in page and "Exportar CSV" not in page
    assert client.get("/recordings/?score_min=101").status_code == 400
    assert client.get("/recordings/?score_min=50&score_max=10").status_code == 400
    assert client.get("/recordings/?evaluation=talvez").status_code == 400


def test_reports_of_a_team_hold_only_its_extensions_agents(
    client: Client, sim: SimulatorProcess, reviewer: Any, published: Any
) -> None:
    """Issue 11's team scope: a supervisor limited to extensions reads the averages of
    their own agents only (the evaluation keeps the agent's extension)."""
    first = _recording(sim, customer=12, nth=0)
    agent = services.extension_of(first.source, first.destination)
    second = next(
        r
        for r in (_recording(sim, customer=12, nth=n) for n in range(1, 20))
        if services.extension_of(r.source, r.destination) != agent
    )
    extensions = {}
    for recording in (first, second):
        evaluation = _evaluate(reviewer, recording, published, "yes", "yes", "6")
        evaluation.refresh_from_db()
        extensions[recording.record_id] = evaluation.extension
    team_extension = extensions[first.record_id]
    assert team_extension and team_extension != extensions[second.record_id]
    client.force_login(make_user("team-sup", "Supervisores", extensions=team_extension))
    rows = client.get("/qa/reports/?date_ini=&date_end=").context["by_extension"]
    assert {r.extension for r in rows} == {team_extension}
    assert sum(r.count for r in rows) == 1
