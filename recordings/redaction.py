"""Keeps the Vono token and key out of logs, error reports and pages.

Both sit in the path of every upstream URL, so any line that shows a URL would show them:
urllib3's debug log, a requests exception, a local variable in a traceback. And the upstream
itself may say them back: any text it sends (an error's ``reason``, a body) is untrusted and
goes through ``upstream_text`` before anything else sees it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

MASK = "********"


@cache
def _secrets(token: str, key: str) -> tuple[str, ...]:
    values = {token, key, quote(token, safe=""), quote(key, safe="")}
    # Longest first, so a secret that contains another is masked whole.
    return tuple(sorted((v for v in values if len(v) >= 4), key=len, reverse=True))


def secrets() -> tuple[str, ...]:
    """The strings that must never leave the server: the token and key, raw and quoted."""
    if not settings.configured:
        return ()
    token = getattr(settings, "VONO_API_TOKEN", "") or ""
    key = getattr(settings, "VONO_API_KEY", "") or ""
    return _secrets(token, key)


def redact(text: str) -> str:
    """Replace every secret in ``text`` with a mask."""
    for secret in secrets():
        if secret in text:
            text = text.replace(secret, MASK)
    return text


URL_MASK = "[URL]"
UPSTREAM_TEXT_LIMIT = 300
# Any URL with a scheme, up to the first space or quote...
_URL = re.compile(r"""(?i)\b[a-z][a-z0-9+.-]{1,15}://[^\s"'<>`]*""")
# ...and anything shaped like the upstream's credentialled path, with or without a host:
# ``/api/recording/TOKEN/KEY``, ``pbx.example/recording/T/K?ids[]=1``.
_UPSTREAM_PATH = re.compile(r"""(?i)[^\s"'<>`]*/recording/+[^\s"'<>`]*""")
_SPACES = re.compile(r"\s+")


@cache
def _secret_pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    # Case-insensitive: an upstream may echo a quoted token with %2f for %2F, or upper-case it.
    return re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE) if values else None


def _visible(char: str) -> str:
    category = unicodedata.category(char)
    if category in ("Cc", "Zl", "Zp"):
        return " "  # newlines, tabs, escapes: one line of plain text
    if category[0] == "C":
        return ""  # bidi overrides, zero-width joiners: they hide or reorder what is shown
    return char


def upstream_text(value: Any, *, limit: int = UPSTREAM_TEXT_LIMIT) -> str:
    """Any text the upstream sent, made safe to show, log and store.

    Control and format characters go first (so a zero-width space cannot split a secret and
    slip past the mask), then the token and key are masked, every URL and anything shaped
    like the upstream's credentialled path is replaced, whitespace is collapsed and the
    result is cut at ``limit`` characters.
    """
    text = "" if value is None else str(value)
    if not text.isprintable():
        text = "".join(_visible(c) for c in text)
    pattern = _secret_pattern(secrets())
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if "/" in text:
        text = _URL.sub(URL_MASK, text)
        text = _UPSTREAM_PATH.sub(URL_MASK, text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask secrets in a log record's message and traceback, in place."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is logging's problem, not ours
        return record
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactSecretsFilter(logging.Filter):
    """A logging filter for handlers: masks the Vono token and key, drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False


def install_record_redaction() -> None:
    """Mask secrets when any log record is created, whichever logger or handler sees it.

    A filter on a handler only runs for that handler; urllib3's records reach pytest's
    capture, Sentry-style handlers and others too. Wrapping the record factory covers all.
    """
    global _installed
    if _installed:
        return
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's error pages and e-mails, with the token and key masked in frame variables."""

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, _redact_value(value)) for name, value in variables]


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break the error report
        return value
    cleaned = redact(text)
    return cleaned if cleaned != text else value
