"""Moving running cases of one version of a process to another: a preview, then the move, case by case."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import runtime
from engine.models import HumanTask, ProcessDeployment, ProcessInstance, db
from engine.services import advance, audit, transactions, versions
from engine.services.access import LANE_ROLES
from engine.services.duties import recommending_agency_id
from engine.services.errors import Invalid
from engine.services.runtime_context import settings


def _pair(key: str, source: int, target: int) -> tuple[ProcessDeployment, ProcessDeployment]:
    if source == target:
        raise Invalid("Versi asal dan tujuan sama.", {"to": ["Pilih versi lain."]})
    return versions.version(key, source), versions.version(key, target)


def _running(deployment: ProcessDeployment, case_ids: list[int] | None = None) -> list[ProcessInstance]:
    query = select(ProcessInstance).where(
        ProcessInstance.deployment_id == deployment.id, ProcessInstance.status == "running"
    )
    if case_ids is not None:
        query = query.where(ProcessInstance.id.in_(case_ids))
    return list(db.session.execute(query.order_by(ProcessInstance.id)).scalars())


def _plan(case: ProcessInstance, target: ProcessDeployment) -> runtime.MigrationPlan:
    return runtime.migration_plan(
        case.deployment.spec_json,
        case.state_json,
        target.spec_json,
        target.version,
        runtime.SertelScriptEngine(settings()),
    )


def preview(key: str, source: int, target: int) -> dict[str, list[dict[str, Any]]]:
    """Which running cases of version `source` can move to `target`, and why the others cannot."""
    old, new = _pair(key, source, target)
    movable: list[dict[str, Any]] = []
    blocked: list[dict[str, Any]] = []
    for case in _running(old):
        plan = _plan(case, new)
        if plan.movable:
            movable.append({"case_id": case.id, "tasks": plan.tasks})
        else:
            blocked.append({"case_id": case.id, "tasks": plan.tasks, "reason": plan.reason})
    return {"movable": movable, "blocked": blocked}


def migrate(key: str, source: int, target: int, case_ids: list[int] | None, actor: str) -> dict[str, list[Any]]:
    """Move the movable running cases of `source` (all, or those listed) to `target`, one transaction each.

    A moved case is re-saved on the new version, advanced (a reset step may run at once) and its inbox
    rows re-projected; each move is a `case_migrated` event in the case's log. Cases that cannot move are
    returned with the reason and left untouched.
    """
    old, new = _pair(key, source, target)
    candidates = [c.id for c in _running(old, case_ids)]
    migrated: list[int] = []
    blocked: list[dict[str, Any]] = []
    if case_ids is not None:
        for missing in sorted(set(case_ids) - set(candidates)):
            blocked.append({"case_id": missing, "reason": f"bukan kasus berjalan pada versi {source}"})
    for case_id in candidates:
        reason = _migrate_one(case_id, old.id, new.id, actor)
        if reason is None:
            migrated.append(case_id)
        else:
            blocked.append({"case_id": case_id, "reason": reason})
    return {"migrated": migrated, "blocked": blocked}


def _migrate_one(case_id: int, old_id: int, new_id: int, actor: str) -> str | None:
    transactions.begin_write()
    case = advance.lock_case(case_id)
    old, new = db.session.get_one(ProcessDeployment, old_id), db.session.get_one(ProcessDeployment, new_id)
    if case.deployment_id != old.id:
        db.session.rollback()
        return f"kasus sudah tidak berada pada versi {old.version}"
    plan = _plan(case, new)
    if not plan.movable:
        db.session.rollback()
        return plan.reason
    engine = advance.engine_for(case, actor)
    try:
        workflow = runtime.migrate(
            runtime.load(old.spec_json, case.state_json, engine), new.spec_json, new.version, engine
        )
    except runtime.ProcessError as exc:
        db.session.rollback()
        return str(exc)
    case.deployment = new
    audit.append(
        audit.case_stream(case.id),
        "case_migrated",
        actor,
        {"key": case.sop_key, "from_version": old.version, "to_version": new.version, "tasks": plan.tasks},
        case.id,
    )
    advance.run_step(lambda: runtime.advance(workflow, advance.step_recorder(case, actor)))
    _refresh_open_rows(case, workflow)
    advance.save_case(case, workflow)
    db.session.commit()
    return None


def _refresh_open_rows(case: ProcessInstance, workflow: Any) -> None:
    """Give inbox rows of tasks that kept their id the new version's label, lane, role and form."""
    ready = {t.uuid: t for t in runtime.ready_user_tasks(workflow)}
    rows = db.session.execute(
        select(HumanTask).where(HumanTask.instance_id == case.id, HumanTask.status == "open")
    ).scalars()
    for row in rows:
        item = ready.get(row.task_uuid)
        if item is None:
            continue
        role = LANE_ROLES.get(item.lane)
        if role is not None and role != row.role:  # another role's work now: back to that role's queue
            row.role, row.claimed_by_id = role, None
            row.owner_user_id = case.applicant_id if role == "Pemohon" else None
            row.agency_id = recommending_agency_id(case) if role == "Atasan" else None
        row.task_name, row.form_key, row.label, row.lane = item.name, item.form_key, item.label, item.lane
