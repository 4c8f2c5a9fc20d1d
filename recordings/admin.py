from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from recordings.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("Escopo"), {"fields": ("customer_id",)}),
    )
    list_display = ("username", "first_name", "last_name", "customer_id", "is_active")
    list_filter = ("groups", "is_active")
