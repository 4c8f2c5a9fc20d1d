"""Red team on retention policies and legal holds.

The promise: a recording leaves Vono only when two people agreed (a deletion, or a retention
policy), never while a legal hold covers it, and a hold is lifted only by a second person;
every step lands in the keyed audit log. The attackers: (a) one insider with one admin
account; (b) an insider with a second, low-privilege identity; (c) an insider with a SQL
session as the app's database role (not the tables' owner); (d) a hostile client: replays,
races, stale and expired requests, scope escapes, dates, number formats, huge inputs.
Each attack that broke the promise is fixed in the service layer; the test stays.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, close_old_connections, connection, transaction
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
from retention import proof
from retention import services as retention
from retention.models import LegalHold, RetentionPolicy
from tests.conftest import make_user
from tests.simulator import SimulatorProcess
from tests.test_audit_integrity import APP_ROLE, _app_role
from tests.test_redteam_deletions import _as_app_role
from tests.test_retention import (
    CUSTOMER,
    DAYS,
    FRESH,
    _actions,
    _approve,
    _deleted,
    _hold,
    _policy,
)

Status = DeletionRequest.Status
needs_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="roles, row locks and triggers are PostgreSQL's"
)


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


def _signed_in(client: Client, user: Any) -> Client:
    client.force_login(user)
    session = client.session
    session["auth_at"] = timezone.now().timestamp()  # just signed in: no step-up
    session.save()
    return client


def _lift_requested(people: dict[str, Any], who: str = "admin", **terms: Any) -> LegalHold:
    hold = _hold(people, **terms)
    return retention.hold_lift_request(hold_id=hold.pk, actor=people[who], reason="acordo")


# --- (a) one insider, one admin account -----------------------------------------------------------


def test_one_admin_cannot_lift_a_hold_by_refusing_and_asking_again(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    hold = _lift_requested(people, record_ids=(record_id,))
    for _ in range(2):
        with pytest.raises(retention.FourEyes):
            retention.hold_lift_approve(
                hold_id=hold.pk, actor=people["admin"], auth_age_seconds=FRESH
            )
        retention.hold_lift_refuse(hold_id=hold.pk, actor=people["admin"])
        retention.hold_lift_request(hold_id=hold.pk, actor=people["admin"], reason="de novo")
    hold.refresh_from_db()
    assert hold.status == LegalHold.Status.LIFT_PENDING
    assert "hold_lifted" not in _actions()
    assert legal_holds.held_among(vono.get_client().get_recordings([record_id]).values())


def test_one_admin_cannot_approve_own_policy_through_the_page(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    policy = _policy(people)
    _signed_in(client, people["admin"])
    for _ in range(2):
        response = client.post(
            f"/retention/policies/{policy.pk}/approve", {"password": "pw-for-tests"}
        )
        assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.status == RetentionPolicy.Status.PENDING
    assert "retention_approved" not in _actions()
    assert proof.approved_terms() == {}


def test_a_superseded_policy_cannot_be_brought_back(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    old = _approve(_policy(people, days=5), people["admin2"])
    _approve(_policy(people, days=400), people["admin2"])
    old.refresh_from_db()
    assert old.status == RetentionPolicy.Status.SUPERSEDED
    with pytest.raises(retention.WrongState):
        _approve(old, people["admin2"])
    assert proof.approved_terms()[CUSTOMER].days == 400  # the newest approval wins


# --- (b) an insider with a second, low-privilege identity -----------------------------------------


@pytest.mark.parametrize("role", ["Supervisores", "Revisores de QA", "Gestores de acesso"])
def test_a_low_privilege_second_identity_can_do_nothing_in_retention(
    people: dict[str, Any], sim: SimulatorProcess, client: Client, role: str
) -> None:
    low = make_user("alter-ego", role)
    policy = _policy(people)
    hold = _lift_requested(people, number="4133334444")
    with pytest.raises(retention.NotAllowed):
        _approve(policy, low)
    with pytest.raises(retention.NotAllowed):
        retention.policy_reject(policy_id=policy.pk, actor=low, reason="x")
    with pytest.raises(retention.NotAllowed):
        retention.hold_lift_approve(hold_id=hold.pk, actor=low, auth_age_seconds=FRESH)
    with pytest.raises(retention.NotAllowed):
        retention.hold_lift_refuse(hold_id=hold.pk, actor=low)
    with pytest.raises(retention.NotAllowed):
        _hold({"low": low}, who="low", number="4199998888")
    _signed_in(client, low)
    for url in (
        f"/retention/policies/{policy.pk}/approve",
        f"/retention/holds/{hold.pk}/lift/approve",
        f"/retention/holds/{hold.pk}/lift/refuse",
    ):
        assert client.post(url, {"password": "pw-for-tests"}).status_code == 403
    policy.refresh_from_db()
    hold.refresh_from_db()
    assert (policy.status, hold.status) == ("pending", "lift_pending")


def test_an_admin_and_their_supervisor_identity_still_cannot_delete_a_held_recording(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    """Two identities of one person pass four eyes on a deletion (nothing can tell them
    apart); the hold still stops it, at the request and again at execution."""
    ids = sorted(r["record_id"] for r in sim.list("limit=3")["data"])
    _hold(people, record_ids=(ids[0],))
    with pytest.raises(deletions.Held):
        deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=ids)
    deletion = deletions.deletion_request_create(
        actor=people["supervisor"], reason="x", ids=ids[1:]
    )
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=people["admin"], typed_count="2", auth_age_seconds=FRESH
    )
    _hold(people, record_ids=(ids[2],))  # placed after approval, before the worker
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.PARTIAL
    assert _deleted(sim) == [ids[1]]


# --- (c) a SQL session as the app's database role -------------------------------------------------


def _insert_policy(requested_by: Any, *, days: int = 1, customer: int | None = CUSTOMER) -> Any:
    now = timezone.now()
    _as_app_role(
        [
            (
                "INSERT INTO retention_retentionpolicy (customer_id, days, status, reason,"
                " replaces_id, requested_by_id, requested_at, expires_at, decided_by_id,"
                " decided_at, decision_note, last_run_at)"
                " VALUES (%s, %s, 'pending', 'limpeza', NULL, %s, %s, %s, NULL, NULL, '', NULL)",
                [customer, days, requested_by.pk, now, now + dt.timedelta(hours=1)],
            )
        ]
    )
    return RetentionPolicy.objects.get(reason="limpeza")


def test_a_policy_inserted_in_the_database_in_a_colleagues_name_cannot_be_self_approved(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    """Before: the insider inserted a pending policy (the triggers allow a pending INSERT)
    naming a colleague as its requester, then approved it in the portal. Four eyes saw two
    people, the approval event was authentic, and the worker deleted by it. Now the approval
    needs the colleague's own, authentic request event."""
    insider, colleague = people["admin2"], people["admin"]
    forged = _insert_policy(colleague)
    assert not retention.can_decide(forged, insider)
    with pytest.raises(retention.NotAllowed):
        _approve(forged, insider)
    forged.refresh_from_db()
    assert forged.status == RetentionPolicy.Status.PENDING
    assert proof.approved_terms() == {}
    assert retention.run_all() == []
    assert sim.stats()["delete_calls"] == []


