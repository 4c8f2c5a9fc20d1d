"""The portal's roles: groups and the permissions each one holds."""

from __future__ import annotations

SUPERVISORS = "Supervisores"
QA_REVIEWERS = "Revisores de QA"
ADMINISTRATORS = "Administradores"

# Mirrors migration 0002_roles, which must not import app code; a test keeps them equal.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SUPERVISORS: (
        "view_recording",
        "play_recording",
        "download_recording",
        "export_recordings",
        "request_deletion",
    ),
    QA_REVIEWERS: ("view_recording", "play_recording"),
    ADMINISTRATORS: (
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


def ensure_groups() -> None:
    """Create the role groups with exactly their permissions (idempotent).

    Migration 0002 does this on a new database; this serves databases that lost their rows
    (a flushed test database, a restored dump) and the demo seed.
    """
    from django.contrib.auth.models import Group, Permission

    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="recordings", codename__in=codenames
        )
        group.permissions.set(permissions)
