"""The security log: anonymous requests (public validation, failed logins), rate-limited per source.

It is kept apart from the audit chain on purpose: anyone on the internet can cause these rows, so they
must neither grow the case log nor contend for the audit chain's locks. Each source (client IP) gets at
most SECURITY_LOG_PER_MINUTE ordinary rows a minute; beyond that a single counter row per source and
minute counts the rest, so a flood costs one row per source and minute.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from engine.models import SecurityEvent, db
from engine.models.base import utcnow
from engine.services.runtime_context import settings

RATE_LIMITED = "rate_limited"


def record(kind: str, source: str, detail: dict[str, Any] | None = None) -> None:
    """Record an anonymous request from `source`; the caller commits."""
    now = utcnow()
    minute, source = now.strftime("%Y-%m-%dT%H:%M"), (source or "?")[:64]
    limit = int(settings()["SECURITY_LOG_PER_MINUTE"])
    used = db.session.execute(
        select(func.count()).where(
            SecurityEvent.source == source, SecurityEvent.minute == minute, SecurityEvent.slot <= limit
        )
    ).scalar_one()
    if used < limit:
        row = SecurityEvent(
            at=now,
            source=source,
            minute=minute,
            slot=used + 1,
            kind=kind,
            detail_json=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
            count=1,
        )
        if _insert(row):
            return
    _count_overflow(source, minute, limit, now)


def _insert(row: SecurityEvent) -> bool:
    """Insert a row in a savepoint; False when a concurrent request took its slot first."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
        return True
    except IntegrityError:
        return False


def _count_overflow(source: str, minute: str, limit: int, now: Any) -> None:
    """Add one to the source's counter row of this minute, creating it on the first overflow."""
    for _attempt in range(3):
        counted = db.session.execute(
            update(SecurityEvent)
            .where(SecurityEvent.source == source, SecurityEvent.minute == minute, SecurityEvent.slot == limit + 1)
            .values(count=SecurityEvent.count + 1)
        )
        if getattr(counted, "rowcount", 0):
            return
        counter = SecurityEvent(
            at=now, source=source, minute=minute, slot=limit + 1, kind=RATE_LIMITED, detail_json="{}", count=1
        )
        if _insert(counter):
            return


def recent(limit: int = 200) -> list[SecurityEvent]:
    """The newest rows of the security log, for the auditor page."""
    return list(db.session.execute(select(SecurityEvent).order_by(SecurityEvent.id.desc()).limit(limit)).scalars())
