"""The index's status page and "sync now" (index.view_index) go to Administradores: every role
is set to exactly these permissions, as 0002 did."""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Supervisores": (
        "recordings.view_recording",
        "recordings.play_recording",
        "recordings.download_recording",
        "recordings.export_recordings",
        "recordings.request_deletion",
    ),
    "Revisores de QA": ("recordings.view_recording", "recordings.play_recording"),
    "Administradores": (
        "recordings.view_recording",
        "recordings.play_recording",
        "recordings.download_recording",
        "recordings.export_recordings",
        "recordings.request_deletion",
        "recordings.approve_deletion",
        "recordings.view_audit_log",
        "index.view_index",
    ),
    "Gestores de acesso": ("accounts.manage_access", "recordings.view_audit_log"),
}


def set_roles(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = []
        for perm in perms:
            app_label, _, codename = perm.partition(".")
            permissions.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


def unset_roles(apps: Any, schema_editor: Any) -> None:
    index_perm = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="index", codename="view_index"
    )
    apps.get_model("auth", "Group").objects.get(name="Administradores").permissions.remove(
        *index_perm
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("index", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(set_roles, unset_roles)]
