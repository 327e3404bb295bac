"""The mechanics of advancing a case: an engine bound to the case, the step log, locking and saving."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from engine import runtime
from engine.models import HumanTask, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import audit, held
from engine.services.access import LANE_ROLES
from engine.services.duties import recommending_agency_id
from engine.services.errors import Conflict, Invalid, Unavailable
from engine.services.ports import actor_of, actor_record, handler_context
from engine.services.runtime_context import settings


def engine_for(
    case: ProcessInstance, actor: str, secrets: Mapping[str, str] | None = None, actor_user: User | None = None
) -> runtime.SertelScriptEngine:
    """A script engine whose service tasks get handler contexts bound to this case (and this run's secrets).

    Who acts is read once per engine (one run), not once per service task; `actor_user`, the account the
    use case already holds, saves reading it again.
    """
    known: dict[str, Any] = {}

    def context(task: Any, params: dict[str, Any]) -> Any:
        if "actor" not in known:
            known["actor"] = actor_record(actor_user) if actor_user is not None else actor_of(actor)
            # Held for the run: the session's identity map is weak, and each service task reads the applicant.
            known["applicant"] = held.user(case.applicant_id)
        return handler_context(case, task, params, actor, secrets, actor_record=known["actor"])

    return runtime.SertelScriptEngine(settings(), context)


# Who the log credits with a step the engine ran: the person (or the scheduler) who set it off is in its payload.
SYSTEM_ACTOR = "sistem"


def step_recorder(case: ProcessInstance, actor: str) -> Any:
    """A callback that logs every completed engine step (service outputs included) of the case.

    The step is the engine's, so it is credited to "sistem"; `triggered_by` names whose action started the run.
    """

    def on_completed(task: Any) -> None:
        if runtime.is_significant(task) and not runtime.is_user_task_record(task):
            record = {**runtime.describe_completed(task), "triggered_by": actor}
            note_check_totals(case, record.get("output"))
            audit.append(
                audit.case_stream(case.id), "step_completed", SYSTEM_ACTOR, record, case.id, record["task_name"]
            )

    return on_completed


def note_check_totals(case: ProcessInstance, output: Any) -> None:
    """Keep the totals of a step's automated checks on the case (the inbox flags them without loading state).

    A check result is any step output shaped like the verifikator's check list: items, errors, warnings.
    """
    for value in (output or {}).values() if isinstance(output, dict) else ():
        if isinstance(value, dict) and {"items", "errors", "warnings"} <= set(value):
            case.check_errors = int(value["errors"] or 0)
            case.check_warnings = int(value["warnings"] or 0)


def run_step(step: Any) -> None:
    """Run an engine step; a handler or script failure rolls the whole transaction back."""
    try:
        step()
    except runtime.EngineError as exc:
        db.session.rollback()
        if exc.fields is not None:
            raise Invalid(str(exc), exc.fields) from exc
        raise Unavailable(f"{exc} Data Anda belum disimpan; silakan coba lagi.") from exc


def save_case(case: ProcessInstance, workflow: Any) -> None:
    """Store the workflow state and project its READY user tasks into inbox rows."""
    # Every column of the case is set before the first query below, so its autoflush writes the row once.
    case.state_json = runtime.dump_state(workflow)
    case.updated_at = utcnow()
    ready = runtime.ready_user_tasks(workflow)
    waiting = [f"{runtime.task_label(t)} (diproses sistem)" for t in runtime.ready_background_tasks(workflow)]
    case.current_steps = ", ".join([t.label for t in ready] + waiting)[:500]
    case.next_timer_at = runtime.next_timer_due(workflow)
    completed = runtime.is_completed(workflow)
    if completed:
        case.status = "completed"
        case.outcome = runtime.end_event(workflow)
        case.outcome_label = runtime.element_labels(case.deployment.xml).get(case.outcome or "")
        case.ended_at = utcnow()
    open_rows = {
        row.task_uuid: row
        for row in db.session.execute(
            select(HumanTask).where(HumanTask.instance_id == case.id, HumanTask.status == "open")
        ).scalars()
    }
    ready_ids = {t.uuid for t in ready}
    for uuid, row in open_rows.items():
        if uuid not in ready_ids:
            row.status = "cancelled"
    for item in ready:
        if item.uuid in open_rows:
            # Left as it is: writing an open row here would lock it against a concurrent claim (a deadlock with
            # the audit head); a migrated case's rows are re-projected by the migration itself.
            continue
        role = LANE_ROLES.get(item.lane)
        if role is None:
            raise Unavailable(f"Tugas '{item.label}' berada di lane '{item.lane}' yang tidak dipetakan ke peran.")
        db.session.add(
            HumanTask(
                instance_id=case.id,
                task_uuid=item.uuid,
                task_name=item.name,
                form_key=item.form_key,
                label=item.label,
                due_at=item.due_at,
                priority=item.priority,
                lane=item.lane,
                role=role,
                owner_user_id=case.applicant_id if role == "Pemohon" else None,
                # Usually the case's agency; an agency head's own case goes to the heads' superior.
                agency_id=recommending_agency_id(case) if role == "Atasan" else None,
            )
        )
    if completed:
        audit.append(
            audit.case_stream(case.id),
            "case_completed",
            "sistem",
            {"outcome": case.outcome, "outcome_label": case.outcome_label},
            case.id,
        )
    db.session.flush()


def lock_case(instance_id: int) -> ProcessInstance:
    """Lock the case row while it advances (FOR UPDATE on PostgreSQL; the version column elsewhere)."""
    case = db.session.execute(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update()
        # The row may already be in the session, read before the lock: take the locked, current values.
        .execution_options(populate_existing=True)
    ).scalar_one()
    if case.status != "running":
        raise Conflict("Kasus ini sudah selesai.")
    return case
