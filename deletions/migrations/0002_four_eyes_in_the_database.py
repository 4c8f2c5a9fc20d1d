"""Four eyes in the database: a CHECK constraint, and on PostgreSQL a trigger that allows only
the workflow's status moves, never a self-approval, and never a change to what was asked.

Like the audit log's triggers these obey no session setting (django-pgtrigger's FSM trigger,
dropped in recordings 0004, skipped itself under ``pgtrigger.ignore``).
"""

from typing import Any

from django.conf import settings
from django.db import migrations, models

TRANSITIONS = [
    "pending:approved",
    "pending:rejected",
    "pending:cancelled",
    "pending:expired",
    "pending:stale",
    "approved:running",
    "running:done",
    "running:partial",
    "running:failed",
    "partial:approved",
    "failed:approved",
    "running:approved",
]

INSTALL = """
CREATE OR REPLACE FUNCTION deletion_request_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'deletion requests are kept: DELETE refused';
    END IF;
    IF NEW.requested_by_id IS DISTINCT FROM OLD.requested_by_id
        OR NEW.requested_at IS DISTINCT FROM OLD.requested_at
        OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.reason IS DISTINCT FROM OLD.reason
        OR NEW.customer_id IS DISTINCT FROM OLD.customer_id
        OR NEW.filters::text IS DISTINCT FROM OLD.filters::text
        OR NEW.snapshot::text IS DISTINCT FROM OLD.snapshot::text
    THEN
        RAISE EXCEPTION 'what a deletion request asks for never changes';
    END IF;
    IF OLD.status <> 'pending' AND NEW.decided_by_id IS DISTINCT FROM OLD.decided_by_id THEN
        RAISE EXCEPTION 'a decided deletion request keeps who decided it';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT (OLD.status || ':' || NEW.status) = ANY ({transitions}) THEN
            RAISE EXCEPTION 'illegal deletion request transition from % to %',
                OLD.status, NEW.status;
        END IF;
        IF NEW.status = 'approved' AND OLD.status = 'pending' AND (
            NEW.decided_by_id IS NULL OR NEW.decided_by_id = NEW.requested_by_id
        ) THEN
            RAISE EXCEPTION 'a deletion request is approved by someone other than its requester';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS deletion_request_guard ON recordings_deletionrequest;
CREATE TRIGGER deletion_request_guard BEFORE UPDATE OR DELETE ON recordings_deletionrequest
    FOR EACH ROW EXECUTE FUNCTION deletion_request_guard();

-- Items are written once, when a request is first approved: nobody adds ids to a request
-- afterwards, or points an item at another recording.
CREATE OR REPLACE FUNCTION deletion_item_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'deletion items are kept: DELETE refused';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.record_id IS DISTINCT FROM OLD.record_id
            OR NEW.request_id IS DISTINCT FROM OLD.request_id THEN
            RAISE EXCEPTION 'a deletion item keeps its request and recording';
        END IF;
        RETURN NEW;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM recordings_deletionrequest r
        WHERE r.id = NEW.request_id AND r.status = 'approved' AND r.runs = 0
    ) THEN
        RAISE EXCEPTION 'items are added only when a request is approved';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS deletion_item_guard ON recordings_deletionitem;
CREATE TRIGGER deletion_item_guard BEFORE INSERT OR UPDATE OR DELETE ON recordings_deletionitem
    FOR EACH ROW EXECUTE FUNCTION deletion_item_guard();
""".replace("{transitions}", "ARRAY[" + ", ".join(f"'{t}'" for t in TRANSITIONS) + "]")

UNINSTALL = """
DROP TRIGGER IF EXISTS deletion_request_guard ON recordings_deletionrequest;
DROP TRIGGER IF EXISTS deletion_item_guard ON recordings_deletionitem;
DROP FUNCTION IF EXISTS deletion_request_guard();
DROP FUNCTION IF EXISTS deletion_item_guard();
"""


def install(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("deletions", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="deletionrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("status__in", ("approved", "running", "done", "partial", "failed")),
                        _negated=True,
                    ),
                    models.Q(
                        ("decided_by__isnull", False),
                        models.Q(("decided_by", models.F("requested_by")), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="executed_only_when_decided_by_another",
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
