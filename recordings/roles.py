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
    ),
}
