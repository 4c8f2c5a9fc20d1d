"""Four eyes in the database, as for deletion requests (deletions 0002): on PostgreSQL,
triggers that obey no session setting allow only the workflow's status moves, never a
self-approval, never a change to what a policy says or a hold covers, and no DELETE."""

from typing import Any

from django.db import migrations

POLICY_TRANSITIONS = [
    "pending:active",
    "pending:rejected",
    "pending:cancelled",
    "pending:expired",
    "pending:stale",
    "active:superseded",
]
HOLD_TRANSITIONS = ["active:lift_pending", "lift_pending:active", "lift_pending:lifted"]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


INSTALL = """
CREATE OR REPLACE FUNCTION retention_policy_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'retention policies are kept: DELETE refused';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending' THEN
            RAISE EXCEPTION 'a retention policy starts pending';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.requested_by_id IS DISTINCT FROM OLD.requested_by_id
        OR NEW.requested_at IS DISTINCT FROM OLD.requested_at
        OR NEW.days IS DISTINCT FROM OLD.days
        OR NEW.customer_id IS DISTINCT FROM OLD.customer_id
        OR NEW.reason IS DISTINCT FROM OLD.reason
        OR NEW.replaces_id IS DISTINCT FROM OLD.replaces_id
    THEN
        RAISE EXCEPTION 'what a retention policy says never changes';
    END IF;
    IF OLD.status <> 'pending' AND NEW.decided_by_id IS DISTINCT FROM OLD.decided_by_id THEN
        RAISE EXCEPTION 'a decided retention policy keeps who decided it';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT (OLD.status || ':' || NEW.status) = ANY ({policy_transitions}) THEN
            RAISE EXCEPTION 'illegal retention policy transition from % to %',
                OLD.status, NEW.status;
        END IF;
        IF NEW.status = 'active' AND (
            NEW.decided_by_id IS NULL OR NEW.decided_by_id = NEW.requested_by_id
        ) THEN
            RAISE EXCEPTION 'a retention policy is approved by someone other than its requester';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS retention_policy_guard ON retention_retentionpolicy;
CREATE TRIGGER retention_policy_guard BEFORE INSERT OR UPDATE OR DELETE
    ON retention_retentionpolicy FOR EACH ROW EXECUTE FUNCTION retention_policy_guard();

CREATE OR REPLACE FUNCTION retention_hold_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'legal holds are kept: DELETE refused';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'active' THEN
            RAISE EXCEPTION 'a legal hold starts in force';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.number_digits IS DISTINCT FROM OLD.number_digits
        OR NEW.record_ids::text IS DISTINCT FROM OLD.record_ids::text
        OR NEW.customer_id IS DISTINCT FROM OLD.customer_id
        OR NEW.period_start IS DISTINCT FROM OLD.period_start
        OR NEW.period_end IS DISTINCT FROM OLD.period_end
        OR NEW.ends_on IS DISTINCT FROM OLD.ends_on
        OR NEW.placed_by_id IS DISTINCT FROM OLD.placed_by_id
        OR NEW.placed_at IS DISTINCT FROM OLD.placed_at
    THEN
        RAISE EXCEPTION 'what a legal hold covers never changes';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT (OLD.status || ':' || NEW.status) = ANY ({hold_transitions}) THEN
            RAISE EXCEPTION 'illegal legal hold transition from % to %', OLD.status, NEW.status;
        END IF;
        IF NEW.status = 'lifted' AND (
            NEW.lifted_by_id IS NULL OR NEW.lift_requested_by_id IS NULL
            OR NEW.lifted_by_id = NEW.lift_requested_by_id
        ) THEN
            RAISE EXCEPTION 'a legal hold is lifted by someone other than who asked';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS retention_hold_guard ON retention_legalhold;
CREATE TRIGGER retention_hold_guard BEFORE INSERT OR UPDATE OR DELETE
    ON retention_legalhold FOR EACH ROW EXECUTE FUNCTION retention_hold_guard();
""".replace("{policy_transitions}", _array(POLICY_TRANSITIONS)).replace(
    "{hold_transitions}", _array(HOLD_TRANSITIONS)
)

UNINSTALL = """
DROP TRIGGER IF EXISTS retention_policy_guard ON retention_retentionpolicy;
DROP TRIGGER IF EXISTS retention_hold_guard ON retention_legalhold;
DROP FUNCTION IF EXISTS retention_policy_guard();
DROP FUNCTION IF EXISTS retention_hold_guard();
"""


def install(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
