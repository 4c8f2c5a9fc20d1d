"""Step-up: an irreversible or reach-widening decision wants a recent password."""

from __future__ import annotations

from django.conf import settings


def needs_step_up(auth_age_seconds: float | None) -> bool:
    """Whether a sign-in this old (None: unknown) must confirm the password again."""
    return auth_age_seconds is None or auth_age_seconds > settings.DELETION_STEP_UP_MINUTES * 60
