"""Roles as the access pages show them: in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from accounts import roles

register = template.Library()


@register.filter
def role(name: str) -> str:
    """One group's name in the reader's language."""
    return roles.role_label(name)


@register.filter(name="roles")
def role_list(names: Iterable[str]) -> str:
    """Group names in the reader's language, in the order given, joined by commas."""
    return ", ".join(roles.role_label(name) for name in names)
