"""The audit chain's tamper evidence: keyed MACs, signed checkpoints outside the database,
and verification from one consistent snapshot.

Each event's MAC is HMAC-SHA256 over the previous event's MAC and the event's canonical
content, keyed with ``AUDIT_HMAC_KEY``. The key lives in the environment, never in the
database, so someone who holds only the database can delete or edit rows but cannot make a
chain that verifies. Deleting the newest rows (and moving the head back) leaves a chain that
is valid as far as it goes; the signed checkpoints, appended to files in
``AUDIT_CHECKPOINT_DIR`` and logged for a SIEM, say how far it went.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
LEGACY_KEY_ID = ""  # the first events, chained with plain SHA-256 before keys existed
checkpoint_log = logging.getLogger("audit.checkpoint")
logger = logging.getLogger(__name__)


def current_key_id() -> str:
    return str(settings.AUDIT_HMAC_KEY_ID)


def _keys() -> dict[str, bytes]:
    keys = {k: v.encode() for k, v in settings.AUDIT_HMAC_OLD_KEYS.items()}
    keys[current_key_id()] = str(settings.AUDIT_HMAC_KEY).encode()
    return keys


def key(key_id: str) -> bytes | None:
    """The key named ``key_id``, current or retired; None if this server does not hold it."""
    return _keys().get(key_id)


class UnknownKey(Exception):
    """An event or checkpoint names a key this server does not hold."""


def canonical_content(event: AuditEvent) -> str:
    """The event's content as signed: every recorded field, in a fixed JSON form."""
    created = event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    content: dict[str, Any] = {
        "seq": event.seq,
        "created_at": created,
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "record_ids": list(event.record_ids),
        "customer_id": event.customer_id,
        "details": event.details,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "outcome": event.outcome,
    }
    if event.key_id != LEGACY_KEY_ID:
        content["key_id"] = event.key_id
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_mac(event: AuditEvent) -> str:
    """The event's MAC over the previous MAC and its content, with the key it names."""
    message = f"{event.prev_hash}\n{canonical_content(event)}".encode()
    if event.key_id == LEGACY_KEY_ID:
        return hashlib.sha256(message).hexdigest()
    key = _keys().get(event.key_id)
    if key is None:
        raise UnknownKey(event.key_id)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def authentic(event: Any) -> bool:
    """Whether ``event``'s keyed MAC is right (never true for the unkeyed legacy chain)."""
    if event.key_id == LEGACY_KEY_ID:
        return False
    try:
        return hmac.compare_digest(event_mac(event), event.hash)
    except UnknownKey:
        return False


# --- checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    mac: str

    def signed_text(self) -> str:
        return f"audit-checkpoint\n{self.seq}\n{self.hash}\n{self.at}\n{self.key_id}"

    def is_authentic(self) -> bool:
        key = _keys().get(self.key_id)
        if key is None:
            return False
        expected = hmac.new(key, self.signed_text().encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.mac)


def _sign(seq: int, head: str) -> Checkpoint:
    unsigned = Checkpoint(
        seq=seq,
        hash=head,
        at=timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds"),
        key_id=current_key_id(),
        mac="",
    )
    key = _keys()[unsigned.key_id]
    mac = hmac.new(key, unsigned.signed_text().encode(), hashlib.sha256).hexdigest()
    return Checkpoint(unsigned.seq, unsigned.hash, unsigned.at, unsigned.key_id, mac)


def write_checkpoint(seq: int, head: str) -> Checkpoint:
    """Append a signed checkpoint to today's file and to the log. Called after commit.

    One line per checkpoint, appended with O_APPEND: writers of several processes never
    overwrite each other. A failure to write is logged and does not undo the event.
    """
    checkpoint = _sign(seq, head)
    line = json.dumps(
        {
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "at": checkpoint.at,
            "key_id": checkpoint.key_id,
            "mac": checkpoint.mac,
        },
        separators=(",", ":"),
    )
    checkpoint_log.info("audit checkpoint %s", line)
    directory = Path(settings.AUDIT_CHECKPOINT_DIR)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"checkpoints-{checkpoint.at[:10]}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:
        logger.error("audit checkpoint #%s not written to %s: %s", seq, directory, exc)
    return checkpoint


