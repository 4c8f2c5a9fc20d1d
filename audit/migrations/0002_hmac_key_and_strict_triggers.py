"""Keyed chain (key id per event) and append-only triggers that no session setting turns off.

django-pgtrigger's triggers (dropped in recordings 0004) skip themselves when a session sets
``pgtrigger.ignore``, which any role may do. These raise unconditionally. Only the table's
owner can drop or disable them, so production runs the app as a role that does not own the
table (README, "The audit log in production"; ``manage.py check --deploy`` warns).
"""

from typing import Any

from django.db import migrations, models

INSTALL = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP;
END
$$;
DROP TRIGGER IF EXISTS audit_append_only ON recordings_auditevent;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON recordings_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP TRIGGER IF EXISTS audit_append_only_truncate ON recordings_auditevent;
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON recordings_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- The head only moves forward, onto an event that exists, and is never removed.
CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'the audit chain head is never removed: % refused', TG_OP;
    END IF;
    IF NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'the audit chain head never moves back (% to %)', OLD.seq, NEW.seq;
    END IF;
    IF NEW.seq > OLD.seq AND NOT EXISTS (
        SELECT 1 FROM recordings_auditevent e WHERE e.seq = NEW.seq AND e.hash = NEW.hash
    ) THEN
        RAISE EXCEPTION 'the audit chain head must point at an existing event';
    END IF;
    IF NEW.seq = OLD.seq AND NEW.hash IS DISTINCT FROM OLD.hash THEN
        RAISE EXCEPTION 'the audit chain head keeps the hash of its event';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS audit_head_forward_only ON recordings_auditchainhead;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON recordings_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
DROP TRIGGER IF EXISTS audit_head_no_truncate ON recordings_auditchainhead;
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON recordings_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_head_forward_only();
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS audit_append_only ON recordings_auditevent;
DROP TRIGGER IF EXISTS audit_append_only_truncate ON recordings_auditevent;
DROP TRIGGER IF EXISTS audit_head_forward_only ON recordings_auditchainhead;
DROP TRIGGER IF EXISTS audit_head_no_truncate ON recordings_auditchainhead;
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS audit_head_forward_only();
"""


def install(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16, verbose_name="chave"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("login", "acesso"),
                    ("login_failed", "acesso recusado"),
                    ("login_blocked", "acesso bloqueado por tentativas"),
                    ("logout", "saída"),
                    ("search", "consulta"),
                    ("export", "exportação"),
                    ("play", "reprodução"),
                    ("download", "download"),
                    ("access_denied", "acesso negado"),
                    ("deletion_requested", "exclusão pedida"),
                    ("deletion_approved", "exclusão aprovada"),
                    ("deletion_rejected", "exclusão rejeitada"),
                    ("deletion_cancelled", "exclusão cancelada"),
                    ("deletion_expired", "exclusão expirada"),
                    ("deletion_stale", "exclusão desatualizada"),
                    ("deletion_retried", "exclusão retomada"),
                    ("deletion_started", "exclusão iniciada"),
                    ("deletion_finished", "exclusão concluída"),
                    ("user_created", "usuário criado"),
                    ("user_changed", "usuário alterado"),
                    ("password_set", "senha definida"),
                    ("access_requested", "mudança de acesso pedida"),
                    ("access_approved", "mudança de acesso aprovada"),
                    ("access_rejected", "mudança de acesso rejeitada"),
                    ("access_cancelled", "mudança de acesso cancelada"),
                    ("access_expired", "mudança de acesso expirada"),
                ],
                db_index=True,
                max_length=32,
                verbose_name="ação",
            ),
        ),
        migrations.RunPython(install, uninstall),
    ]
