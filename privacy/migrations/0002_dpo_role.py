"""The LGPD access report (privacy.view_privacy_report) goes to Administradores and to a new
role, "Encarregado de dados (DPO)", which holds only it. The reverse removes exactly these
(and leaves the group, which a user may still belong to)."""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_ADDITIONS = {
    "Administradores": ("privacy.view_privacy_report",),
    "Encarregado de dados (DPO)": ("privacy.view_privacy_report",),
}


def _permission(apps: Any, perm: str) -> Any:
    app_label, _, codename = perm.partition(".")
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label=app_label, codename=codename
    )


def add_roles(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    for name, perms in ROLE_ADDITIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.add(*(_permission(apps, perm) for perm in perms))


def remove_roles(apps: Any, schema_editor: Any) -> None:
    group_model = apps.get_model("auth", "Group")
    for name, perms in ROLE_ADDITIONS.items():
        group = group_model.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*(_permission(apps, perm) for perm in perms))


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("accounts", "0003_index_role"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_roles, remove_roles)]
