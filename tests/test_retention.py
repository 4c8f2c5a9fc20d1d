"""Retention policies (four eyes, the daily run) and legal holds, against the simulator."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionItem, DeletionRequest
from index import sync
from index.models import IndexedRecording
from index.numbers import normalise
from recordings import vono
from retention import holds as legal_holds
from retention import services as retention
from retention.models import LegalHold, RetentionPolicy
from tests.conftest import make_user
from tests.simulator import SimulatorProcess

FRESH = 5.0  # seconds since sign-in: no step-up needed
CUSTOMER = 12  # the demo's smallest subscriber: a few calls a day
DAYS = 3
Status = DeletionRequest.Status


@pytest.fixture(autouse=True)
def _small_index(settings: Any) -> None:
    settings.INDEX_DAYS = 6
    settings.INDEX_RECENT_DAYS = 1
    settings.INDEX_MAX_RPS = 1000


@pytest.fixture
def people(db: None) -> dict[str, Any]:
    from accounts.roles import ensure_groups

    ensure_groups()  # a transactional test's flush empties the groups
    return {
        "admin": make_user("adao", "Administradores"),
        "admin2": make_user("alice", "Administradores"),
        "supervisor": make_user("sara", "Supervisores"),
    }


@pytest.fixture
def indexed(sim: SimulatorProcess, db: None) -> None:
    assert sync.sync_run().status == "done"


def _policy(people: dict[str, Any], days: int = DAYS, customer: int | None = CUSTOMER) -> Any:
    return retention.policy_request(
        actor=people["admin"], days=days, customer_id=customer, reason="contrato: 3 dias"
    )


def _approve(policy: RetentionPolicy, actor: Any, **options: Any) -> RetentionPolicy:
    options.setdefault("auth_age_seconds", FRESH)
    return retention.policy_approve(policy_id=policy.pk, actor=actor, **options)


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))


def _due_upstream(sim: SimulatorProcess, customer: int, cutoff: dt.datetime) -> set[int]:
    """What the simulator holds for ``customer`` in the indexed window, older than cutoff."""
    days = sync.window()
    query = f"date_ini={days[-1]}&date_end={days[0]}&limit=500"
    rows = sim.list(query, path=f"/{customer}")["data"]
    due = set()
    for row in rows:
        calldate = dt.datetime.fromisoformat(row["calldate"]).replace(tzinfo=sync.SAO_PAULO)
        if calldate < cutoff:
            due.add(row["record_id"])
    return due


@contextlib.contextmanager
def _past_the_triggers() -> Iterator[None]:
    """An attacker who owns the database: on PostgreSQL, with every trigger switched off for
    the session (the suite connects as a superuser); SQLite has no triggers to pass."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET session_replication_role")


needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the triggers are PostgreSQL's"
)


def _deleted(sim: SimulatorProcess) -> list[int]:
    return [i for call in sim.stats()["delete_calls"] for i in call]


# --- four eyes on policies ----------------------------------------------------------------------


def test_requester_cannot_approve_own_policy(people: dict[str, Any], sim: SimulatorProcess) -> None:
    policy = _policy(people)
    with pytest.raises(retention.FourEyes):
        _approve(policy, people["admin"])
    policy.refresh_from_db()
    assert policy.status == RetentionPolicy.Status.PENDING
    assert not retention.can_decide(policy, people["admin"])
    assert retention.can_decide(policy, people["admin2"])
    assert _actions() == ["retention_requested"]


