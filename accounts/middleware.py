"""A user whose password someone else set chooses their own before anything else."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

# Reachable while a new password is due: the form itself, signing out, and the language.
_ALLOWED_NAMES = ("password_change", "logout", "set_language", "healthz")


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "must_change_password", False):
            allowed = {reverse(name) for name in _ALLOWED_NAMES}
            if request.path not in allowed and not request.path.startswith("/static/"):
                return redirect(f"{reverse('password_change')}?next={request.path}")
        return self.get_response(request)
