"""Attempts the sign-in throttle refused, into the audit log: every one counted, few rows.

A flood of refused attempts must not become a flood of audit rows (the table is
append-only: what an attacker writes there stays). So repeats are aggregated per user name,
address, limit and minute: the first refusal of a minute is an event at once, and a task
that runs once the minute is over adds one event with how many more there were. The
``attempts`` of all ``login_blocked`` events add up to every refused attempt.
"""

from __future__ import annotations

import datetime as dt
import time
from hashlib import sha256

from django.core.cache import cache
from django.http import HttpRequest
from django.tasks import task

from audit import services as audit
from recordings import throttle

BUCKET_SECONDS = 60
_KEEP_SECONDS = 2 * 24 * 3600  # a count waits this long for its task (a worker may be down)


def record_refusal(request: HttpRequest | None, username: str, refusal: throttle.Refusal) -> None:
    """Count an attempt refused before its password was checked, and audit it."""
    ip = throttle.client_ip(request)
    start = int(time.time()) // BUCKET_SECONDS * BUCKET_SECONDS
    name = throttle.normalised_username(username)
    digest = sha256(f"{name}\n{ip}\n{refusal.limit}".encode()).hexdigest()[:32]
    key = f"login:blocked:{digest}:{start}"
    cache.add(key, 0, timeout=_KEEP_SECONDS)
    try:
        count = int(cache.incr(key))  # atomic: exactly one attempt per minute counts 1
    except ValueError:  # evicted between add() and incr()
        cache.set(key, 1, timeout=_KEEP_SECONDS)
        count = 1
    if count > 1:
        return  # counted; the minute's task records it
    audit.record_event(
        action=audit.Action.LOGIN_BLOCKED,
        request=request,
        outcome="refused",
        details={
            "username": username[:150],
            "limit": refusal.limit,
            "retry_after": refusal.retry_after,
            "attempts": 1,
        },
    )
    user_agent = request.headers.get("User-Agent", "")[:300] if request is not None else ""
    record_repeated_refusals.using(
        run_after=dt.datetime.fromtimestamp(start + BUCKET_SECONDS + 1, tz=dt.UTC)
    ).enqueue(
        key=key,
        username=username[:150],
        ip=ip,
        user_agent=user_agent,
        limit=refusal.limit,
        minute=dt.datetime.fromtimestamp(start, tz=dt.UTC).isoformat(),
    )


@task()
def record_repeated_refusals(
    *, key: str, username: str, ip: str, user_agent: str, limit: str, minute: str
) -> int:
    """After the minute: one event for the refusals that came after its first. Returns how
    many it recorded."""
    count = cache.get(key)
    repeats = int(count) - 1 if isinstance(count, int) else 0
    if repeats > 0:
        audit.record_event(
            action=audit.Action.LOGIN_BLOCKED,
            request=_as_seen(ip, user_agent),
            outcome="refused",
            details={
                "username": username,
                "limit": limit,
                "attempts": repeats,
                "minute": minute,
                "aggregated": True,
            },
        )
    cache.delete(key)
    return max(repeats, 0)


def _as_seen(ip: str, user_agent: str) -> HttpRequest:
    """The refused requests' address and browser, as the audit log takes them from a request
    (the address already resolved: no forwarded header to read again)."""
    from django.contrib.auth.models import AnonymousUser

    request = HttpRequest()
    request.META = {"REMOTE_ADDR": ip, "HTTP_USER_AGENT": user_agent}
    request.user = AnonymousUser()
    return request
