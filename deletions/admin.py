from django.contrib import admin

from deletions.models import DeletionRequest
from recordings.readonly_admin import ReadOnlyAdmin


@admin.register(DeletionRequest)
class DeletionRequestAdmin(ReadOnlyAdmin):
    """Requests change only through the workflow (deletions.services)."""

    list_display = ("pk", "requested_at", "requested_by", "status", "kind")
    list_filter = ("status",)
