"""Request types for views: what the middleware and the login check guarantee."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from recordings.models import User


class AuthedRequest(HttpRequest):
    """A request behind ``login_required``: its user is a signed-in portal user."""

    user: User
    htmx: HtmxDetails
