"""The append-only, hash-chained event log: append and verify."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.models import AuditEvent, AuditHead, db
from engine.models.base import utcnow

GENESIS = "0" * 64


def case_stream(instance_id: int) -> str:
    """The stream name of a case's events."""
    return f"case:{instance_id}"


def _digest(
    stream: str, seq: int, at: datetime, actor: str, kind: str, task_name: str | None, payload_json: str, prev_hash: str
) -> str:
    material = json.dumps(
        [stream, seq, at.isoformat(), actor, kind, task_name, payload_json, prev_hash], ensure_ascii=False
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


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
        head = AuditHead(stream=stream, seq=0, hash=GENESIS)
        db.session.add(head)
    seq, prev_hash = head.seq + 1, head.hash
    at = utcnow()
    payload_json = json.dumps(payload or {}, ensure_ascii=False, sort_keys=True, default=str)
    event = AuditEvent(
        stream=stream,
        seq=seq,
        instance_id=instance_id,
        at=at,
        actor=actor,
        kind=kind,
        task_name=task_name,
        payload_json=payload_json,
        prev_hash=prev_hash,
        hash=_digest(stream, seq, at, actor, kind, task_name, payload_json, prev_hash),
    )
    db.session.add(event)
    head.seq, head.hash = seq, event.hash
    db.session.flush()  # a concurrent append to the same stream fails here on (stream, seq)
    return event


def verify(stream: str | None = None) -> list[str]:
    """Recompute every chain (or one) and list what does not match: edits, deletions, reordering."""
    query = select(AuditEvent).order_by(AuditEvent.stream, AuditEvent.seq)
    if stream:
        query = query.where(AuditEvent.stream == stream)
    found: list[str] = []
    expected_prev: dict[str, tuple[int, str]] = {}
    for event in db.session.execute(query).scalars():
        seq, prev = expected_prev.get(event.stream, (0, GENESIS))
        if event.seq != seq + 1:
            found.append(f"{event.stream}: peristiwa #{seq + 1} hilang (ditemukan #{event.seq})")
        if event.prev_hash != prev:
            found.append(f"{event.stream} #{event.seq}: rantai hash terputus")
        digest = _digest(
            event.stream,
            event.seq,
            event.at,
            event.actor,
            event.kind,
            event.task_name,
            event.payload_json,
            event.prev_hash,
        )
        if digest != event.hash:
            found.append(f"{event.stream} #{event.seq}: isi peristiwa telah diubah")
        expected_prev[event.stream] = (event.seq, event.hash)
    heads = select(AuditHead) if not stream else select(AuditHead).where(AuditHead.stream == stream)
    for head in db.session.execute(heads).scalars():
        last = expected_prev.pop(head.stream, (0, GENESIS))
        if last != (head.seq, head.hash):
            found.append(f"{head.stream}: peristiwa terakhir #{head.seq} hilang atau diganti")
    for orphan in expected_prev:
        found.append(f"{orphan}: aliran peristiwa tanpa kepala rantai")
    return found


def events_of_case(instance_id: int) -> list[AuditEvent]:
    """A case's events in order."""
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.stream == case_stream(instance_id)).order_by(AuditEvent.seq)
        ).scalars()
    )
