"""Deploy checks for the audit log's protections (``manage.py check --deploy``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core import checks
from django.db import DatabaseError, connections

AUDIT_TABLE = "recordings_auditevent"


def audit_table_owner(
    app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Warn when the app's database role could switch the append-only triggers off.

    The triggers obey no session setting, but the table's owner (or a superuser) may drop or
    disable them. Production runs the app as a role that holds only INSERT and SELECT on the
    audit table; migrations run as the owner (README, "The audit log in production").
    """
    messages: list[checks.CheckMessage] = []
    for alias in databases or ["default"]:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    SELECT pg_has_role(current_user, c.relowner, 'USAGE'),
                           (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
                           has_table_privilege(current_user, c.oid, 'UPDATE')
                               OR has_table_privilege(current_user, c.oid, 'DELETE')
                               OR has_table_privilege(current_user, c.oid, 'TRUNCATE')
                    FROM pg_class c WHERE c.relname = %s AND c.relkind = 'r'
                    """,
                    [AUDIT_TABLE],
                )
                row = cursor.fetchone()
        except DatabaseError as exc:
            messages.append(
                checks.Warning(
                    f"Could not check who owns the audit table on {alias!r}: {type(exc).__name__}",
                    id="audit.W003",
                )
            )
            continue
        if row is None:
            continue
        owns, superuser, may_change = row
        if owns or superuser:
            who = "is a superuser" if superuser else "owns the audit table"
            messages.append(
                checks.Warning(
                    f"The database role of {alias!r} {who}: it could drop the audit log's "
                    "append-only triggers.",
                    hint="Run the app as a role that holds only INSERT and SELECT on "
                    f"{AUDIT_TABLE}; run migrations as the owner (README).",
                    id="audit.W001",
                )
            )
        elif may_change:
            messages.append(
                checks.Warning(
                    f"The database role of {alias!r} holds UPDATE, DELETE or TRUNCATE on the "
                    "audit table; the triggers refuse them, but the role needs only INSERT "
                    "and SELECT.",
                    id="audit.W002",
                )
            )
    return messages


def register() -> None:
    checks.register(audit_table_owner, checks.Tags.security, deploy=True)
