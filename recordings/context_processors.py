from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The pending-approvals badge in the navigation, for approvers."""
    if getattr(request, "htmx", False):
        return {}
    from deletions.selectors import pending_count

    return {"pending_approvals": pending_count(request.user)}