def test_a_policy_whose_days_changed_after_the_request_cannot_be_approved(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    """On PostgreSQL the trigger refuses the change; on SQLite (no triggers) the approval
    still compares the row with the requester's authentic event."""
    policy = _policy(people, days=400)
    try:
        _as_app_role([("UPDATE retention_retentionpolicy SET days = 1 WHERE id = %s", [policy.pk])])
    except DatabaseError:
        assert connection.vendor == "postgresql"
        return
    with pytest.raises(retention.NotAllowed):
        _approve(policy, people["admin2"])
    assert proof.approved_terms() == {}


def test_a_lift_request_moved_to_a_colleagues_name_cannot_be_self_approved(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    """Before: the insider asked to lift a hold, rewrote ``lift_requested_by`` to a
    colleague (the trigger guards only what a hold covers and its status moves), and
    approved the lift: an authentic ``hold_lifted`` event, which the worker believes."""
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    insider, colleague = people["admin"], people["admin2"]
    hold = _lift_requested(people, who="admin", record_ids=(record_id,))
    _as_app_role(
        [
            (
                "UPDATE retention_legalhold SET lift_requested_by_id = %s WHERE id = %s",
                [colleague.pk, hold.pk],
            )
        ]
    )
    hold.refresh_from_db()
    assert not retention.can_lift(hold, insider)
    with pytest.raises(retention.NotAllowed):
        retention.hold_lift_approve(hold_id=hold.pk, actor=insider, auth_age_seconds=FRESH)
    assert "hold_lifted" not in _actions()
    found = vono.get_client().get_recordings([record_id]).values()
    assert legal_holds.held_among(found, holds=legal_holds.holds_in_force(strict=True))


def test_a_lift_request_written_in_the_database_cannot_be_self_approved(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    """The same with no request at all, and with a colleague's old request that was refused:
    only the newest authentic request, by the person the row names, counts."""
    insider, colleague = people["admin"], people["admin2"]
    fresh = _hold(people, number="4133334444")
    refused = _lift_requested(people, who="admin2", number="4133335555")
    retention.hold_lift_refuse(hold_id=refused.pk, actor=insider)
    now = timezone.now()
    for hold in (fresh, refused):
        _as_app_role(
            [
                (
                    "UPDATE retention_legalhold SET status = 'lift_pending',"
                    " lift_requested_by_id = %s, lift_requested_at = %s, lift_reason = 'x'"
                    " WHERE id = %s",
                    [colleague.pk, now, hold.pk],
                )
            ]
        )
        with pytest.raises(retention.NotAllowed):
            retention.hold_lift_approve(hold_id=hold.pk, actor=insider, auth_age_seconds=FRESH)
    assert "hold_lifted" not in _actions()


@needs_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE retention_legalhold SET number_digits = '1'",
        "UPDATE retention_legalhold SET ends_on = '2000-01-01'",
        "UPDATE retention_legalhold SET record_ids = '[]'",
        "DELETE FROM retention_legalhold",
        "UPDATE retention_retentionpolicy SET days = 1",
        "UPDATE retention_retentionpolicy SET customer_id = NULL",
        "UPDATE retention_retentionpolicy SET requested_by_id = decided_by_id",
        "DELETE FROM retention_retentionpolicy",
        "ALTER TABLE retention_legalhold DISABLE TRIGGER retention_hold_guard",
        "SET LOCAL session_replication_role = replica",
    ],
)
def test_the_app_role_cannot_rewrite_holds_or_policies_or_switch_the_guards_off(
    people: dict[str, Any], sim: SimulatorProcess, sql: str
) -> None:
    _hold(people, record_ids=(1, 2))
    _approve(_policy(people), people["admin2"])
    _app_role()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        cursor.execute(sql)
    assert LegalHold.objects.get().record_ids == [1, 2]
    assert RetentionPolicy.objects.get().days == DAYS


def test_a_hold_lifted_by_sql_in_two_steps_still_holds_at_the_worker(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    """The triggers allow active -> lift_pending -> lifted naming two people: the request
    check (the database's view) lets a deletion be asked, the worker (the audit log's view)
    keeps the recording."""
    ids = sorted(r["record_id"] for r in sim.list("limit=2")["data"])
    hold = _hold(people, record_ids=(ids[0],))
    a, b = people["admin"], people["admin2"]
    _as_app_role(
        [
            (
                "UPDATE retention_legalhold SET status = 'lift_pending',"
                " lift_requested_by_id = %s WHERE id = %s",
                [a.pk, hold.pk],
            ),
            (
                "UPDATE retention_legalhold SET status = 'lifted', lifted_by_id = %s WHERE id = %s",
                [b.pk, hold.pk],
            ),
        ]
    )
    deletion = deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=ids)
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=a, typed_count="2", auth_age_seconds=FRESH
    )
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert _deleted(sim) == [ids[1]]
    assert DeletionItem.objects.get(record_id=ids[0]).outcome == "held"


