"""Deploy checks for the audit log's protections."""

from __future__ import annotations


def register() -> None:
    pass
