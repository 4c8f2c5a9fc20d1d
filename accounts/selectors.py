"""Reading users and access changes: which a manager may see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from accounts import roles
from accounts.models import AccessChange
from audit import services as audit
from audit.models import AuditEvent
from recordings.models import User


def visible_users(actor: User) -> QuerySet[User]:
    """Every user, or those of the manager's subscriber when they are limited to one."""
    users = User.objects.prefetch_related("groups").order_by("username")
    if actor.customer_id is not None:
        users = users.filter(customer_id=actor.customer_id)
    return users


def visible_changes(actor: User) -> QuerySet[AccessChange]:
    changes = AccessChange.objects.select_related("target", "requested_by", "decided_by")
    if actor.customer_id is not None:
        changes = changes.filter(target__customer_id=actor.customer_id)
    return changes


def pending_access_count(user: User | AnonymousUser) -> int:
    """Pending changes this manager could decide (for the navigation badge)."""
    if not isinstance(user, User) or not user.has_perm(roles.MANAGE_ACCESS):
        return 0
    return (
        visible_changes(user)
        .filter(status=AccessChange.Status.PENDING, expires_at__gt=timezone.now())
        .exclude(requested_by=user)
        .exclude(target=user)
        .count()
    )


def user_history(target: User, actor: User, limit: int = 50) -> QuerySet[AuditEvent]:
    """The audit events about a user (created, changed, password set, access changes) that
    ``actor`` may read: a manager limited to one subscriber does not see what happened to
    the user while they belonged to another."""
    events = audit.visible_events(actor).filter(details__target_id=target.pk)
    return events.order_by("-seq")[:limit]
