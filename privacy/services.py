"""Producing the LGPD access report: read, and recorded in the audit log."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from audit import services as audit
from privacy import selectors
from recordings.models import User


@transaction.atomic
def privacy_report_produce(
    *, request: HttpRequest, actor: User, number: str, output: str
) -> selectors.AccessReport:
    """The report on ``number`` (normalised digits) as ``actor`` may read it, with the audit
    event saying who produced it, about which number and recordings, in which ``output``
    (``page`` or ``csv``). The event names the recordings, so a later report on the same
    number lists this one among the accesses."""
    report = selectors.access_report(user=actor, number=number)
    audit.record_event(
        action=audit.Action.PRIVACY_REPORT,
        request=request,
        actor=actor,
        record_ids=report.record_ids,
        details={
            "number": number,
            "output": output,
            "recordings": len(report.recordings),
            "accesses": len(report.accesses),
        },
    )
    return report
