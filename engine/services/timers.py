"""Firing BPMN timers that fell due: safe to run from two schedulers at once."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from engine import runtime
from engine.models import ProcessInstance, db
from engine.models.base import utcnow
from engine.services import advance, audit, background, transactions
from engine.services.errors import ServiceError

log = logging.getLogger(__name__)


def due_cases(now: datetime) -> list[int]:
    """Ids of running cases whose earliest timer is due."""
    return list(
        db.session.execute(
            select(ProcessInstance.id)
            .where(
                ProcessInstance.status == "running",
                ProcessInstance.next_timer_at.is_not(None),
                ProcessInstance.next_timer_at <= now,
            )
            .order_by(ProcessInstance.next_timer_at)
        ).scalars()
    )


def fire_case_timers(case_id: int) -> bool:
    """Advance one case whose timer is due; False if another worker got there first."""
    try:
        transactions.begin_write()
        case = advance.lock_case(case_id)
        if case.next_timer_at is None or case.next_timer_at > utcnow():
            db.session.rollback()
            return False
        actor = "penjadwal"
        workflow = runtime.load(case.deployment.spec_json, case.state_json, advance.engine_for(case, actor))
        if runtime.ready_background_tasks(workflow):
            # Background steps act for the person whose action reached them (a form PDF names its submitter);
            # they are no input of the case: replay runs them where that action left them.
            actor = background.triggering_actor(case.id) or actor
            runtime.use_engine(workflow, advance.engine_for(case, actor))
        else:
            # The firing is an input of the case like a form: its moment is what replay needs to fire it again.
            audit.append(
                audit.case_stream(case.id),
                "timer_fired",
                advance.SYSTEM_ACTOR,
                {"triggered_by": "penjadwal", "due_at": case.next_timer_at.isoformat()},
                case.id,
            )
        recorder = advance.step_recorder(case, actor)

        def step() -> None:
            runtime.advance(workflow, recorder)
            runtime.run_background_steps(workflow, recorder)

        advance.run_step(step)
        case.error = None
        advance.save_case(case, workflow)
        db.session.commit()
        return True
    except ServiceError as exc:
        db.session.rollback()
        log.warning("timer or background step of case %s failed: %s", case_id, exc.message)
        background.record_failure(case_id, exc.message)
        return False
    except Exception as exc:
        db.session.rollback()
        if transactions.race_error(exc) is None:
            raise
        # A user action or another scheduler changed the case meanwhile; the next poll sees its result.
        log.info("timer of case %s skipped: the case changed concurrently", case_id)
        return False


def fire_due_timers(now: datetime | None = None) -> int:
    """Fire every due timer; return how many cases advanced."""
    fired = 0
    for case_id in due_cases(now or utcnow()):
        fired += fire_case_timers(case_id)
    return fired
