"""Reading users and access changes: which a manager may see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from accounts import roles
from accounts.models import AccessChange
from audit import services as audit
from audit.models import AuditEvent
from recordings import access
from recordings.models import User
from recordings.scope import Scope


def visible_users(actor: User) -> QuerySet[User]:
    """Every user, or, for a manager limited to a subscriber or to extensions, those whose
    whole reach lies within the manager's."""
    users = User.objects.prefetch_related("groups").order_by("username")
    if actor.customer_id is not None:
        users = users.filter(customer_id=actor.customer_id)
    scope = access.scope_of(actor)
    if scope.extensions is not None:
        # Set arithmetic, not SQL: decided over the users limited to extensions at all.
        candidates = users.exclude(extensions="").values_list("pk", "customer_id", "extensions")
        within = [
            pk for pk, customer_id, text in candidates if scope.covers(Scope.of(customer_id, text))
        ]
        users = users.filter(pk__in=within)
    return users


def visible_changes(actor: User) -> QuerySet[AccessChange]:
    changes = AccessChange.objects.select_related("target", "requested_by", "decided_by")
    if actor.customer_id is not None:
        changes = changes.filter(target__customer_id=actor.customer_id)
    if access.scope_of(actor).extensions is not None:
        changes = changes.filter(target__in=visible_users(actor))
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
    ``actor`` may read: a manager limited to one subscriber (or to extensions) does not see
    what happened to the user while they belonged to another (or to another team)."""
    events = audit.visible_events(actor).filter(details__target_id=target.pk)
    return events.order_by("-seq")[:limit]
