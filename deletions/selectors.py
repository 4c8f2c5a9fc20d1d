"""Reading deletion requests: which a user may see, and how many wait for them."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest
from index import selectors as index_selectors
from recordings import access
from recordings.models import User
from recordings.scope import Scope


def visible_requests(user: User) -> QuerySet[DeletionRequest]:
    """Approvers see every request their scope covers; others only their own."""
    queryset = DeletionRequest.objects.select_related("requested_by", "decided_by")
    scope = access.scope_of(user)
    if scope.customer_id is not None:
        queryset = queryset.filter(customer_id=scope.customer_id)
    if not user.has_perm("recordings.approve_deletion"):
        queryset = queryset.filter(requested_by_id=user.pk)
    if scope.extensions is not None:
        # Which extension sets lie within the user's is set arithmetic, not SQL: decided
        # over the few requests that carry one.
        candidates = queryset.exclude(extensions="").values_list("pk", "customer_id", "extensions")
        covered = [
            pk for pk, customer_id, text in candidates if scope.covers(Scope.of(customer_id, text))
        ]
        queryset = queryset.filter(pk__in=covered)
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


def deletion_of_record(*, record_id: int, scope: Scope) -> DeletionItem | None:
    """The item that deleted this recording through a request (or found it already gone),
    if any, for a reader of ``scope``: the recording page says so instead of offering a
    player for a file that no longer exists."""
    items = DeletionItem.objects.select_related("request").filter(
        record_id=record_id,
        outcome__in=[DeletionItem.Outcome.DELETED, DeletionItem.Outcome.ABSENT],
    )
    if scope.customer_id is not None:
        items = items.filter(request__customer_id=scope.customer_id)
    if scope.extensions is not None and not index_selectors.visible_ids(
        scope, [record_id], include_gone=True
    ):
        return None  # not this team's call: the page answers 404, as for any hidden id
    return items.order_by("-updated_at").first()
