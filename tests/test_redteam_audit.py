"""Red team on the audit chain: a verification that says "intact" must mean it."""

from __future__ import annotations

import shutil
from typing import Any

from django.conf import settings

from audit import chain
from audit import services as audit
from audit.models import AuditEvent
from tests.test_audit_integrity import _edit_event_30, _rechain_from, _verify


def _unkeyed(event: AuditEvent) -> str:
    event.key_id = chain.LEGACY_KEY_ID
    return chain.event_mac(event)  # plain SHA-256: anyone can compute it


def test_a_whole_chain_rewritten_unkeyed_is_not_intact_where_no_checkpoint_is_read(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    """Before: the owner of the table edited event #30 and rechained every event from #1 as
    the first, unkeyed chain; ``audit_verify`` on a host that does not see the checkpoint
    directory (or one where it was never written) said "intact"."""
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(1, 41):
            audit.record_event(action=audit.Action.PLAY, record_ids=[n], details={"n": n})
    assert _verify() == "intact"
    _edit_event_30()
    _rechain_from(1, _unkeyed)
    assert "differs from its signed checkpoint" in _verify(), "caught where checkpoints are"
    shutil.rmtree(settings.AUDIT_CHECKPOINT_DIR)
    message = _verify()
    assert message.startswith("audit chain broken"), message
    assert "no signed checkpoint" in message


def test_a_short_chain_before_its_first_checkpoint_still_verifies(db: None, settings: Any) -> None:
    settings.AUDIT_CHECKPOINT_EVERY = 10
    for n in range(1, 10):
        audit.record_event(action=audit.Action.PLAY, record_ids=[n])
    assert _verify() == "intact"
