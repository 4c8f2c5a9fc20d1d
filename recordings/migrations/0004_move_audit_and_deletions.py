"""The audit log and the deletion workflow move to their own apps (``audit``, ``deletions``).

Their tables keep their names and rows: only Django's model state moves (the new apps'
0001 migrations take it over). django-pgtrigger's triggers are dropped here because they obey
the session setting ``pgtrigger.ignore``; the new apps' 0002 migrations install triggers that
obey nothing.
"""

import pgtrigger.migrations
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("recordings", "0003_audit_and_deletions")]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name="auditevent", name="append_only_update"),
        pgtrigger.migrations.RemoveTrigger(model_name="auditevent", name="append_only_delete"),
        pgtrigger.migrations.RemoveTrigger(model_name="auditevent", name="append_only_truncate"),
        pgtrigger.migrations.RemoveTrigger(model_name="deletionrequest", name="status_transitions"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DeletionItem"),
                migrations.DeleteModel(name="DeletionRequest"),
                migrations.DeleteModel(name="AuditEvent"),
                migrations.DeleteModel(name="AuditChainHead"),
            ],
            database_operations=[],
        ),
    ]
