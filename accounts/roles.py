"""The portal's roles: groups and the permissions each one holds.

Permissions are named ``app_label.codename``. Two of them are privileged: granting a role
that carries one takes a second access manager's approval (accounts.services).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

SUPERVISORS = "Supervisores"
QA_REVIEWERS = "Revisores de QA"
ADMINISTRATORS = "Administradores"
ACCESS_MANAGERS = "Gestores de acesso"
QA_COORDINATORS = "Coordenadores de QA"
DATA_PROTECTION_OFFICERS = "Encarregado de dados (DPO)"

# The groups' names are data (a migration made them, in Portuguese); pages show these.
ROLE_LABELS = {
    SUPERVISORS: _("Supervisores"),
    QA_REVIEWERS: _("Revisores de QA"),
    ADMINISTRATORS: _("Administradores"),
    ACCESS_MANAGERS: _("Gestores de acesso"),
    QA_COORDINATORS: _("Coordenadores de QA"),
    DATA_PROTECTION_OFFICERS: _("Encarregado de dados (DPO)"),
}


def role_label(name: str) -> str:
    """A group's name in the reader's language (a group the portal does not know: as named)."""
    label = ROLE_LABELS.get(name)
    return str(label) if label is not None else name


APPROVE_DELETION = "recordings.approve_deletion"
MANAGE_ACCESS = "accounts.manage_access"
# Approving a retention policy deletes recordings every day: as privileged as a deletion.
MANAGE_RETENTION = "retention.manage_retention"
PRIVILEGED = frozenset({APPROVE_DELETION, MANAGE_ACCESS, MANAGE_RETENTION})

# Mirrors what the migrations set, which must not import app code: the newest accounts
# migration with a full ROLE_PERMISSIONS table (0003_index_role), then each app's additive role
# migration with a ROLE_ADDITIONS table (e.g. reports/migrations/000N_roles.py: get_or_create
# the group, add exactly those permissions; its reverse removes them). A test keeps them equal.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SUPERVISORS: (
        "recordings.view_recording",
        "recordings.play_recording",
        "recordings.download_recording",
        "recordings.export_recordings",
        "recordings.request_deletion",
        "qa.annotate_recording",
        "qa.build_queue",
        "qa.view_qa_reports",
        "reports.view_reports",
    ),
    QA_REVIEWERS: (
        "recordings.view_recording",
        "recordings.play_recording",
        "qa.annotate_recording",
        "qa.evaluate_recording",
    ),
    ADMINISTRATORS: (
        "recordings.view_recording",
        "recordings.play_recording",
        "recordings.download_recording",
        "recordings.export_recordings",
        "recordings.request_deletion",
        "recordings.approve_deletion",
        "recordings.view_audit_log",
        "index.view_index",
        "retention.manage_retention",
        "qa.view_qa_reports",
        "reports.view_reports",
        "privacy.view_privacy_report",
    ),
    # Managing users is its own role: nobody who approves deletions also makes approvers.
    ACCESS_MANAGERS: ("accounts.manage_access", "recordings.view_audit_log"),
    # Defines the evaluation forms, reopens evaluations, builds queues (qa/migrations/0003).
    QA_COORDINATORS: (
        "recordings.view_recording",
        "recordings.play_recording",
        "qa.annotate_recording",
        "qa.evaluate_recording",
        "qa.manage_forms",
        "qa.build_queue",
        "qa.view_qa_reports",
    ),
    # The LGPD access report by number, and nothing else (privacy/migrations/0002_dpo_role).
    DATA_PROTECTION_OFFICERS: ("privacy.view_privacy_report",),
}


def privileged_permissions(group_names: set[str] | frozenset[str]) -> set[str]:
    """The privileged permissions the named roles carry together."""
    held = {perm for name in group_names for perm in ROLE_PERMISSIONS.get(name, ())}
    return held & PRIVILEGED


def ensure_groups() -> None:
    """Create the role groups with exactly their permissions (idempotent).

    The migrations do this on a new database; this serves databases that lost their rows
    (a flushed test database, a restored dump) and the demo seed.
    """
    from django.contrib.auth.models import Group, Permission

    for name, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, _, codename in (perm.partition(".") for perm in perms)
        ]
        group.permissions.set(permissions)
