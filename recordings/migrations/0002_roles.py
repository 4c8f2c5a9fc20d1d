"""Create the three roles with their explicit permissions."""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Supervisores": (
        "view_recording",
        "play_recording",
        "download_recording",
        "export_recordings",
        "request_deletion",
    ),
    "Revisores de QA": ("view_recording", "play_recording"),
    "Administradores": (
        "view_recording",
        "play_recording",
        "download_recording",
        "export_recordings",
        "request_deletion",
        "approve_deletion",
        "view_audit_log",
        # In Django's admin: manage users, e.g. set a user's subscriber scope.
        "view_user",
        "add_user",
        "change_user",
    ),
}


def create_roles(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = permission_model.objects.filter(
            content_type__app_label="recordings", codename__in=codenames
        )
        if permissions.count() != len(codenames):
            raise RuntimeError(f"missing permissions for {name}")
        group.permissions.set(permissions)


def remove_roles(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
