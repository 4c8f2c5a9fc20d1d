"""What the deletion worker trusts before a retention run deletes anything.

A retention run is a deletion request no person approved: it carries its policy's approval.
So the worker does not believe the database about that approval, or about what the policy
says. It reads the policy terms from the audit log's keyed approval events (which someone
who can write to the database but does not hold AUDIT_HMAC_KEY cannot make), takes the
newest authentic approval for each scope, and deletes a recording only if those terms cover
it as Vono describes it now: that subscriber's (or, for an all-subscribers policy, one
without a policy of its own), and older than the approved number of days. A forged run can
therefore delete nothing that two people did not already agree should go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from audit import chain
from audit.models import AuditEvent
from recordings import vono

ALL = "all"  # the scope key of an all-subscribers policy


def authentic(event: AuditEvent) -> bool:
    """Whether ``event``'s keyed MAC is right (``audit.chain.authentic``)."""
    return chain.authentic(event)


@dataclass(frozen=True, slots=True)
class ApprovedTerms:
    """A policy as its authentic approval event states it."""

    policy_id: int
    days: int
    customer_id: int | None
    requested_by: int
    approved_by: int
    event_seq: int


def approved_terms() -> dict[int | str, ApprovedTerms]:
    """The policy in force for each scope (a subscriber id, or ``ALL``), by the audit log.

    The newest authentic approval for a scope wins: an older policy's approval cannot be
    replayed once another replaced it. An approval by its own requester is never terms.
    """
    terms: dict[int | str, ApprovedTerms] = {}
    events = AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION_APPROVED).order_by("seq")
    for event in events:
        details = event.details
        try:
            days = int(details["days"])
            requested_by = int(details["requested_by"])
            policy_id = int(details["policy"])
        except (KeyError, TypeError, ValueError):
            continue
        if not authentic(event) or event.actor_id is None or event.actor_id == requested_by:
            continue
        scope = details.get("scope")
        customer_id = None if scope == ALL else event.customer_id
        if scope != ALL and (customer_id is None or scope != customer_id):
            continue
        terms[ALL if customer_id is None else customer_id] = ApprovedTerms(
            policy_id=policy_id,
            days=days,
            customer_id=customer_id,
            requested_by=requested_by,
            approved_by=event.actor_id,
            event_seq=event.seq,
        )
    return terms


def unproven_run(
    *, policy_id: int, customer_id: int | None, requested_by: int, decided_by: int | None
) -> str | None:
    """Why a retention run's request is not backed by its policy's approval, or None."""
    terms = approved_terms().get(ALL if customer_id is None else customer_id)
    if terms is None or terms.policy_id != policy_id:
        return "the run's policy is not the one in force by the audit log"
    if terms.requested_by != requested_by or terms.approved_by != decided_by:
        return "the run names other people than its policy's authentic approval"
    return None


def outside_terms(
    *,
    customer_id: int | None,
    recordings: Iterable[vono.Recording],
    now: dt.datetime | None = None,
) -> list[int]:
    """The recordings a run for the scope ``customer_id`` may not delete under the terms."""
    now = now or timezone.now()
    terms = approved_terms()
    own = terms.get(ALL if customer_id is None else customer_id)
    refused = []
    for recording in recordings:
        applies = own
        if customer_id is None:
            # A subscriber's own policy wins over the all-subscribers one.
            applies = terms.get(recording.customer_id or -1, own) if own else None
            if applies is not own:
                refused.append(recording.record_id)
                continue
        elif recording.customer_id != customer_id:
            refused.append(recording.record_id)
            continue
        if applies is None or recording.calldate >= now - dt.timedelta(days=applies.days):
            refused.append(recording.record_id)
    return refused