def test_a_forged_audit_event_lifts_nothing_and_approves_nothing(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    """Without AUDIT_HMAC_KEY an inserted ``hold_lifted`` or ``retention_approved`` event is
    not authentic: the worker ignores both."""
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    hold = _hold(people, record_ids=(record_id,))
    policy = _policy(people, days=1)
    head = AuditEvent.objects.order_by("-seq").first()
    assert head is not None
    now = timezone.now()
    forged = [
        ("hold_lifted", None, f'{{"hold": {hold.pk}, "requested_by": {people["admin"].pk}}}'),
        (
            "retention_approved",
            CUSTOMER,
            f'{{"policy": {policy.pk}, "days": 1, "scope": {CUSTOMER},'
            f' "requested_by": {people["admin"].pk}, "replaces": null}}',
        ),
    ]
    for n, (action, customer, details) in enumerate(forged, start=1):
        _as_app_role(
            [
                (
                    "INSERT INTO recordings_auditevent (seq, created_at, actor_id,"
                    " actor_username, action, record_ids, customer_id, details, ip,"
                    " user_agent, request_id, outcome, prev_hash, hash, key_id)"
                    " VALUES (%s, %s, %s, 'alice', %s, '[]', %s, %s, NULL, '', '', 'ok',"
                    " %s, %s, %s)",
                    [
                        head.seq + n,
                        now,
                        people["admin2"].pk,
                        action,
                        customer,
                        details,
                        head.hash,
                        str(n) * 64,
                        head.key_id,
                    ],
                )
            ]
        )
    assert proof.approved_terms() == {}
    strict = legal_holds.holds_in_force(strict=True)
    assert [h.pk for h in strict] == [hold.pk]


# --- (d) a hostile client: replays and races ------------------------------------------------------


def test_replayed_lift_posts_lift_once(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    hold = _lift_requested(people, number="4133334444")
    _signed_in(client, people["admin2"])
    for _ in range(3):
        response = client.post(f"/retention/holds/{hold.pk}/lift/approve")
        assert response.status_code == 302
    assert _actions().count("hold_lifted") == 1
    _signed_in(client, people["admin"])
    for _ in range(2):  # a replayed lift request after the lift does nothing either
        assert client.post(f"/retention/holds/{hold.pk}/lift", {"reason": "x"}).status_code == 302
    assert _actions().count("hold_lift_requested") == 1


def _together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread and database connection, released at once."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = calls[n]()
        except Exception as exc:  # noqa: BLE001  (the test inspects what each one met)
            results[n] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_one_policy_approve_it_once(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    policy = _policy(people)
    third = make_user("bruno", "Administradores")
    results = _together(lambda: _approve(policy, people["admin2"]), lambda: _approve(policy, third))
    assert sorted(type(r).__name__ for r in results) == ["RetentionPolicy", "WrongState"]
    assert _actions().count("retention_approved") == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_of_two_policies_for_one_scope_leave_one_and_no_error(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    """Before: both requests replaced "no policy"; each approval found none in force, and
    the second hit the one-active-per-scope index: an IntegrityError, a 500 on the page."""
    first, second = _policy(people, days=30), _policy(people, days=60)
    third = make_user("bruno", "Administradores")
    results = _together(lambda: _approve(first, people["admin2"]), lambda: _approve(second, third))
    kinds = sorted(type(r).__name__ for r in results)
    assert kinds == ["RetentionPolicy", "Stale"], results
    assert RetentionPolicy.objects.filter(status="active").count() == 1
    assert RetentionPolicy.objects.filter(status="stale").count() == 1


def test_a_hold_placed_after_the_run_was_queued_keeps_its_recordings(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    policy = _approve(_policy(people), people["admin2"])
    now = timezone.now()
    run = retention.policy_run(policy_id=policy.pk, now=now)
    assert run is not None
    due = sorted(run.items.values_list("record_id", flat=True))
    _hold(people, record_ids=(due[0], due[-1]))
    deletions.deletion_request_execute(deletion_id=run.pk)
    assert sorted(_deleted(sim)) == due[1:-1]
    assert {DeletionItem.objects.get(record_id=i).outcome for i in (due[0], due[-1])} == {"held"}


def test_a_hold_placed_while_a_run_is_deleting_stops_the_chunks_not_yet_sent(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None, settings: Any, monkeypatch: Any
) -> None:
    """Before: the worker checked holds once, before the first chunk; a hold placed while
    the run went on (it can take minutes) did not stop the later chunks: recordings were
    deleted after the hold was placed and audited. Now each chunk is checked before its
    DELETE."""
    settings.DELETION_CHUNK_SIZE = 2
    policy = _approve(_policy(people), people["admin2"])
    run = retention.policy_run(policy_id=policy.pk, now=timezone.now())
    assert run is not None
    due = sorted(run.items.values_list("record_id", flat=True))
    assert len(due) >= 5
    original = vono.VonoClient.delete_ids
    placed: list[LegalHold] = []

    # A hold placed by a colleague at the moment the first DELETE returns: a real race,
    # which a test cannot time otherwise. The DELETE itself still goes to the simulator.
    def delete_then_hold(self: vono.VonoClient, ids: Any, **options: Any) -> Any:
        result = original(self, ids, **options)
        if not placed:
            placed.append(_hold(people, record_ids=tuple(due)))
        return result

    monkeypatch.setattr(vono.VonoClient, "delete_ids", delete_then_hold)
    deletions.deletion_request_execute(deletion_id=run.pk)
    assert len(_deleted(sim)) == 2, "only the chunk sent before the hold"
    held = DeletionItem.objects.filter(request=run, outcome="held")
    assert held.count() == len(due) - 2
    assert all(sim.list(f"id_record={i}")["total_records"] for i in due if i not in _deleted(sim))


def test_a_policy_replaced_between_the_run_and_its_execution_deletes_nothing(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    """The run was chosen under "keep 3 days"; "keep 400 days" was approved before the
    worker took it: the worker goes by the policy in force, and nothing goes."""
    short = _approve(_policy(people, days=DAYS), people["admin2"])
    run = retention.policy_run(policy_id=short.pk, now=timezone.now())
    assert run is not None
    _approve(_policy(people, days=400), people["admin2"])
    assert deletions.deletion_request_execute(deletion_id=run.pk) is None
    assert sim.stats()["delete_calls"] == []


def test_a_preview_changed_before_approval_is_the_approved_one(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None, client: Client
) -> None:
    """A request that no longer replaces what it saw in force goes stale, even via replay."""
    seen = _policy(people, days=400)
    _approve(_policy(people, days=DAYS, customer=CUSTOMER), people["admin2"])
    _signed_in(client, people["admin2"])
    for _ in range(2):
        client.post(f"/retention/policies/{seen.pk}/approve")
    seen.refresh_from_db()
    assert seen.status == RetentionPolicy.Status.STALE
    assert proof.approved_terms()[CUSTOMER].days == DAYS


def test_an_expired_request_is_not_approved_by_a_replayed_post(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    policy = _policy(people)
    RetentionPolicy.objects.filter(pk=policy.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    _signed_in(client, people["admin2"])
    for _ in range(2):
        assert client.post(f"/retention/policies/{policy.pk}/approve").status_code == 302
    policy.refresh_from_db()
    assert policy.status == RetentionPolicy.Status.EXPIRED
    assert _actions().count("retention_expired") == 1
    assert "retention_approved" not in _actions()


# --- (d) scope escapes ----------------------------------------------------------------------------


def test_a_scoped_admin_cannot_make_a_policy_for_all_or_for_another_subscriber(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    scoped = make_user("scoped", "Administradores", customer_id=CUSTOMER)
    _signed_in(client, scoped)
    asked = client.post("/retention/policies/new", {"days": "30", "reason": "x", "customer_id": ""})
    assert asked.status_code == 302
    assert RetentionPolicy.objects.get().customer_id == CUSTOMER  # "all" became their own
    other = client.post(
        "/retention/policies/new", {"days": "31", "reason": "x", "customer_id": "7"}
    )
    assert other.status_code == 404
    assert retention.policy_request(actor=scoped, days=32, customer_id=None, reason="x").customer_id
    assert not RetentionPolicy.objects.filter(customer_id__isnull=True).exists()
    assert not RetentionPolicy.objects.filter(customer_id=7).exists()


def test_a_scoped_admin_cannot_decide_for_all_subscribers_or_another(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    for_all = _policy(people, customer=None)
    for_other = _policy(people, customer=7)
    scoped = make_user("scoped", "Administradores", customer_id=CUSTOMER)
    for policy in (for_all, for_other):
        with pytest.raises(retention.NotAllowed):
            _approve(policy, scoped)
        _signed_in(client, scoped)
        assert client.post(f"/retention/policies/{policy.pk}/approve").status_code == 404
        assert (
            client.post(f"/retention/policies/{policy.pk}/reject", {"reason": "x"}).status_code
            == 404
        )
    assert RetentionPolicy.objects.filter(status="pending").count() == 2


def test_a_scoped_admin_cannot_lift_another_subscribers_hold_or_an_all_subscribers_hold(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    other = _lift_requested(people, customer_id=7)
    every = _lift_requested(people, number="4133334444")
    scoped = make_user("scoped", "Administradores", customer_id=CUSTOMER)
    _signed_in(client, scoped)
    for hold in (other, every):
        for action in ("lift/approve", "lift/refuse", "lift"):
            response = client.post(f"/retention/holds/{hold.pk}/{action}", {"reason": "x"})
            assert response.status_code == 404
        assert client.get(f"/retention/holds/{hold.pk}/").status_code == 404
        with pytest.raises(retention.NotAllowed):
            retention.hold_lift_approve(hold_id=hold.pk, actor=scoped, auth_age_seconds=FRESH)
        with pytest.raises(retention.NotAllowed):
            retention.hold_lift_refuse(hold_id=hold.pk, actor=scoped)
    assert set(LegalHold.objects.values_list("status", flat=True)) == {"lift_pending"}


def test_a_scoped_admins_hold_is_their_subscribers_only(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    scoped = make_user("scoped", "Administradores", customer_id=CUSTOMER)
    _signed_in(client, scoped)
    response = client.post(
        "/retention/holds/new", {"number": "4133334444", "reason": "x", "customer_id": "7"}
    )
    assert response.status_code == 404
    client.post("/retention/holds/new", {"number": "4133334444", "reason": "x"})
    assert LegalHold.objects.get().customer_id == CUSTOMER


# --- (d) dates and time zones ---------------------------------------------------------------------


def _sao_paulo_today() -> dt.date:
    return timezone.now().astimezone(legal_holds.SAO_PAULO).date()


def test_a_hold_ending_in_the_past_is_refused_naming_the_field(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    """Before: accepted and audited as placed, yet never in force: the person placing it
    believed the recordings were held."""
    yesterday = _sao_paulo_today() - dt.timedelta(days=1)
    with pytest.raises(retention.NotAllowed):
        retention.hold_place(
            actor=people["admin"],
            terms=retention.HoldTerms(number="4133334444"),
            reason="processo",
            ends_on=yesterday,
        )
    _signed_in(client, people["admin"])
    response = client.post(
        "/retention/holds/new",
        {"number": "4133334444", "reason": "processo", "ends_on": yesterday.isoformat()},
    )
    assert response.status_code == 400
    assert "ends_on" in response.content.decode()
    assert not LegalHold.objects.exists()
    today = client.post(
        "/retention/holds/new",
        {"number": "4133334444", "reason": "processo", "ends_on": _sao_paulo_today().isoformat()},
    )
    assert today.status_code == 302


def test_a_hold_holds_through_its_last_day_in_sao_paulo(
    people: dict[str, Any], sim: SimulatorProcess, monkeypatch: Any
) -> None:
    """ "Vale até 30/11" means the whole 30th in São Paulo: 02:59 UTC on the 1st is still the
    30th there. The clock is patched: a test cannot wait for midnight."""
    last_day = dt.date(2026, 11, 30)
    hold_now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: hold_now)
    hold = retention.hold_place(
        actor=people["admin"],
        terms=retention.HoldTerms(number="4133334444"),
        reason="prazo",
        ends_on=last_day,
    )
    for utc, in_force in [
        (dt.datetime(2026, 12, 1, 2, 59, tzinfo=dt.UTC), True),  # 23:59 on the 30th
        (dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC), False),  # midnight, the 1st
    ]:
        monkeypatch.setattr(timezone, "now", lambda utc=utc: utc)
        assert (hold.pk in [h.pk for h in legal_holds.holds_in_force()]) is in_force
        assert (hold.pk in [h.pk for h in legal_holds.holds_in_force(strict=True)]) is in_force


def test_a_hold_period_is_in_sao_paulo_days(people: dict[str, Any], sim: SimulatorProcess) -> None:
    """A call at 23:30 on the 30th in São Paulo is 02:30 UTC on the 1st: the hold for the
    30th covers it, the hold for the 1st does not."""

    def call(utc: dt.datetime) -> vono.Recording:
        added = sim.add_recording(
            calldate=utc.astimezone(legal_holds.SAO_PAULO).replace(tzinfo=None).isoformat(),
            customer_id=CUSTOMER,
            duration=30,
        )
        return vono.get_client().get_recording(added["record_id"])

    late = call(dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC))
    the_30th = _hold(people, period_start=dt.date(2026, 11, 30), period_end=dt.date(2026, 11, 30))
    the_1st = _hold(people, period_start=dt.date(2026, 12, 1), period_end=dt.date(2026, 12, 1))
    assert legal_holds.covers(the_30th, late)
    assert not legal_holds.covers(the_1st, late)


# --- (d) number formats ---------------------------------------------------------------------------


TYPED = [
    "41 3333-4444",
    "(41) 3333-4444",
    "+55 41 3333-4444",
    "+55 (41) 3333-4444",
    "55 41 33334444",
    "041 3333 4444",
    "(041) 3333-4444",
    "+55 (041) 3333-4444",
    "0055 41 3333 4444",
    "0 15 41 3333-4444",
    " 4133334444 ",
]
ON_VONO = [
    "554133334444",
    "4133334444",
    "04133334444",
    "+55 41 3333-4444",
    "00554133334444",
    "0414133334444",  # dialled with a carrier code (0 41 41 ...)
]


@pytest.mark.parametrize("typed", TYPED)
def test_no_way_of_typing_a_number_dodges_its_hold(
    people: dict[str, Any], sim: SimulatorProcess, typed: str
) -> None:
    """Before: "+55 (041) 3333-4444" kept the trunk 0 after the country code and held
    nothing; "0055 ..." (the international prefix) and a carrier code ("0 15 41 ...")
    likewise, on either side."""
    recordings = []
    for n, number in enumerate(ON_VONO):
        added = sim.add_recording(
            calldate=f"2026-11-0{n + 1}T10:00:00",
            customer_id=CUSTOMER,
            duration=30,
            source="sup9001",
            destination=number,
        )
        recordings.append(vono.get_client().get_recording(added["record_id"]))
    hold = _hold(people, number=typed)
    assert hold.number_digits == "4133334444"
    assert [r.record_id for r in recordings if legal_holds.covers(hold, r)] == [
        r.record_id for r in recordings
    ]


def test_an_extension_hold_covers_the_extension_not_the_whole_number(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    added = sim.add_recording(
        calldate="2026-11-02T10:00:00",
        customer_id=CUSTOMER,
        duration=30,
        source="sup9001",
        destination="554133334444",
    )
    recording = vono.get_client().get_recording(added["record_id"])
    assert legal_holds.covers(_hold(people, number="ramal 9001"), recording)
    assert legal_holds.covers(_hold(people, number="sup9001"), recording)
    assert not legal_holds.covers(_hold(people, number="90"), recording)  # whole numbers only
    assert not legal_holds.covers(_hold(people, number="33334444"), recording)
    assert normalise("sup9001") == "9001"


# --- (d) huge and malformed input -----------------------------------------------------------------


HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("url", "form", "field"),
    [
        ("/retention/policies/new", {"days": HUGE, "reason": "x"}, "days"),
        ("/retention/policies/new", {"days": "36501", "reason": "x"}, "days"),
        ("/retention/policies/new", {"days": "0", "reason": "x"}, "days"),
        ("/retention/policies/new", {"days": "30", "reason": "x" * 5000}, "reason"),
        ("/retention/policies/new", {"days": "30", "reason": "a\x00b"}, "reason"),
        (
            "/retention/policies/new",
            {"days": "30", "reason": "x", "customer_id": HUGE},
            "customer_id",
        ),
        ("/retention/holds/new", {"number": "9" * 41, "reason": "x"}, "number"),
        ("/retention/holds/new", {"record_ids": HUGE, "reason": "x"}, "record_ids"),
        ("/retention/holds/new", {"record_ids": "1 " * 501, "reason": "x"}, "record_ids"),
        ("/retention/holds/new", {"record_ids": "1 ² 3", "reason": "x"}, "record_ids"),
        ("/retention/holds/new", {"record_ids": "1" * 12000, "reason": "x"}, "record_ids"),
        (
            "/retention/holds/new",
            {"number": "1", "reason": "x", "customer_id": HUGE},
            "customer_id",
        ),
        (
            "/retention/holds/new",
            {"number": "1", "reason": "x", "period_start": "99999-01-01"},
            "period_start",
        ),
        (
            "/retention/holds/new",
            {"number": "1", "reason": "x", "ends_on": "2026-02-30"},
            "ends_on",
        ),
        ("/retention/holds/new", {"number": "1", "reason": "x" * 2001}, "reason"),
    ],
)
def test_huge_or_malformed_input_is_a_400_naming_the_field(
    people: dict[str, Any],
    sim: SimulatorProcess,
    client: Client,
    url: str,
    form: dict[str, str],
    field: str,
) -> None:
    _signed_in(client, people["admin"])
    response = client.post(url, form)
    assert response.status_code == 400, response.status_code
    assert field in response.content.decode()
    assert not LegalHold.objects.exists() and not RetentionPolicy.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/retention/policies/{n}/",
        "/retention/policies/{n}/approve",
        "/retention/holds/{n}/",
        "/retention/holds/{n}/lift/approve",
    ],
)
def test_an_id_past_any_integer_column_is_a_404(
    people: dict[str, Any], sim: SimulatorProcess, client: Client, path: str
) -> None:
    _signed_in(client, people["admin"])
    for n in ("9223372036854775808", "9" * 400):
        url = path.format(n=n)
        response = client.post(url, {"reason": "x"}) if not url.endswith("/") else client.get(url)
        assert response.status_code == 404, (url[:60], response.status_code)


def test_a_deletion_request_inserted_in_a_colleagues_name_cannot_be_self_approved(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    """The deletion engine's twin of the policy attack: a pending request inserted as the
    app's role, naming a supervisor as requester, approved by the insider in the portal."""
    insider, colleague = people["admin"], people["supervisor"]
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    now = timezone.now()
    _as_app_role(
        [
            (
                "INSERT INTO recordings_deletionrequest (kind, status, requested_by_id,"
                " requested_at, reason, customer_id, filters, snapshot, expires_at,"
                " decided_by_id, decided_at, decision_note, runs, fresh_count)"
                " VALUES ('ids', 'pending', %s, %s, 'x', NULL, %s, %s, %s, NULL, NULL, '', 0,"
                " NULL)",
                [
                    colleague.pk,
                    now,
                    f'{{"ids": [{record_id}]}}',
                    '{"count": 1}',
                    now + dt.timedelta(hours=1),
                ],
            )
        ]
    )
    deletion = DeletionRequest.objects.get()
    assert not deletions.can_decide(deletion, insider)
    with pytest.raises(deletions.NotAllowed):
        deletions.deletion_request_approve(
            deletion_id=deletion.pk, actor=insider, typed_count="1", auth_age_seconds=FRESH
        )
    assert "deletion_approved" not in _actions()
    assert sim.stats()["delete_calls"] == []


def test_a_subscribers_policy_ended_in_the_database_does_not_hand_its_calls_to_the_all_run(
    people: dict[str, Any], sim: SimulatorProcess, indexed: None
) -> None:
    """active -> superseded is a legal move for the trigger: the insider "ends" subscriber
    12's keep-400-days policy in the database, so the all-subscribers keep-3-days run picks
    12's calls from the index. The worker goes by the audit log, where 12's policy stands."""
    own = _approve(_policy(people, days=400), people["admin2"])
    every = _approve(_policy(people, days=DAYS, customer=None), people["admin2"])
    _as_app_role(
        [("UPDATE retention_retentionpolicy SET status = 'superseded' WHERE id = %s", [own.pk])]
    )
    run = retention.policy_run(policy_id=every.pk, now=timezone.now())
    assert run is not None
    theirs = set(
        run.items.filter(
            record_id__in=IndexedRecording.objects.filter(customer_id=CUSTOMER).values("record_id")
        ).values_list("record_id", flat=True)
    )
    assert theirs, "the index handed subscriber 12's calls to the run"
    deletions.deletion_request_execute(deletion_id=run.pk)
    assert not theirs & set(_deleted(sim))
    assert {DeletionItem.objects.get(record_id=i).outcome for i in theirs} == {"failed"}


def test_held_items_reset_to_pending_in_the_database_are_held_again(
    people: dict[str, Any], sim: SimulatorProcess
) -> None:
    ids = sorted(r["record_id"] for r in sim.list("limit=2")["data"])
    deletion = deletions.deletion_request_create(actor=people["supervisor"], reason="x", ids=ids)
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=people["admin"], typed_count="2", auth_age_seconds=FRESH
    )
    _hold(people, record_ids=(ids[0],))
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) == Status.PARTIAL
    try:
        _as_app_role(
            [
                (
                    "UPDATE recordings_deletionitem SET outcome = 'pending' WHERE record_id = %s",
                    [ids[0]],
                ),
                (
                    "UPDATE recordings_deletionrequest SET status = 'approved' WHERE id = %s",
                    [deletion.pk],
                ),
            ]
        )
    except DatabaseError:
        assert connection.vendor == "postgresql"  # the deletion triggers refuse it already
        return
    deletions.deletion_request_execute(deletion_id=deletion.pk)
    assert _deleted(sim) == [ids[1]]
    assert DeletionItem.objects.get(record_id=ids[0]).outcome == "held"


def test_a_body_past_the_upload_limit_is_a_400(
    people: dict[str, Any], sim: SimulatorProcess, client: Client
) -> None:
    _signed_in(client, people["admin"])
    response = client.post(
        "/retention/holds/new", {"number": "4133334444", "reason": "x" * 3_000_000}
    )
    assert response.status_code == 400
    assert not LegalHold.objects.exists()