def test_policy_needs_a_reason_and_the_permission(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    with pytest.raises(retention.NotAllowed, match="motivo"):
        retention.policy_request(actor=people["admin"], days=30, customer_id=None, reason=" ")
    with pytest.raises(retention.NotAllowed):
        retention.policy_request(actor=people["supervisor"], days=30, customer_id=None, reason="x")


def test_approval_needs_a_recent_password(people: dict[str, Any], sim: SimulatorProcess) -> None:
    policy = _policy(people)
    with pytest.raises(retention.StepUpRequired):
        _approve(policy, people["admin2"], auth_age_seconds=3600)
    with pytest.raises(retention.StepUpRequired):
        _approve(policy, people["admin2"], auth_age_seconds=3600, password="wrong")
    _approve(policy, people["admin2"], auth_age_seconds=3600, password="pw-for-tests")
    policy.refresh_from_db()
    assert policy.status == RetentionPolicy.Status.ACTIVE
    assert policy.decided_by == people["admin2"]


def test_replayed_approval_post_approves_once(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    policy = _policy(people)
    client.force_login(people["admin2"])
    session = client.session
    session["auth_at"] = timezone.now().timestamp()
    session.save()
    for _ in range(2):
        response = client.post(f"/retention/policies/{policy.pk}/approve")
        assert response.status_code == 302
    page = client.get(response["Location"])
    assert "não aguarda mais decisão" in page.content.decode()
    assert _actions().count("retention_approved") == 1
    assert RetentionPolicy.objects.filter(status="active").count() == 1


def test_replayed_request_post_asks_once(people: dict[str, Any], sim: SimulatorProcess) -> None:
    _policy(people)
    with pytest.raises(retention.WrongState):
        _policy(people)
    assert RetentionPolicy.objects.count() == 1


def test_stale_request_is_not_approved(people: dict[str, Any], sim: SimulatorProcess) -> None:
    first = _policy(people, days=30)
    second = _policy(people, days=60)  # both would replace "no policy"
    _approve(first, people["admin2"])
    with pytest.raises(retention.Stale):
        _approve(second, people["admin2"])
    second.refresh_from_db()
    assert second.status == RetentionPolicy.Status.STALE
    assert "retention_stale" in _actions()
    assert retention.policy_in_force(CUSTOMER) == first


def test_expired_request_is_not_approved(people: dict[str, Any], sim: SimulatorProcess) -> None:
    policy = _policy(people)
    RetentionPolicy.objects.filter(pk=policy.pk).update(expires_at=timezone.now())
    with pytest.raises(retention.Expired):
        _approve(policy, people["admin2"])
    policy.refresh_from_db()
    assert policy.status == RetentionPolicy.Status.EXPIRED


def test_a_new_policy_replaces_the_one_in_force(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    first = _approve(_policy(people, days=400), people["admin2"])
    second = _approve(_policy(people, days=200), people["admin2"])
    first.refresh_from_db()
    assert first.status == RetentionPolicy.Status.SUPERSEDED
    assert second.replaces == first
    assert retention.policy_in_force(CUSTOMER) == second


def test_page_warns_below_ninety_days(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    client.force_login(people["admin"])
    short = client.get(f"/retention/policies/new?days=30&customer_id={CUSTOMER}")
    assert "Decreto 11.034/2022" in short.content.decode()
    long = client.get(f"/retention/policies/new?days=90&customer_id={CUSTOMER}")
    assert "Decreto 11.034/2022" not in long.content.decode()


def test_a_policy_in_force_is_not_asked_to_be_approved_again(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    policy = _approve(_policy(people, days=30), people["admin2"])
    client.force_login(people["admin"])
    for page in (client.get("/retention/"), client.get(f"/retention/policies/{policy.pk}/")):
        text = page.content.decode()
        assert "Decreto 11.034/2022" in text and "antes de aprovar" not in text
    home = client.get("/retention/").content.decode()
    assert "Nenhuma política decidida" not in home, "one was decided: it is in force"


def test_a_closed_request_carries_no_sac_warning(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    pending = _policy(people, days=30)
    client.force_login(people["admin2"])
    assert "antes de aprovar" in client.get(f"/retention/policies/{pending.pk}/").content.decode()
    retention.policy_reject(policy_id=pending.pk, actor=people["admin2"], reason="não é SAC")
    text = client.get(f"/retention/policies/{pending.pk}/").content.decode()
    assert "Decreto 11.034/2022" not in text
    # In the history, its scope reads as a subscriber, not a bare number.
    home = client.get("/retention/").content.decode()
    assert f'data-label="Escopo">assinante {CUSTOMER}</td>' in home


def test_bad_days_is_a_400_naming_the_field(people: dict[str, Any], client: Client) -> None:
    client.force_login(people["admin"])
    response = client.get("/retention/policies/new?days=abc")
    assert response.status_code == 400
    assert "days" in response.content.decode()


# --- the run --------------------------------------------------------------------------------


def test_run_deletes_exactly_the_due_ids(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None, settings: Any
) -> None:
    settings.DELETION_CHUNK_SIZE = 4
    policy = _approve(_policy(people), people["admin2"])
    now = timezone.now()
    expected = _due_upstream(sim, CUSTOMER, now - dt.timedelta(days=DAYS))
    assert expected, "the demo data has old calls for this subscriber"
    preview = retention.run_preview(customer_id=CUSTOMER, days=DAYS)
    assert preview.count == len(expected)
    assert sim.stats()["delete_calls"] == [], "approving deletes nothing by itself"

    deletion = retention.policy_run(policy_id=policy.pk, now=now)
    assert deletion is not None and deletion.kind == DeletionRequest.Kind.RETENTION
    assert deletion.requested_by == people["admin"] and deletion.decided_by == people["admin2"]
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE

    deleted = _deleted(sim)
    assert sorted(deleted) == sorted(expected)  # each id once, nothing else
    calls = sim.stats()["delete_calls"]
    assert len(calls) == -(-len(expected) // 4) and all(len(c) <= 4 for c in calls)
    assert set(DeletionItem.objects.values_list("outcome", flat=True)) == {"deleted"}
    assert not any(sim.list(f"id_record={i}")["total_records"] for i in expected)
    # The index forgets them: the next preview is empty and a second run does nothing.
    assert retention.run_preview(customer_id=CUSTOMER, days=DAYS).count == 0
    assert retention.policy_run(policy_id=policy.pk) is None
    actions = _actions()
    run, started, finished = (
        actions.index(a) for a in ("retention_run", "deletion_started", "deletion_finished")
    )
    assert actions.index("retention_approved") < run < started < finished


def test_all_subscribers_policy_leaves_a_subscriber_with_its_own(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    _approve(_policy(people, days=400), people["admin2"])  # subscriber 12 keeps everything
    every = _approve(_policy(people, days=DAYS, customer=None), people["admin2"])
    now = timezone.now()
    deletion = retention.policy_run(policy_id=every.pk, now=now)
    assert deletion is not None
    ids = set(deletion.items.values_list("record_id", flat=True))
    customers = set(
        IndexedRecording.objects.filter(record_id__in=ids).values_list("customer_id", flat=True)
    )
    assert customers and CUSTOMER not in customers
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.DONE
    assert sorted(_deleted(sim)) == sorted(ids)


@pytest.mark.django_db(transaction=True)  # tasks are queued on commit
def test_the_worker_runs_the_daily_task_and_queues_the_next(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    from django_tasks_db.models import DBTaskResult

    _approve(_policy(people), people["admin2"])
    due = _due_upstream(sim, CUSTOMER, timezone.now() - dt.timedelta(days=DAYS))
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    assert sorted(_deleted(sim)) == sorted(due)
    assert DeletionRequest.objects.get(kind="retention").status == Status.DONE
    waiting = DBTaskResult.objects.filter(
        task_path="retention.tasks.retention_daily", status="READY"
    )
    assert waiting.count() == 1
    next_run = waiting.get().run_after
    assert next_run is not None and next_run > timezone.now() + dt.timedelta(hours=23)


# --- the worker believes only the audit log -------------------------------------------------------


def test_a_forged_run_deletes_nothing_the_policy_does_not_cover(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    """Someone who can write to the database inserts a retention run of a real policy with
    recent recordings: the worker checks each against the approved terms on Vono."""
    policy = _approve(_policy(people), people["admin2"])
    recent = list(
        IndexedRecording.objects.filter(
            customer_id=CUSTOMER, calldate__gte=timezone.now() - dt.timedelta(days=1)
        ).values_list("record_id", flat=True)[:3]
    )
    other = list(
        IndexedRecording.objects.exclude(customer_id=CUSTOMER).values_list("record_id", flat=True)[
            :2
        ]
    )
    assert recent and other
    now = timezone.now()
    forged = DeletionRequest.objects.create(
        kind="retention",
        status=Status.APPROVED,
        requested_by=people["admin"],
        decided_by=people["admin2"],
        requested_at=now,
        decided_at=now,
        expires_at=now,
        reason="forged",
        customer_id=CUSTOMER,
        filters={"policy": policy.pk, "days": DAYS},
        snapshot={"count": 5},
    )
    DeletionItem.objects.bulk_create(
        [DeletionItem(request=forged, record_id=i) for i in recent + other]
    )
    deletions.deletion_request_execute(deletion_id=forged.pk)
    assert sim.stats()["delete_calls"] == []
    outcomes = dict(DeletionItem.objects.values_list("record_id", "outcome"))
    assert {outcomes[i] for i in recent} == {"failed"}
    assert {outcomes[i] for i in other} == {"absent"}  # not this subscriber's: no DELETE
    assert all(sim.list(f"id_record={i}")["total_records"] for i in recent + other)
    details = set(
        DeletionItem.objects.filter(record_id__in=recent).values_list("detail", flat=True)
    )
    assert details == {"not covered by the approved retention policy"}


def test_a_policy_activated_in_the_database_alone_runs_nothing(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    policy = _policy(people)
    # No approval event: the row says active, the audit log says nothing.
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        status="active", decided_by=people["admin2"], decided_at=timezone.now()
    )
    deletion = retention.policy_run(policy_id=policy.pk)
    assert deletion is not None
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) is None
    assert sim.stats()["delete_calls"] == []
    assert AuditEvent.objects.filter(action="access_denied", outcome="refused").exists()


def test_changing_the_days_in_the_database_does_not_widen_the_run(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    policy = _approve(_policy(people, days=5), people["admin2"])
    with _past_the_triggers():
        RetentionPolicy.objects.filter(pk=policy.pk).update(days=1)
    now = timezone.now()
    allowed = _due_upstream(sim, CUSTOMER, now - dt.timedelta(days=5))
    deletion = retention.policy_run(policy_id=policy.pk, now=now)
    assert deletion is not None
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert set(_deleted(sim)) == allowed
    refused = DeletionItem.objects.filter(detail="not covered by the approved retention policy")
    assert refused.exists()


@needs_postgres
def test_the_database_refuses_a_self_approved_or_rewritten_policy(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    policy = _policy(people)
    attacks = [
        {"status": "active", "decided_by": people["admin"]},
        {"status": "active", "decided_by": None},
        {"days": 1},
        {"customer_id": 3},
    ]
    for change in attacks:
        with pytest.raises(DatabaseError), transaction.atomic():
            RetentionPolicy.objects.filter(pk=policy.pk).update(**change)
    with pytest.raises(DatabaseError), transaction.atomic():
        RetentionPolicy.objects.filter(pk=policy.pk).delete()


@needs_postgres
def test_the_database_refuses_a_one_person_lift_or_a_deleted_hold(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    hold = _hold(people, number="4133334444")
    attacks = [
        {"status": "lifted", "lifted_by": people["admin"]},
        {"number_digits": "4199999999"},
        {"ends_on": dt.date(2000, 1, 1)},
    ]
    for change in attacks:
        with pytest.raises(DatabaseError), transaction.atomic():
            LegalHold.objects.filter(pk=hold.pk).update(**change)
    retention.hold_lift_request(hold_id=hold.pk, actor=people["admin"], reason="fim")
    with pytest.raises(DatabaseError), transaction.atomic():
        LegalHold.objects.filter(pk=hold.pk).update(status="lifted", lifted_by=people["admin"])
    with pytest.raises(DatabaseError), transaction.atomic():
        LegalHold.objects.filter(pk=hold.pk).delete()


# --- legal holds ---------------------------------------------------------------------------------


def _hold(people: dict[str, Any], who: str = "admin", **terms: Any) -> LegalHold:
    return retention.hold_place(
        actor=people[who], terms=retention.HoldTerms(**terms), reason="processo 123/2026"
    )


def test_retention_run_skips_held_recordings(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    policy = _approve(_policy(people), people["admin2"])
    now = timezone.now()
    due = sorted(_due_upstream(sim, CUSTOMER, now - dt.timedelta(days=DAYS)))
    assert len(due) >= 3
    by_id = _hold(people, record_ids=(due[0],))
    row = sim.list(f"id_record={due[1]}")["data"][0]
    typed = f"+55 {row['source']}" if len(normalise(row["source"])) in (10, 11) else row["source"]
    by_number = _hold(people, number=typed)
    covered = {
        r.record_id
        for r in IndexedRecording.objects.filter(legal_holds.index_condition(by_number))
        if r.record_id in due
    }
    held = {due[0]} | covered
    preview = retention.run_preview(customer_id=CUSTOMER, days=DAYS)
    assert preview.held == len(held)
    assert preview.count == len(due) - len(held)
    deletion = retention.policy_run(policy_id=policy.pk, now=now)
    assert deletion is not None
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert sorted(_deleted(sim)) == sorted(set(due) - held)
    assert all(sim.list(f"id_record={i}")["total_records"] for i in held)
    assert by_id.pk and by_number.pk


def test_hold_blocks_a_deletion_request_naming_ids_and_hold(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    ids = [r["record_id"] for r in sim.list("limit=3")["data"]]
    hold = _hold(people, record_ids=(ids[1],))
    with pytest.raises(deletions.Held) as refused:
        deletions.deletion_request_create(actor=people["supervisor"], reason="LGPD", ids=ids)
    assert f"{ids[1]} (#{hold.pk})" in str(refused.value)
    assert DeletionRequest.objects.count() == 0
    client.force_login(people["supervisor"])
    query = "&".join(f"ids={i}" for i in ids)
    response = client.post(f"/deletions/new?{query}", {"reason": "LGPD", "ids": ids})
    assert response.status_code == 200
    assert f"{ids[1]} (#{hold.pk})" in response.content.decode()
    assert DeletionRequest.objects.count() == 0
    # The same request without the held one is fine.
    deletions.deletion_request_create(
        actor=people["supervisor"], reason="LGPD", ids=[ids[0], ids[2]]
    )


def test_hold_by_period_blocks_a_filter_request(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    day = IndexedRecording.objects.filter(customer_id=CUSTOMER).earliest("calldate").call_day
    _hold(people, customer_id=CUSTOMER, period_start=day, period_end=day)
    filters = vono.RecordingFilter(date_ini=day, date_end=day, customer_id=CUSTOMER)
    with pytest.raises(deletions.Held):
        deletions.deletion_request_create(actor=people["admin"], reason="x", filters=filters)


def test_hold_placed_after_approval_blocks_execution(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    ids = sorted(r["record_id"] for r in sim.list("limit=4")["data"])
    deletion = deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=ids)
    deletions.deletion_request_approve(
        deletion_id=deletion.pk,
        actor=people["admin"],
        typed_count="4",
        auth_age_seconds=FRESH,
    )
    hold = _hold(people, record_ids=(ids[0], ids[3]))
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.PARTIAL
    assert sorted(_deleted(sim)) == [ids[1], ids[2]]
    outcomes = dict(DeletionItem.objects.values_list("record_id", "outcome"))
    assert outcomes == {ids[0]: "held", ids[1]: "deleted", ids[2]: "deleted", ids[3]: "held"}
    assert DeletionItem.objects.get(record_id=ids[0]).detail == f"legal hold #{hold.pk}"
    assert AuditEvent.objects.filter(action="hold_blocked").exists()
    # A retry does not touch held recordings either.
    deletions.deletion_request_retry(deletion_id=deletion.pk, actor=people["admin"])
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert sorted(_deleted(sim)) == [ids[1], ids[2]]


def test_lifting_a_hold_needs_a_second_person(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    hold = _hold(people, record_ids=(record_id,))
    assert _actions() == ["hold_placed"]
    retention.hold_lift_request(hold_id=hold.pk, actor=people["admin"], reason="acordo")
    with pytest.raises(retention.FourEyes):
        retention.hold_lift_approve(hold_id=hold.pk, actor=people["admin"], auth_age_seconds=FRESH)
    hold.refresh_from_db()
    assert hold.status == LegalHold.Status.LIFT_PENDING
    with pytest.raises(deletions.Held):  # still in force while the lift waits
        deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=[record_id])
    retention.hold_lift_approve(hold_id=hold.pk, actor=people["admin2"], auth_age_seconds=FRESH)
    hold.refresh_from_db()
    assert hold.status == LegalHold.Status.LIFTED and hold.lifted_by == people["admin2"]
    deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=[record_id])
    assert _actions()[:3] == ["hold_placed", "hold_lift_requested", "hold_lifted"]


def test_a_lift_request_left_waiting_expires_and_the_hold_stays_in_force(
    people: dict[str, Any], sim: SimulatorProcess, client: Client, settings: Any
) -> None:
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    hold = _hold(people, record_ids=(record_id,))
    retention.hold_lift_request(hold_id=hold.pk, actor=people["admin"], reason="acordo")
    # Asked a day and a minute ago: as long as a deletion request may wait, and a minute.
    asked = timezone.now() - dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS, minutes=1)
    LegalHold.objects.filter(pk=hold.pk).update(lift_requested_at=asked)
    hold.refresh_from_db()
    assert not retention.can_lift(hold, people["admin2"])
    with pytest.raises(retention.Expired):
        retention.hold_lift_approve(hold_id=hold.pk, actor=people["admin2"], auth_age_seconds=FRESH)
    hold.refresh_from_db()
    assert hold.status == LegalHold.Status.ACTIVE and hold.lift_requested_by is None
    expiry = AuditEvent.objects.order_by("seq").last()
    assert expiry is not None
    assert (expiry.action, expiry.outcome, expiry.actor) == ("hold_lift_refused", "expired", None)
    with pytest.raises(deletions.Held):
        deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=[record_id])
    # Asked again, it is a fresh request a second person may agree to.
    retention.hold_lift_request(hold_id=hold.pk, actor=people["admin"], reason="acordo, de novo")
    retention.hold_lift_approve(hold_id=hold.pk, actor=people["admin2"], auth_age_seconds=FRESH)
    hold.refresh_from_db()
    assert hold.status == LegalHold.Status.LIFTED


def test_a_lift_request_made_to_look_fresh_in_the_database_is_refused(
    people: dict[str, Any], sim: SimulatorProcess, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    hold = _hold(people, record_ids=(record_id,))
    # Asked two days ago. The clock is moved because a test cannot wait two days; the event
    # is keyed with its (past) time as any event is.
    then = timezone.now() - dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS * 2)
    with monkeypatch.context() as clock:
        clock.setattr(timezone, "now", lambda: then)
        retention.hold_lift_request(hold_id=hold.pk, actor=people["admin"], reason="acordo")
    # Someone with the database's password makes the row say it was asked just now.
    LegalHold.objects.filter(pk=hold.pk).update(lift_requested_at=timezone.now())
    hold.refresh_from_db()
    assert not retention.can_lift(hold, people["admin2"])
    with pytest.raises(retention.NotAllowed):
        retention.hold_lift_approve(hold_id=hold.pk, actor=people["admin2"], auth_age_seconds=FRESH)
    assert LegalHold.objects.get(pk=hold.pk).status == LegalHold.Status.LIFT_PENDING


def test_overdue_lift_requests_expire_when_anyone_looks_or_the_daily_run_comes(
    people: dict[str, Any], sim: SimulatorProcess, client: Client, settings: Any
) -> None:
    ids = [r["record_id"] for r in sim.list("limit=2")["data"]]
    holds = [_hold(people, record_ids=(i,)) for i in ids]
    asked = timezone.now() - dt.timedelta(hours=settings.DELETION_REQUEST_TTL_HOURS, minutes=1)
    for hold in holds:
        retention.hold_lift_request(hold_id=hold.pk, actor=people["admin"], reason="acordo")
    LegalHold.objects.filter(pk=holds[0].pk).update(lift_requested_at=asked)
    client.force_login(people["admin2"])
    assert client.get("/retention/").status_code == 200
    statuses = dict(LegalHold.objects.values_list("pk", "status"))
    assert statuses == {holds[0].pk: "active", holds[1].pk: "lift_pending"}
    LegalHold.objects.filter(pk=holds[1].pk).update(lift_requested_at=asked)
    retention.run_all()
    assert LegalHold.objects.get(pk=holds[1].pk).status == "active"
    assert AuditEvent.objects.filter(action="hold_lift_refused", outcome="expired").count() == 2


def test_a_lift_written_only_in_the_database_does_not_free_the_recordings(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    ids = sorted(r["record_id"] for r in sim.list("limit=2")["data"])
    deletion = deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=ids)
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=people["admin"], typed_count="2", auth_age_seconds=FRESH
    )
    hold = _hold(people, record_ids=(ids[0],))
    with _past_the_triggers():
        LegalHold.objects.filter(pk=hold.pk).update(
            status="lifted", lift_requested_by=people["admin"], lifted_by=people["admin2"]
        )
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert _deleted(sim) == [ids[1]]


def test_a_hold_narrowed_or_deleted_in_the_database_still_holds(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    ids = sorted(r["record_id"] for r in sim.list("limit=3")["data"])
    deletion = deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=ids)
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=people["admin"], typed_count="3", auth_age_seconds=FRESH
    )
    narrowed = _hold(people, record_ids=(ids[0],))
    deleted = _hold(people, record_ids=(ids[1],))
    with _past_the_triggers():
        LegalHold.objects.filter(pk=narrowed.pk).update(record_ids=[1])
        LegalHold.objects.filter(pk=deleted.pk).delete()
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert _deleted(sim) == [ids[2]]
    outcomes = dict(DeletionItem.objects.values_list("record_id", "outcome"))
    assert outcomes == {ids[0]: "held", ids[1]: "held", ids[2]: "deleted"}


def test_hold_needs_a_criterion_and_a_reason(people: dict[str, Any], sim: SimulatorProcess) -> None:
    with pytest.raises(retention.NotAllowed):
        _hold(people)
    with pytest.raises(retention.NotAllowed, match="motivo"):
        retention.hold_place(
            actor=people["admin"], terms=retention.HoldTerms(number="4133334444"), reason=""
        )
    with pytest.raises(retention.NotAllowed):
        _hold(people, who="supervisor", number="4133334444")


def test_a_hold_past_its_end_date_no_longer_blocks(
    people: dict[str, Any], sim: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    placed_at = timezone.now()
    retention.hold_place(
        actor=people["admin"],
        terms=retention.HoldTerms(record_ids=(record_id,)),
        reason="prazo",
        ends_on=legal_holds.today_in_sao_paulo(),
    )
    with pytest.raises(deletions.Held):  # in force on its last day
        deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=[record_id])
    # Two days later (the clock is patched: a test cannot wait for them).
    monkeypatch.setattr(timezone, "now", lambda: placed_at + dt.timedelta(days=2))
    deletion = deletions.deletion_request_create(
        actor=people["supervisor"], reason="x", ids=[record_id]
    )
    assert deletion.status == DeletionRequest.Status.PENDING
    assert deletion.filters["ids"] == [record_id]


def test_the_index_and_vono_agree_on_what_a_hold_covers(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    rows = list(IndexedRecording.objects.order_by("record_id")[:200])
    found = vono.get_client().get_recordings([r.record_id for r in rows])
    day = sync.window()[1]
    sample = found[rows[0].record_id]
    holds = [
        _hold(people, number=f"0{normalise(sample.destination)}"),
        _hold(people, customer_id=7, period_start=day),
        _hold(people, period_end=day, record_ids=tuple(r.record_id for r in rows[:50])),
        _hold(people, number=normalise(sample.source), customer_id=sample.customer_id),
    ]
    for hold in holds:
        by_index = set(
            IndexedRecording.objects.filter(
                legal_holds.index_condition(hold), record_id__in=list(found)
            ).values_list("record_id", flat=True)
        )
        by_vono = {i for i, r in found.items() if legal_holds.covers(hold, r)}
        assert by_index == by_vono, hold
        assert by_vono, "each hold covers something"


# --- pages ---------------------------------------------------------------------------------------


def test_pages_show_policies_holds_and_the_preview(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None, client: Client
) -> None:
    policy = _approve(_policy(people), people["admin2"])
    hold = _hold(people, number="(41) 3333-4444")
    client.force_login(people["admin"])
    home = client.get("/retention/").content.decode()
    assert f'data-policy="{policy.pk}"' in home and f'data-hold-row="{hold.pk}"' in home
    assert "data-preview-count" in home
    detail = client.get(f"/retention/holds/{hold.pk}/").content.decode()
    assert "Pedir liberação" in detail
    assert client.get(f"/retention/policies/{policy.pk}/").status_code == 200


def test_scoped_manager_sees_only_their_subscriber(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    other = _policy(people, customer=7)
    scoped = make_user("scoped-admin", "Administradores", customer_id=CUSTOMER)
    client.force_login(scoped)
    assert client.get(f"/retention/policies/{other.pk}/").status_code == 404
    assert client.get("/retention/policies/new?days=30&customer_id=7").status_code == 404
    with pytest.raises(retention.NotAllowed):
        retention.policy_request(actor=scoped, days=30, customer_id=7, reason="x")
