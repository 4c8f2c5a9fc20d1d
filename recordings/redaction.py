"""Keeps the Vono token and key out of logs and error reports.

Both sit in the path of every upstream URL, so any line that shows a URL would show them:
urllib3's debug log, a requests exception, a local variable in a traceback.
"""

from __future__ import annotations

import logging
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
