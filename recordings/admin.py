from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from recordings.models import AuditEvent, DeletionRequest, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Escopo"), {"fields": ("customer_id",)}),
    )
    list_display = ("username", "first_name", "last_name", "customer_id", "is_active")
    list_filter = ("groups", "is_active")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here: these rows change only through their services."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log is append-only, in the admin as in the database."""

    list_display = ("seq", "created_at", "actor_username", "action", "outcome", "ip")
    list_filter = ("action", "outcome")
    search_fields = ("actor_username", "request_id")
    ordering = ("-seq",)


@admin.register(DeletionRequest)
class DeletionRequestAdmin(ReadOnlyAdmin):
    """Requests change only through the workflow (recordings.deletions)."""

    list_display = ("pk", "requested_at", "requested_by", "status", "kind")
    list_filter = ("status",)
