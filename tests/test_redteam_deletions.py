"""Red team on deletions: someone who can write to the database, but holds neither a second
person nor the audit key, must not get recordings deleted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from deletions import services as deletions
from deletions.models import DeletionRequest
from tests.conftest import make_user
from tests.simulator import SimulatorProcess
from tests.test_audit_integrity import APP_ROLE, _app_role


def _as_app_role(statements: list[tuple[str, list[Any]]]) -> None:
    """Run SQL as the app's database role (not the tables' owner) on PostgreSQL."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        _app_role()
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        try:
            for sql, params in statements:
                cursor.execute(sql, params)
        finally:
            if postgres:  # SET LOCAL outlives a released savepoint
                cursor.execute("RESET ROLE")


def test_a_request_inserted_as_approved_in_the_database_is_never_run(
    db: None, sim: SimulatorProcess
) -> None:
    """Before: with only a database session as the app's role, an insider inserted a request
    "approved" by a colleague (the CHECK and the transition trigger are satisfied), its
    items, and the task; the worker deleted the recording, and the audit log said only that
    a deletion started and finished."""
    requester = make_user("sara", "Supervisores")
    approver = make_user("adao", "Administradores")
    record_id = sim.list("limit=1")["data"][0]["record_id"]
    now = timezone.now()
    later = now + dt.timedelta(days=1)
    _as_app_role(
        [
            (
                "INSERT INTO recordings_deletionrequest (kind, status, requested_by_id,"
                " requested_at, reason, customer_id, filters, snapshot, expires_at,"
                " decided_by_id, decided_at, decision_note, runs, fresh_count)"
                " VALUES ('ids', 'approved', %s, %s, 'x', NULL, %s, '{}', %s, %s, %s, '', 0,"
                " NULL)",
                [requester.pk, now, f'{{"ids": [{record_id}]}}', later, approver.pk, now],
            ),
        ]
    )
    deletion = DeletionRequest.objects.get()
    _as_app_role(
        [
            (
                "INSERT INTO recordings_deletionitem (request_id, record_id, outcome, detail,"
                " updated_at) VALUES (%s, %s, 'pending', '', %s)",
                [deletion.pk, record_id, now],
            )
        ]
    )
    # What the worker does with the task the insider enqueued.
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) is None
    assert sim.list(f"id_record={record_id}")["total_records"], "the recording is still on Vono"
    deletion.refresh_from_db()
    assert deletion.status == DeletionRequest.Status.APPROVED
    refused = AuditEvent.objects.get(action="access_denied")
    assert (refused.outcome, refused.details["request"]) == ("refused", deletion.pk)


def test_an_approval_event_for_other_recordings_does_not_prove_this_one(
    db: None, sim: SimulatorProcess
) -> None:
    requester = make_user("sara", "Supervisores")
    approver = make_user("adao", "Administradores")
    first, second = [r["record_id"] for r in sim.list("limit=2")["data"]]
    deletion = deletions.deletion_request_create(actor=requester, reason="x", ids=[first])
    deletions.deletion_request_approve(
        deletion_id=deletion.pk, actor=approver, typed_count="1", auth_age_seconds=5.0
    )
    deletion.refresh_from_db()
    assert deletions.unproven_approval(deletion) is None
    if connection.vendor == "postgresql":
        pytest.skip("the item trigger already refuses an item added after approval")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO recordings_deletionitem (request_id, record_id, outcome, detail,"
            " updated_at) VALUES (%s, %s, 'pending', '', CURRENT_TIMESTAMP)",
            [deletion.pk, second],
        )
    assert deletions.unproven_approval(deletion) is not None
    assert deletions.deletion_request_execute(deletion_id=deletion.pk) is None
    assert sim.list(f"id_record={second}")["total_records"]
