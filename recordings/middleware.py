"""Idle session expiry without a database write on every request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

REFRESH_EVERY_SECONDS = 60


class SessionIdleRefreshMiddleware:
    """Push a signed-in session's expiry forward at most once a minute.

    Sessions expire SESSION_COOKIE_AGE after they were last saved. Saving on every request
    (SESSION_SAVE_EVERY_REQUEST) would cost a database write per page and per audio Range
    request; refreshing once a minute keeps the idle limit to within a minute of the setting.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and session.get("_auth_user_id"):
            now = int(time.time())
            if now - int(session.get("_refreshed_at", 0)) >= REFRESH_EVERY_SECONDS:
                session["_refreshed_at"] = now  # marks it modified: saved with a new expiry
        return response


_REQUEST_ID_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class RequestIdMiddleware:
    """Give every request an id (the load balancer's X-Request-ID, or a new one).

    It is echoed in the response and stored with audit events, so a log line, an audit row
    and a user's report of "it failed at 14:02" can be tied together.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        if not (0 < len(incoming) <= 64 and set(incoming) <= _REQUEST_ID_OK):
            incoming = uuid.uuid4().hex
        request.request_id = incoming  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = incoming
        return response


class PrivatePagesMiddleware:
    """``Cache-Control: private, no-store`` on every HTML page a signed-in person sees.

    Pages list calls, phone numbers and names: no shared proxy and no browser back-forward
    cache or disk cache may keep them after sign-out. A response that already says how it
    may be cached (audio, peaks, exports) keeps its own header.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        is_html = response.get("Content-Type", "").startswith("text/html")
        signed_in = user is not None and user.is_authenticated
        if is_html and signed_in and "Cache-Control" not in response:
            response["Cache-Control"] = "private, no-store"
        return response


class DropUnstorableCookiesMiddleware:
    """Forget cookies holding a NUL byte (a quoted cookie may carry ``\\000``).

    Such a session id would reach the session table's query, and PostgreSQL refuses NUL in
    text with an error, not a miss: a 500 for anybody who sends one. Without the cookie the
    visitor is simply not signed in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in value for value in request.COOKIES.values()):
            request.COOKIES = {k: v for k, v in request.COOKIES.items() if "\x00" not in v}
        return self.get_response(request)
