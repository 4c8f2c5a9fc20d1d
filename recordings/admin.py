from django.contrib import admin
from django.contrib.auth.models import Group

from recordings.models import User
from recordings.readonly_admin import ReadOnlyAdmin

# Users and roles change only through the access pages (accounts), where a second person
# approves what widens anyone's reach: Django's admin shows them and changes nothing.
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = (
        "username",
        "first_name",
        "last_name",
        "customer_id",
        "extensions",
        "is_active",
    )
    list_filter = ("groups", "is_active")
    search_fields = ("username", "first_name", "last_name")
    exclude = ("password",)
