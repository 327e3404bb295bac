"""Read-side use cases: inboxes, case views, documents and certificates, each with its access check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from engine import runtime
from engine.models import Agency, Certificate, Document, HumanTask, OutboxMail, ProcessInstance, User, db
from engine.services import audit, deploy
from engine.services.access import may_act_on, may_view_case, task_refusal
from engine.services.duties import certificate_refusal
from engine.services.errors import Conflict, Forbidden, NotFound
from engine.services.ports import applicant_of


@dataclass
class CaseView:
    """Everything the case page and the API show of a case."""

    case: ProcessInstance
    applicant: dict[str, Any]
    open_tasks: list[HumanTask]
    documents: list[Document]
    certificates: list[Certificate]
    timeline: list[dict[str, Any]]
    completed_elements: list[str]
    active_elements: list[str]
    data: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # Ids of the open tasks the viewer may work on (roles, scopes and the duty rules allow it).
    actionable: set[int] = field(default_factory=set)


def inbox(user: User) -> tuple[list[HumanTask], list[HumanTask]]:
    """(tasks claimed by or assigned to me, unclaimed tasks of my roles I may claim)."""
    rows = db.session.execute(
        select(HumanTask)
        .where(HumanTask.status == "open", HumanTask.role.in_(user.role_names))
        .order_by(HumanTask.created_at)
    ).scalars()
    mine: list[HumanTask] = []
    claimable: list[HumanTask] = []
    for row in rows:
        if not may_act_on(user, row):
            continue
        # Pemohon and Atasan tasks are personal (own case / own agency): they need no claim.
        if row.claimed_by_id == user.id or (row.role in ("Pemohon", "Atasan") and row.claimed_by_id is None):
            mine.append(row)
        elif row.claimed_by_id is None:
            claimable.append(row)
    return mine, claimable


def inbox_notices(user: User) -> list[str]:
    """Why tasks of the user's roles are withheld from them as a whole (e.g. a verifikator without a certificate)."""
    return [reason for role in user.role_names if (reason := certificate_refusal(user, role)) is not None]


def task_for_form(task_id: int, user: User) -> tuple[HumanTask, dict[str, Any]]:
    """A task the user may work on, with the data its form shows and prefills from."""
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("Tugas tidak ditemukan.")
    refusal = task_refusal(user, task)
    if refusal is not None:
        raise Forbidden(refusal)
    case = task.instance
    data: dict[str, Any] = {}
    if task.status == "open":
        workflow = runtime.load(case.deployment.spec_json, case.state_json, runtime.SertelScriptEngine({}))
        try:
            data = runtime.task_data(workflow, task.task_uuid)
        except runtime.EngineError:
            # The row was read just before a concurrent completion committed, the case state just after.
            raise Conflict("Tugas ini sudah diselesaikan.") from None
    return task, data


def my_cases(user: User) -> list[ProcessInstance]:
    """Cases the user may see, newest first (staff see all)."""
    query = select(ProcessInstance).order_by(ProcessInstance.id.desc()).limit(200)
    if not any(user.has_role(r) for r in ("Verifikator", "Admin", "Auditor")):
        conditions = [ProcessInstance.applicant_id == user.id]
        if user.has_role("Atasan") and user.agency_id:
            conditions.append(ProcessInstance.agency_id == user.agency_id)
            # Cases whose recommendation comes to this agency (an agency head's own case goes to setda).
            recommended = select(HumanTask.instance_id).where(
                HumanTask.role == "Atasan", HumanTask.agency_id == user.agency_id
            )
            conditions.append(ProcessInstance.id.in_(recommended))
        query = query.where(or_(*conditions))
    return list(db.session.execute(query).scalars())


def on_behalf_of(case: ProcessInstance) -> dict[str, Any] | None:
    """Who started the case for its applicant and why, or None when the applicant started it."""
    if case.started_by_id is None or case.started_by_id == case.applicant_id:
        return None
    staff = db.session.get(User, case.started_by_id)
    return {
        "by": staff.username if staff else "?",
        "by_name": staff.full_name if staff else "?",
        "reason": case.on_behalf_reason or "",
    }


