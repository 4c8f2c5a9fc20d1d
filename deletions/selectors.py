"""Reading deletion requests: which a user may see, and how many wait for them."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from deletions.models import DeletionRequest
from recordings import access
from recordings.models import User


def visible_requests(user: User) -> QuerySet[DeletionRequest]:
    """Approvers see every request of their scope; others only their own."""
    queryset = DeletionRequest.objects.select_related("requested_by", "decided_by")
    scope = access.scope_of(user)
    if scope is not None:
        queryset = queryset.filter(customer_id=scope)
    if not user.has_perm("recordings.approve_deletion"):
        queryset = queryset.filter(requested_by_id=user.pk)
    return queryset


def pending_count(user: User | AnonymousUser) -> int:
    """Pending requests an approver could act on (for the navigation badge)."""
    if not isinstance(user, User) or not user.has_perm("recordings.approve_deletion"):
        return 0
    return (
        visible_requests(user)
        .filter(status=DeletionRequest.Status.PENDING)
        .exclude(requested_by=user)
        .exclude(expires_at__lte=timezone.now())
        .count()
    )
