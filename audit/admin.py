from django.contrib import admin

from audit.models import AuditEvent
from recordings.readonly_admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log is append-only, in the admin as in the database."""

    list_display = ("seq", "created_at", "actor_username", "action", "outcome", "ip")
    list_filter = ("action", "outcome")
    search_fields = ("actor_username", "request_id")
    ordering = ("-seq",)
