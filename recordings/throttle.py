"""Sign-in throttling per user name and per client address, kept in the shared cache."""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20


@dataclass(frozen=True, slots=True)
class LoginKeys:
    user: str
    ip: str


def client_ip(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For behind trusted proxies."""
    if request is None:
        return ""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def login_keys(request: HttpRequest | None, username: str) -> LoginKeys:
    digest = sha256(username.casefold().encode()).hexdigest()[:32]
    return LoginKeys(user=f"login-fail:user:{digest}", ip=f"login-fail:ip:{client_ip(request)}")


def is_blocked(keys: LoginKeys) -> bool:
    counts = cache.get_many([keys.user, keys.ip])
    return (
        counts.get(keys.user, 0) >= MAX_FAILURES_PER_USER
        or counts.get(keys.ip, 0) >= MAX_FAILURES_PER_IP
    )


def record_failure(keys: LoginKeys) -> None:
    for key in (keys.user, keys.ip):
        # add() then incr(): atomic on Redis, so concurrent failures on several instances count.
        cache.add(key, 0, WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.set(key, 1, WINDOW_SECONDS)


def clear_user(keys: LoginKeys) -> None:
    cache.delete(keys.user)
