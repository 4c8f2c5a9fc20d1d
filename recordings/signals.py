"""Sign-in events into the audit log, and the time of sign-in for step-up checks."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest

from audit import services as audit

AUTH_AT = "auth_at"


def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    request.session[AUTH_AT] = time.time()
    audit.record_event(action=audit.Action.LOGIN, request=request, actor=user)


def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    audit.record_event(
        action=audit.Action.LOGIN_FAILED,
        request=request,
        outcome="refused",
        details={"username": str(credentials.get("username", ""))[:150]},
    )


def _logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record_event(action=audit.Action.LOGOUT, request=request, actor=user)


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="recordings.audit.login")
    user_login_failed.connect(_login_failed, dispatch_uid="recordings.audit.login_failed")
    user_logged_out.connect(_logged_out, dispatch_uid="recordings.audit.logout")


def auth_age_seconds(request: HttpRequest) -> float | None:
    """Seconds since this session signed in with a password, or None if unknown."""
    at = request.session.get(AUTH_AT)
    return time.time() - float(at) if at else None
