from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The pending-approvals badges in the navigation, for approvers and access managers,
    and the links whose pages hold more than a permission (retention: no team scope)."""
    if getattr(request, "htmx", False):
        return {}
    from accounts.selectors import pending_access_count
    from deletions.selectors import pending_count
    from retention.services import can_manage as manages_retention

    return {
        "pending_approvals": pending_count(request.user),
        "pending_access": pending_access_count(request.user),
        "manages_retention": manages_retention(request.user),
    }
