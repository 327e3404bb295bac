"""Who may see a case and act on a task: lanes map to roles, Pemohon and Atasan are scoped."""

from __future__ import annotations

from engine.models import HumanTask, ProcessInstance, User

# BPMN lane name -> role name. A lane not listed here may hold no user task (e.g. PSrE: the system).
LANE_ROLES: dict[str, str] = {
    "Pemohon": "Pemohon",
    "Atasan": "Atasan",
    "Verifikator": "Verifikator",
    "Admin": "Admin",
}
STAFF_ROLES = ("Verifikator", "Admin", "Auditor")


def may_act_on(user: User, task: HumanTask) -> bool:
    """Tell whether `user` may see, claim and complete the inbox row `task`."""
    if not user.active or not user.has_role(task.role):
        return False
    if task.role == "Pemohon":
        return task.owner_user_id == user.id
    if task.role == "Atasan":
        return task.agency_id is not None and task.agency_id == user.agency_id
    return True


def may_view_case(user: User, case: ProcessInstance) -> bool:
    """Tell whether `user` may read a case: its applicant, its agency head, or RA staff."""
    if not user.active:
        return False
    if any(user.has_role(role) for role in STAFF_ROLES):
        return True
    if case.applicant_id == user.id:
        return True
    return user.has_role("Atasan") and case.agency_id is not None and case.agency_id == user.agency_id
