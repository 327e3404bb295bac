"""Who may see a case and act on a task: lanes map to roles, Pemohon and Atasan are scoped, duties apply."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import HumanTask, ProcessInstance, User, db
from engine.services.duties import duty_refusal

# BPMN lane name -> role name. A lane not listed here may hold no user task (e.g. PSrE: the system).
LANE_ROLES: dict[str, str] = {
    "Pemohon": "Pemohon",
    "Atasan": "Atasan",
    "Verifikator": "Verifikator",
    "Admin": "Admin",
}
STAFF_ROLES = ("Verifikator", "Admin", "Auditor")
NOT_YOURS = "Anda tidak berwenang atas tugas ini."


def task_refusal(user: User, task: HumanTask, completed_roles: set[str] | None = None) -> str | None:
    """Why `user` may not see, claim or complete the inbox row `task` (Indonesian), or None when they may.

    `completed_roles`: the roles of the tasks `user` completed on the case, when the caller has read them.
    """
    if not user.active or not user.has_role(task.role):
        return NOT_YOURS
    if task.role == "Pemohon":
        return None if task.owner_user_id == user.id else NOT_YOURS
    # The duty rules first, so that a head whose own case went to his superior reads why.
    refusal = duty_refusal(user, task, completed_roles)
    if refusal is None and task.role == "Atasan" and (task.agency_id is None or task.agency_id != user.agency_id):
        return NOT_YOURS
    return refusal


def may_act_on(user: User, task: HumanTask) -> bool:
    """Tell whether `user` may see, claim and complete the inbox row `task`."""
    return task_refusal(user, task) is None


def may_view_case(user: User, case: ProcessInstance) -> bool:
    """Tell whether `user` may read a case: its applicant, its agency head, or RA staff."""
    if not user.active:
        return False
    if any(user.has_role(role) for role in STAFF_ROLES):
        return True
    if case.applicant_id == user.id:
        return True
    if not user.has_role("Atasan") or user.agency_id is None:
        return False
    return case.agency_id == user.agency_id or _recommends(user, case)


def _recommends(user: User, case: ProcessInstance) -> bool:
    """Tell whether the case's Atasan tasks go to the user's agency (e.g. an agency head's own case to setda)."""
    found = db.session.execute(
        select(HumanTask.id)
        .where(HumanTask.instance_id == case.id, HumanTask.role == "Atasan", HumanTask.agency_id == user.agency_id)
        .limit(1)
    ).first()
    return found is not None