def read_checkpoints() -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint line in AUDIT_CHECKPOINT_DIR, and the lines that are not checkpoints."""
    found: list[Checkpoint] = []
    unreadable: list[str] = []
    directory = Path(settings.AUDIT_CHECKPOINT_DIR)
    if not directory.is_dir():
        return found, unreadable
    for path in sorted(directory.glob("checkpoints-*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                found.append(
                    Checkpoint(
                        seq=int(data["seq"]),
                        hash=str(data["hash"]),
                        at=str(data["at"]),
                        key_id=str(data["key_id"]),
                        mac=str(data["mac"]),
                    )
                )
            except (ValueError, KeyError, TypeError):
                unreadable.append(f"{path.name}:{number}")
    return found, unreadable


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainBreak:
    event_id: int | None
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Verification:
    checked: int
    checkpoints: int
    broken: ChainBreak | None


def verify_chain(batch: int = 2000) -> Verification:
    """Walk the chain from one snapshot and hold it against the checkpoints.

    Checkpoints are read first: each names an event that had committed before the snapshot
    began, so a writer running meanwhile never causes a false alarm.
    """
    checkpoints, unreadable = read_checkpoints()
    if unreadable:
        return Verification(
            0, len(checkpoints), ChainBreak(None, 0, f"unreadable checkpoint: {unreadable[0]}")
        )
    forged = [c for c in checkpoints if not c.is_authentic()]
    if forged:
        return Verification(
            0,
            len(checkpoints),
            ChainBreak(None, forged[0].seq, "a checkpoint's signature does not match (forged?)"),
        )
    expected = {c.seq: c.hash for c in checkpoints}
    newest_checkpoint = max(expected, default=0)
    return _walk(batch, expected, newest_checkpoint, len(checkpoints))


def _walk(
    batch: int, expected: dict[int, str], newest_checkpoint: int, checkpoint_count: int
) -> Verification:
    """The head, then every event up to it, read in one transaction and one snapshot.

    On PostgreSQL the transaction is REPEATABLE READ, so writers that commit meanwhile are
    invisible to it (no false "missing events"); SQLite's read transaction is a snapshot too.
    """
    previous, next_seq, checked, keyed = GENESIS, 1, 0, False

    def broken(event_id: int | None, seq: int, reason: str) -> Verification:
        return Verification(checked, checkpoint_count, ChainBreak(event_id, seq, reason))

    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        head = AuditChainHead.objects.filter(pk=1).first()
        for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=batch):
            if event.seq != next_seq:
                return broken(
                    event.pk, next_seq, f"event #{next_seq} is missing (next is #{event.seq})"
                )
            if event.prev_hash != previous:
                return broken(event.pk, event.seq, "does not follow the event before it")
            if event.key_id == LEGACY_KEY_ID and keyed:
                return broken(event.pk, event.seq, "an unkeyed event after keyed events")
            try:
                mac = event_mac(event)
            except UnknownKey:
                return broken(event.pk, event.seq, f"signed with unknown key {event.key_id!r}")
            if not hmac.compare_digest(mac, event.hash):
                return broken(event.pk, event.seq, "content does not match its MAC")
            if event.seq in expected and expected[event.seq] != event.hash:
                return broken(event.pk, event.seq, "differs from its signed checkpoint")
            keyed = keyed or event.key_id != LEGACY_KEY_ID
            previous, next_seq, checked = event.hash, event.seq + 1, checked + 1
    last = next_seq - 1
    if newest_checkpoint > last:
        return broken(
            None,
            last + 1,
            f"events #{last + 1} to #{newest_checkpoint} are missing: a signed checkpoint "
            f"saw #{newest_checkpoint}",
        )
    if head is not None and (head.seq, head.hash) != (last, previous):
        return broken(None, head.seq, f"the head says #{head.seq}, the newest event is #{last}")
    if checkpoint_count == 0 and last >= settings.AUDIT_CHECKPOINT_EVERY:
        # Without a checkpoint, the whole chain rewritten as the first, unkeyed SHA-256 chain
        # verifies, and so does a chain cut short: no checkpoint is not "intact".
        return broken(
            None,
            last,
            f"no signed checkpoint in {settings.AUDIT_CHECKPOINT_DIR}, yet {last} event(s) "
            "should have written one: the chain cannot be vouched for (wrong directory?)",
        )
    return Verification(checked, checkpoint_count, None)
