"""Background service tasks: what a diagram marks `background=true` runs after the person's request.

The request that reaches such a task commits the case with the task READY and `next_timer_at` = now, then
starts a thread that advances the case at once (`kick`). The scheduler's timer poll advances any case it
finds due as well, so a crash, a restart or a lost thread only delays the work. A step that fails rolls back
as any step does; the case records the failure (`background_step_failed`) and is tried again after
BACKGROUND_RETRY_SECONDS, doubled after each failure in a row (at most six hours).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import func, select

from engine.models import AuditEvent, ProcessInstance, db
from engine.models.base import utcnow
from engine.services import audit
from engine.services.runtime_context import settings

log = logging.getLogger(__name__)


def kick(case: ProcessInstance) -> None:
    """After a commit: advance the case's waiting background steps in a thread, if it has any."""
    config = settings()
    if not config.get("BACKGROUND_STEPS") or not config.get("BACKGROUND_KICK"):
        return
    if case.status != "running" or case.next_timer_at is None or case.next_timer_at > utcnow():
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask's proxy
    threading.Thread(target=_advance_in_thread, args=(app, case.id), daemon=True, name=f"case-{case.id}").start()


def _advance_in_thread(app: Flask, case_id: int) -> None:
    from engine.services import timers  # timers imports this module for its failure path

    with app.app_context():
        try:
            timers.fire_case_timers(case_id)
        except Exception:  # the scheduler's poll retries; the thread must not die silently
            log.exception("background steps of case %s failed in the app server; the scheduler retries", case_id)
        finally:
            db.session.remove()


def record_failure(case_id: int, message: str) -> None:
    """In a fresh transaction: log why the case's background step failed and when it is tried again."""
    case = db.session.get(ProcessInstance, case_id)
    if case is None or case.status != "running":
        db.session.rollback()
        return
    delay = int(settings().get("BACKGROUND_RETRY_SECONDS", 60)) * 2 ** min(_failures_in_a_row(case.id), 10)
    retry_at = utcnow() + timedelta(seconds=min(delay, 6 * 3600))
    case.error = message[:2000]
    case.next_timer_at = retry_at
    audit.append(
        audit.case_stream(case.id),
        "background_step_failed",
        "sistem",
        {"error": message[:2000], "retry_at": retry_at.isoformat(timespec="seconds")},
        case.id,
    )
    db.session.commit()


def _failures_in_a_row(case_id: int) -> int:
    """How many `background_step_failed` events end the case's log (since its last other event)."""
    stream = audit.case_stream(case_id)
    last_other = (
        select(func.coalesce(func.max(AuditEvent.seq), 0))
        .where(AuditEvent.stream == stream, AuditEvent.kind != "background_step_failed")
        .scalar_subquery()
    )
    found = db.session.execute(
        select(func.count()).where(
            AuditEvent.stream == stream, AuditEvent.kind == "background_step_failed", AuditEvent.seq > last_other
        )
    ).scalar_one()
    return int(found)


def triggering_actor(case_id: int) -> str | None:
    """Who acted last on the case (the person whose submit or start left its background steps waiting)."""
    found = db.session.execute(
        select(AuditEvent.actor)
        .where(
            AuditEvent.stream == audit.case_stream(case_id),
            AuditEvent.kind.in_(("task_completed", "case_started")),
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return str(found) if found else None
