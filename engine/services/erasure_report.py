"""What the retention job erased, for the data-protection officer (Admin, Auditor): /admin/retensi.

The erasures are the `document_erased` events on the cases' streams (retention.erase_expired appends one per
document in the transaction that erases it), so the report is the audit log itself, never a copy that could
disagree with it. They are read newest first through a partial index on those events (migration 0006_erasures):
at 3.7 million events a scan by kind would read them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from engine.models import AuditEvent, db
from engine.services.queries import PAGE_SIZE, Page

# The event kinds of an erasure; the partial index ix_audit_events_erasures covers exactly these.
ERASURE_KINDS = ("document_erased",)
# Who ran the erasure, as the report names them (retention.erase_expired's `actor`).
ACTORS = {"penjadwal": "Penjadwal (otomatis)", "cli": "Perintah `sertel retention run`"}
# Literal SQL, the very predicate of the partial index: a bound parameter would not let the planner use it.
ERASURE_PREDICATE = "kind IN (" + ", ".join(f"'{kind}'" for kind in ERASURE_KINDS) + ")"
_IS_ERASURE = text(f"audit_events.{ERASURE_PREDICATE}")


@dataclass(frozen=True)
class ErasureRow:
    """One erased document as the report shows it."""

    gseq: int
    at: datetime
    actor: str
    case_id: int | None
    document_id: Any
    filename: str
    kind: str
    outcome: str
    kept_until: str
    sha256: str


def erasures(before: int | None = None, per_page: int = PAGE_SIZE) -> Page:
    """One keyset page of erasures, newest first; `before` is the global sequence the previous page ended at."""
    query = select(AuditEvent).where(_IS_ERASURE).order_by(AuditEvent.gseq.desc()).limit(per_page + 1)
    if before is not None:
        query = query.where(AuditEvent.gseq < before)
    rows = [_row(event) for event in db.session.execute(query).scalars()]
    if len(rows) > per_page:
        return Page(rows[:per_page], rows[per_page - 1].gseq)
    return Page(rows)


def summary() -> dict[str, Any]:
    """How many documents were erased in all, and when the newest erasure was."""
    count, newest = db.session.execute(select(func.count(), func.max(AuditEvent.at)).where(_IS_ERASURE)).one()
    return {"count": int(count or 0), "newest": newest}


def _row(event: AuditEvent) -> ErasureRow:
    payload = json.loads(event.payload_json or "{}")
    return ErasureRow(
        gseq=event.gseq,
        at=event.at,
        actor=event.actor,
        case_id=event.instance_id,
        document_id=payload.get("document_id"),
        filename=str(payload.get("filename") or ""),
        kind=str(payload.get("kind") or ""),
        outcome=str(payload.get("outcome") or ""),
        kept_until=str(payload.get("kept_until") or ""),
        sha256=str(payload.get("sha256") or ""),
    )
