"""The append-only event log: keyed chain links, the stream registry and the global sequence.

Design (see docs/audit.md):
- Each stream (a case, "system", ...) is a chain: an event's link (`hash`) is an HMAC-SHA256, under a key
  derived from the KEK (`audit_keys`), over the event and the previous link. Without the KEK nobody can
  recompute links, so an edit, a deletion or a re-chaining with plain SHA-256 or any other key shows.
- Appends to one stream are serialised by its AuditHead row (SELECT ... FOR UPDATE on PostgreSQL); appends
  to different streams do not wait for each other.
- Every event carries a global sequence `gseq` (a PostgreSQL SEQUENCE: no row lock, numbers may have gaps
  after a rollback; on SQLite, whose writers are serialised by the database, max + 1), covered by its MAC:
  it orders events across streams and must grow along each chain.
- The first event of a new stream first appends "stream_opened" to the REGISTRY stream, so verify knows
  every stream that must exist; only opening a stream (once per case) waits on the registry head.
- Anchors (`audit_anchor`) timestamp and seal the heads that moved, so a truncated tail or a deleted
  stream is found even when the attacker also rewrites the head rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from engine.models import AuditEvent, AuditHead, db
from engine.models.base import utcnow
from engine.models.records import AUDIT_GSEQ
from engine.services import audit_keys

GENESIS = "0" * 64
REGISTRY = "registry"
ANCHORS = "anchor"


def case_stream(instance_id: int) -> str:
    """The stream name of a case's events."""
    return f"case:{instance_id}"


def material(event: AuditEvent, seq: int | None = None) -> bytes:
    """The bytes an event's link covers (with another `seq` to test whether a pair was swapped)."""
    fields = [
        event.stream,
        event.seq if seq is None else seq,
        event.gseq,
        event.at.isoformat(),
        event.actor,
        event.kind,
        event.task_name,
        event.payload_json,
        event.prev_hash,
        event.key_id,
    ]
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")


def link(event: AuditEvent, mac_key: bytes, seq: int | None = None) -> str:
    """The keyed link of an event: HMAC-SHA256 over its material."""
    return hmac.new(mac_key, material(event, seq), hashlib.sha256).hexdigest()


def plain_digest(event: AuditEvent) -> str:
    """What a forger without the key would compute: SHA-256 over the same material."""
    return hashlib.sha256(material(event)).hexdigest()


def _next_gseq() -> int:
    """The next global sequence number (see the module docstring for why this is safe on both databases)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return int(db.session.execute(select(AUDIT_GSEQ.next_value())).scalar_one())
    # Write first (the head row the caller just moved): SQLite then holds its single writer lock, so the
    # max read below is current and no other transaction can take the same number before we commit.
    db.session.flush()
    return int(db.session.execute(select(func.coalesce(func.max(AuditEvent.gseq), 0))).scalar_one()) + 1


def append(
    stream: str,
    kind: str,
    actor: str,
    payload: dict[str, Any] | None = None,
    instance_id: int | None = None,
    task_name: str | None = None,
) -> AuditEvent:
    """Append an event to `stream`; the caller's transaction commits it with the change it records."""
    head = db.session.get(AuditHead, stream, with_for_update=True)
    if head is None:
        if stream != REGISTRY:
            append(REGISTRY, "stream_opened", actor, {"stream": stream})
        head = AuditHead(stream=stream, seq=0, hash=GENESIS, anchored_seq=0)
        db.session.add(head)
    kid, mac_key = audit_keys.current()
    seq, prev_hash = head.seq + 1, head.hash
    head.seq = seq  # claim the position before numbering it (see _next_gseq)
    event = AuditEvent(
        stream=stream,
        seq=seq,
        gseq=_next_gseq(),
        key_id=kid,
        instance_id=instance_id,
        at=utcnow(),
        actor=actor,
        kind=kind,
        task_name=task_name,
        payload_json=json.dumps(payload or {}, ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=prev_hash,
    )
    event.hash = link(event, mac_key)
    db.session.add(event)
    head.hash = event.hash
    db.session.flush()  # a concurrent append to the same stream fails here on (stream, seq)
    return event


def events_of_case(instance_id: int) -> list[AuditEvent]:
    """A case's events in order."""
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.stream == case_stream(instance_id)).order_by(AuditEvent.seq)
        ).scalars()
    )


def describe_time(moment: datetime | None) -> str:
    """A stored (UTC) time as verify reports show it: in WIB, as people in Pekalongan read times."""
    if moment is None:
        return "waktu tidak diketahui"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(timezone(timedelta(hours=7))).strftime("%Y-%m-%d %H:%M:%S WIB")