def people_for_on_behalf() -> list[User]:
    """Accounts bound to a person record, for RA staff starting a case on someone's behalf."""
    return list(
        db.session.execute(
            select(User).where(User.person_id.is_not(None), User.active).order_by(User.full_name)
        ).scalars()
    )


def case_view(case_id: int, user: User) -> CaseView:
    """A case with its tasks, documents, certificates and timeline, if the user may see it."""
    case = db.session.get(ProcessInstance, case_id)
    if case is None:
        raise NotFound("Kasus tidak ditemukan.")
    if not may_view_case(user, case):
        raise Forbidden("Anda tidak berwenang melihat kasus ini.")
    open_tasks = list(
        db.session.execute(
            select(HumanTask).where(HumanTask.instance_id == case.id, HumanTask.status == "open")
        ).scalars()
    )
    docs = list(
        db.session.execute(select(Document).where(Document.instance_id == case.id).order_by(Document.id)).scalars()
    )
    certs = list(db.session.execute(select(Certificate).where(Certificate.instance_id == case.id)).scalars())
    timeline = [
        {
            "seq": e.seq,
            "at": e.at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "kind": e.kind,
            "task_name": e.task_name,
            "payload": json.loads(e.payload_json),
        }
        for e in audit.events_of_case(case.id)
    ]
    workflow = runtime.load(case.deployment.spec_json, case.state_json, runtime.SertelScriptEngine({}))
    return CaseView(
        case=case,
        applicant=applicant_of(case),
        open_tasks=open_tasks,
        documents=docs,
        certificates=certs,
        timeline=timeline,
        completed_elements=runtime.completed_path(workflow),
        active_elements=runtime.active_elements(workflow),
        labels=_labels(case),
        data=runtime.current_data(workflow),
        actionable={t.id for t in open_tasks if may_act_on(user, t)},
    )


def document_for(document_id: int, user: User) -> Document:
    """A document the user may download (through the case it belongs to)."""
    document = db.session.get(Document, document_id)
    if document is None:
        raise NotFound("Dokumen tidak ditemukan.")
    if document.instance_id is None:
        if document.uploaded_by_id != user.id:
            raise Forbidden("Anda tidak berwenang atas dokumen ini.")
        return document
    case = db.session.get(ProcessInstance, document.instance_id)
    if case is None or not may_view_case(user, case):
        raise Forbidden("Anda tidak berwenang atas dokumen ini.")
    return document


def my_certificates(user: User) -> list[Certificate]:
    """The user's certificates, newest first."""
    return list(
        db.session.execute(
            select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id.desc())
        ).scalars()
    )


def certificate_for(serial: str, user: User) -> Certificate:
    """A certificate the user may download: the owner's own, or any for RA staff."""
    certificate = db.session.execute(select(Certificate).where(Certificate.serial == serial)).scalar_one_or_none()
    if certificate is None:
        raise NotFound("Sertifikat tidak ditemukan.")
    if certificate.user_id != user.id and not any(user.has_role(r) for r in ("Verifikator", "Admin", "Auditor")):
        raise Forbidden("Anda tidak berwenang atas sertifikat ini.")
    return certificate


def processes() -> list[dict[str, Any]]:
    """The deployed processes a person can start, newest version of each."""
    return [
        {
            "key": d.key,
            "title": d.title,
            "version": d.version,
            "sha256": d.sha256,
            "deployed_at": d.deployed_at.isoformat(timespec="seconds"),
        }
        for d in deploy.latest_all()
    ]


def agency_choices() -> list[tuple[str, str]]:
    """(code, name) of every agency, for select fields."""
    return [(a.code, a.name) for a in db.session.execute(select(Agency).order_by(Agency.name)).scalars()]


def outbox(page: int, per_page: int = 50) -> list[OutboxMail]:
    """One page of the mail outbox, newest first."""
    return list(
        db.session.execute(
            select(OutboxMail).order_by(OutboxMail.id.desc()).offset((page - 1) * per_page).limit(per_page)
        ).scalars()
    )


def _labels(case: ProcessInstance) -> dict[str, str]:
    """Element id -> label of the case's diagram and the shared call activities it may use."""
    found: dict[str, str] = {}
    for xml in deploy.common_processes().values():
        found.update(runtime.element_labels(xml))
    found.update(runtime.element_labels(case.deployment.xml))
    return found
