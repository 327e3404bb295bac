"""Separation of duties: the rules as data a process owner can read, and the checks the engine applies.

Lanes say which role works a task, but a process owner can edit lanes; these rules hold whatever the
diagram says (like EJBCA's approval profiles: "no self-approval"). Each rule names the roles it binds
and the message a refused person reads; GET /api/v1/duties and the Admin page list this table.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from engine.models import Agency, Certificate, HumanTask, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import held


@dataclass(frozen=True)
class DutyRule:
    """One rule: `kind` selects the check the engine applies, `roles` the task roles it binds."""

    key: str
    kind: str
    title: str
    description: str
    roles: tuple[str, ...]
    refusal: str
    # For kind 'recommender_of_heads': the agency whose head recommends an agency head's own case.
    agency_code: str = ""


# Kinds: 'not_own_case' (the case's applicant or subject may not act in these roles),
# 'exclusive_roles' (whoever completed a task of one of these roles on a case may not act in another),
# 'certificate_required' (acting in these roles needs an active certificate of one's own),
# 'recommender_of_heads' (an agency head's own case goes to the head of `agency_code` for recommendation).
DUTY_RULES: tuple[DutyRule, ...] = (
    DutyRule(
        key="no_self_approval",
        kind="not_own_case",
        title="Tidak memutus permohonan sendiri",
        description="Pemohon atau subjek kasus (orang yang dimohonkan, termasuk pemilik sertifikat bila petugas "
        "mengajukan atas namanya) tidak dapat mengklaim atau menyelesaikan tugas peran lain pada kasus itu.",
        roles=("Atasan", "Verifikator", "Admin"),
        refusal="Anda adalah pemohon atau subjek kasus ini; tugas {role} pada kasus Anda sendiri harus "
        "dikerjakan orang lain.",
    ),
    DutyRule(
        key="verifier_not_recommender",
        kind="exclusive_roles",
        title="Verifikator bukan pemberi rekomendasi",
        description="Siapa pun yang telah menyelesaikan tugas Atasan (rekomendasi) pada suatu kasus tidak dapat "
        "mengerjakan tugas Verifikator pada kasus itu, dan sebaliknya.",
        roles=("Atasan", "Verifikator"),
        refusal="Anda telah mengerjakan tugas {other} pada kasus ini; tugas {role} harus dikerjakan orang lain.",
    ),
    DutyRule(
        key="verifier_holds_certificate",
        kind="certificate_required",
        title="Verifikator memegang Sertifikat Elektronik",
        description="Verifikator hanya dapat mengklaim dan menyelesaikan tugas bila memiliki Sertifikat "
        "Elektronik aktif (belum kedaluwarsa) sebagai Verifikator.",
        roles=("Verifikator",),
        refusal="Anda belum memiliki Sertifikat Elektronik aktif sebagai Verifikator, sehingga belum dapat "
        "mengklaim atau menyelesaikan tugas Verifikator. Ajukan sertifikat Anda terlebih dahulu.",
    ),
    DutyRule(
        key="agency_head_recommended_by_setda",
        kind="recommender_of_heads",
        title="Rekomendasi bagi Kepala Perangkat Daerah",
        description="Bila pemohon adalah Kepala Perangkat Daerahnya sendiri, tugas rekomendasi (Atasan) "
        "diberikan kepada Kepala Sekretariat Daerah sebagai atasannya. Permohonan Kepala Sekretariat "
        "Daerah sendiri tidak dapat direkomendasikan oleh siapa pun di aplikasi ini.",
        roles=("Atasan",),
        refusal="",
        agency_code="setda",
    ),
)


def rules_of(kind: str) -> list[DutyRule]:
    """The rules of one kind."""
    return [rule for rule in DUTY_RULES if rule.kind == kind]


def describe_rules() -> list[dict[str, Any]]:
    """The rule table as JSON-safe data (what the API and the Admin page show)."""
    return [{**asdict(rule), "roles": list(rule.roles)} for rule in DUTY_RULES]


def has_active_certificate(user: User) -> bool:
    """Tell whether the user holds an active, unexpired certificate in the RA's inventory."""
    found = db.session.execute(
        select(Certificate.id)
        .where(Certificate.user_id == user.id, Certificate.status == "active", Certificate.not_after > utcnow())
        .limit(1)
    ).first()
    return found is not None


def certificate_refusal(user: User, role: str) -> str | None:
    """Why `user` may not act in `role` for want of a certificate, or None."""
    for rule in rules_of("certificate_required"):
        if role in rule.roles and not has_active_certificate(user):
            return rule.refusal
    return None


def is_subject(user: User, case: ProcessInstance) -> bool:
    """Tell whether the case is about `user`: its applicant, the same person by NIK, or the person declared in it."""
    if case.applicant_id == user.id:
        return True
    if not user.nik:
        return False
    applicant = held.user(case.applicant_id)
    declared = json.loads(case.applicant_json or "{}").get("nik")
    return user.nik in {applicant.nik if applicant else None, declared}


def _completed_roles(user: User, case_id: int) -> set[str]:
    """Roles of the tasks `user` completed on the case."""
    return set(
        db.session.execute(
            select(HumanTask.role).where(
                HumanTask.instance_id == case_id,
                HumanTask.status == "completed",
                HumanTask.completed_by_id == user.id,
            )
        ).scalars()
    )


def duty_refusal(user: User, task: HumanTask, completed_roles: set[str] | None = None) -> str | None:
    """Why the duty rules forbid `user` to claim or complete `task`, or None when they allow it.

    `completed_roles`: the roles of the tasks `user` completed on the case, when the caller has read them
    (under the case's lock); otherwise they are read here.
    """
    case = db.session.get(ProcessInstance, task.instance_id)
    if case is None:
        return None
    for rule in rules_of("not_own_case"):
        if task.role in rule.roles and is_subject(user, case):
            return rule.refusal.format(role=task.role)
    for rule in rules_of("exclusive_roles"):
        if task.role not in rule.roles:
            continue
        done = _completed_roles(user, case.id) if completed_roles is None else completed_roles
        others = (done & set(rule.roles)) - {task.role}
        if others:
            return rule.refusal.format(role=task.role, other=sorted(others)[0])
    return certificate_refusal(user, task.role)


def recommending_agency_id(case: ProcessInstance) -> int | None:
    """The agency whose head gets the case's Atasan tasks: the case's own, or the heads' superior for a head."""
    applicant = held.user(case.applicant_id)
    applicant_is_head = applicant is not None and applicant.has_role("Atasan") and applicant.agency_id == case.agency_id
    if not applicant_is_head:
        return case.agency_id
    for rule in rules_of("recommender_of_heads"):
        superior = db.session.execute(select(Agency.id).where(Agency.code == rule.agency_code)).scalar_one_or_none()
        if superior is not None:
            return superior
    return case.agency_id
