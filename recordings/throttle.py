"""Sign-in throttling, kept in the shared cache (Redis in production) with atomic counters.

Three limits, each answering a different attacker:

- one user name from one address: ``MAX_FAILURES_PER_PAIR`` failures lock that pair for the
  window. Someone guessing ``admin``'s password from their machine stops there, and the real
  admin, from another address, is not affected;
- one address, any user names: ``MAX_FAILURES_PER_IP`` failures lock the address (password
  spraying from one machine);
- one user name from many addresses: after ``SLOWDOWN_AFTER`` failures in the window, the
  name is slowed down, not locked out. Addresses where this user has not signed in before
  share one password check per delay (doubling up to ``MAX_DELAY_SECONDS``); an address
  where they signed in successfully (within ``KNOWN_ADDRESS_DAYS``) is exempt, so a botnet
  cannot keep the real user out from their usual place.

Refused attempts never reach the password check. Counters are created with ``add`` and
raised with ``incr`` (atomic on Redis), and an attempt reserves its place before the check,
so concurrent attempts on several instances cannot slip past a limit together.
"""

from __future__ import annotations

import math
import time
import unicodedata
from dataclasses import dataclass
from hashlib import sha256

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_PAIR = 5
MAX_FAILURES_PER_IP = 20
SLOWDOWN_AFTER = 10
MAX_DELAY_SECONDS = 5 * 60
KNOWN_ADDRESS_DAYS = 30


@dataclass(frozen=True, slots=True)
class LoginKeys:
    """The cache keys of one sign-in attempt: user name and address, never the password."""

    pair: str
    ip: str
    user: str
    slot: str
    known: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt was refused without checking its password, and for how long."""

    limit: str  # "pair", "address" or "slowdown"
    retry_after: int  # seconds


def client_ip(request: HttpRequest | None) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For behind trusted proxies.

    Without trusted proxies (``TRUSTED_PROXY_COUNT=0``) the header is ignored: anyone can
    send it, and a spoofed one must not move an attacker to a fresh throttle key.
    """
    if request is None:
        return ""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def normalised_username(username: str) -> str:
    """The name as counted: ``Admin``, ``ADMIN`` and ``ａｄｍｉｎ`` share their limits."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()[:150]


def login_keys(request: HttpRequest | None, username: str) -> LoginKeys:
    user = sha256(normalised_username(username).encode()).hexdigest()[:32]
    ip = sha256((client_ip(request) or "-").encode()).hexdigest()[:32]
    return LoginKeys(
        pair=f"login:pair:{user}:{ip}",
        ip=f"login:ip:{ip}",
        user=f"login:user:{user}",
        slot=f"login:slot:{user}",
        known=f"login:known:{user}:{ip}",
    )


def admit(keys: LoginKeys) -> Refusal | None:
    """Whether this attempt may have its password checked; None means yes.

    An admitted attempt holds a place in the pair's and the address's counters: call
    ``record_failure`` or ``record_success`` after the check.
    """
    now = time.time()
    counts = cache.get_many([keys.pair, keys.ip, keys.user, keys.known])
    if counts.get(keys.pair, 0) >= MAX_FAILURES_PER_PAIR:
        return Refusal("pair", _remaining(keys.pair, now))
    if counts.get(keys.ip, 0) >= MAX_FAILURES_PER_IP:
        return Refusal("address", _remaining(keys.ip, now))
    failures = int(counts.get(keys.user, 0))
    if failures >= SLOWDOWN_AFTER and not counts.get(keys.known):
        delay = delay_after(failures)
        # One check per delay for every address this user is not known at: the first to
        # take the slot (an atomic add) goes ahead, the others wait.
        if not cache.add(keys.slot, now + delay, timeout=delay):
            until = cache.get(keys.slot)
            wait = float(until) - now if isinstance(until, int | float) else delay
            return Refusal("slowdown", max(1, math.ceil(wait)))
    pair = _incr(keys.pair)
    address = _incr(keys.ip)
    if pair > MAX_FAILURES_PER_PAIR or address > MAX_FAILURES_PER_IP:
        # Another attempt took the last place while this one was on its way.
        _decr(keys.pair)
        _decr(keys.ip)
        limit = "pair" if pair > MAX_FAILURES_PER_PAIR else "address"
        return Refusal(limit, _remaining(keys.pair if limit == "pair" else keys.ip, now))
    return None


def delay_after(failures: int) -> int:
    """Seconds between password checks for a user name with this many failures."""
    if failures < SLOWDOWN_AFTER:
        return 0
    return int(min(MAX_DELAY_SECONDS, 2 ** min(failures - SLOWDOWN_AFTER, 16)))


def record_failure(keys: LoginKeys) -> None:
    """A wrong password: the pair and address keep their place; the user name counts one
    more failure, and its window restarts, so a slow, steady attack stays slowed down."""
    _incr(keys.user)
    cache.touch(keys.user, WINDOW_SECONDS)


def record_success(keys: LoginKeys) -> None:
    """A right password: the pair starts afresh, the address gives its place back, and this
    address becomes known for this user. The user name's failures stay: an attack from
    elsewhere does not end because the real user signed in."""
    cache.delete_many([keys.pair, f"{keys.pair}:t"])
    _decr(keys.ip)
    cache.set(keys.known, 1, timeout=KNOWN_ADDRESS_DAYS * 24 * 3600)


def _incr(key: str) -> int:
    """Raise a window counter by one, atomically; the window starts at the first count."""
    if cache.add(key, 0, timeout=WINDOW_SECONDS):
        cache.set(f"{key}:t", time.time(), timeout=WINDOW_SECONDS)
    try:
        value = int(cache.incr(key))
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        return 1
    if value == 1:
        # Redis' INCR creates a key without expiry if it vanished just before: a counter
        # that never expires would lock for ever.
        cache.touch(key, WINDOW_SECONDS)
    return value


def _decr(key: str) -> None:
    try:
        if int(cache.decr(key)) < 0:
            cache.set(key, 0, timeout=WINDOW_SECONDS)
    except ValueError:
        pass  # already expired


def _remaining(key: str, now: float) -> int:
    started = cache.get(f"{key}:t")
    if not isinstance(started, int | float):
        return WINDOW_SECONDS
    return max(1, math.ceil(started + WINDOW_SECONDS - now))
