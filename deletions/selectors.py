"""Reading deletion requests: which a user may see, and how many wait for them."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest
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


def deletion_of_record(*, record_id: int, scope: int | None) -> DeletionItem | None:
    """The item that deleted this recording through a request (or found it already gone),
    if any, for a reader of ``scope``: the recording page says so instead of offering a
    player for a file that no longer exists."""
    items = DeletionItem.objects.select_related("request").filter(
        record_id=record_id,
        outcome__in=[DeletionItem.Outcome.DELETED, DeletionItem.Outcome.ABSENT],
    )
    if scope is not None:
        items = items.filter(request__customer_id=scope)
    return items.order_by("-updated_at").first()
