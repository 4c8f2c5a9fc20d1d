"""The QA roles: a new group, Coordenadores de QA (forms, reopening, queues, reports), and
the QA permissions the existing groups gain. Additive: the reverse removes exactly these."""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_ADDITIONS = {
    "Coordenadores de QA": (
        "recordings.view_recording",
        "recordings.play_recording",
        "qa.annotate_recording",
        "qa.evaluate_recording",
        "qa.manage_forms",
        "qa.build_queue",
        "qa.view_qa_reports",
    ),
    "Revisores de QA": ("qa.annotate_recording", "qa.evaluate_recording"),
    "Supervisores": ("qa.annotate_recording", "qa.build_queue", "qa.view_qa_reports"),
    "Administradores": ("qa.view_qa_reports",),
}


def _permissions(apps: Any, perms: tuple[str, ...]) -> list[Any]:
    permission_model = apps.get_model("auth", "Permission")
    found = []
    for perm in perms:
        app_label, _, codename = perm.partition(".")
        found.append(
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return found


def add_roles(apps: Any, schema_editor: Any) -> None:
    # Permissions are normally created after migrate; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    for name, perms in ROLE_ADDITIONS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, perms))


def remove_roles(apps: Any, schema_editor: Any) -> None:
    group_model = apps.get_model("auth", "Group")
    for name, perms in ROLE_ADDITIONS.items():
        group = group_model.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_permissions(apps, perms))
    group_model.objects.filter(name="Coordenadores de QA", permissions=None).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("qa", "0002_notes_scorecards_queues"),
        ("accounts", "0003_index_role"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_roles, remove_roles)]
