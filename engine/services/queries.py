"""Read-side use cases: inboxes, case views, documents and certificates, each with its access check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import QueryableAttribute, aliased, joinedload

from engine import runtime
from engine.models import (
    Agency,
    Certificate,
    Document,
    HumanTask,
    OutboxMail,
    Person,
    ProcessDeployment,
    ProcessInstance,
    User,
    db,
)
from engine.services import audit, deploy, field_access, need_to_know
from engine.services.access import may_act_on, may_view_case, task_refusal
from engine.services.duties import certificate_refusal, rules_of
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


PAGE_SIZE = 50


@dataclass
class Page:
    """One keyset page of a list: its rows and the cursor of the next page (None on the last)."""

    rows: list[Any]
    next_after: int | None = None


def parse_cursor(raw: str | None) -> int | None:
    """A keyset cursor from a query string value: a positive id, else None (never an error)."""
    if raw is None or not raw.strip().isdigit() or len(raw.strip()) > 18:
        return None
    value = int(raw.strip())
    return value if value > 0 else None


# Aliases of the inbox subqueries, made once (building an alias costs more than the query it serves).
_CASE = aliased(ProcessInstance, name="subject_case")
_APPLICANT = aliased(User, name="subject_applicant")
_PERSON = aliased(Person, name="subject_person")
_DONE = aliased(HumanTask, name="done_task")


def _not_subject(user: User) -> ColumnElement[bool]:
    """SQL: the task's case is not about `user` (mirrors duties.is_subject)."""
    case, applicant, person = _CASE, _APPLICANT, _PERSON
    about_user: list[ColumnElement[bool]] = [case.applicant_id == user.id]
    nik = user.nik
    if nik:
        about_user.append(
            select(applicant.id)
            .join(person, applicant.person_id == person.id)
            .where(applicant.id == case.applicant_id, person.nik == nik)
            .exists()
        )
        about_user.append(_declared_nik(case.applicant_json) == nik)
    return ~select(case.id).where(case.id == HumanTask.instance_id, or_(*about_user)).exists()


def _declared_nik(column: Any) -> ColumnElement[Any]:
    """SQL: the `nik` declared in a case's applicant_json (a JSON text column)."""
    if db.session.get_bind().dialect.name == "postgresql":
        declared: ColumnElement[Any] = cast(column, JSONB)["nik"].astext
        return declared
    return func.json_extract(column, "$.nik")


def _no_exclusive_conflict(user: User, role: str) -> ColumnElement[bool] | None:
    """SQL: `user` completed no task of a role exclusive with `role` on the task's case (duties 'exclusive_roles')."""
    others: set[str] = set()
    for rule in rules_of("exclusive_roles"):
        if role in rule.roles:
            others |= set(rule.roles) - {role}
    if not others:
        return None
    done = _DONE
    return (
        ~select(done.id)
        .where(
            done.completed_by_id == user.id,
            done.instance_id == HumanTask.instance_id,
            done.status == "completed",
            done.role.in_(sorted(others)),
        )
        .exists()
    )


def _withheld_roles(user: User) -> dict[str, str]:
    """Roles of `user` withheld as a whole (e.g. a verifikator without a certificate) -> why."""
    return {role: reason for role in user.role_names if (reason := certificate_refusal(user, role)) is not None}


PERSONAL_ROLES = ("Pemohon", "Atasan")


def _role_conditions(user: User, withheld: dict[str, str] | None = None) -> dict[str, ColumnElement[bool]]:
    """Role -> SQL condition on HumanTask: the rows of that role `user` may act on (mirrors access.task_refusal)."""
    if not user.active:
        return {}
    if withheld is None:
        withheld = _withheld_roles(user)
    per_role: dict[str, ColumnElement[bool]] = {}
    for role in user.role_names:
        if role == "Pemohon":
            per_role[role] = and_(HumanTask.role == role, HumanTask.owner_user_id == user.id)
            continue
        if role in withheld:
            continue  # the whole role is withheld; the notices say why
        conditions: list[ColumnElement[bool]] = [HumanTask.role == role]
        if role == "Atasan":
            if user.agency_id is None:
                continue
            conditions.append(HumanTask.agency_id == user.agency_id)
        if any(role in rule.roles for rule in rules_of("not_own_case")):
            conditions.append(_not_subject(user))
        exclusive = _no_exclusive_conflict(user, role)
        if exclusive is not None:
            conditions.append(exclusive)
        per_role[role] = and_(*conditions)
    return per_role


def _mine(user: User, per_role: dict[str, ColumnElement[bool]]) -> ColumnElement[bool]:
    """SQL: rows claimed by `user`, and the unclaimed personal rows (Pemohon and Atasan tasks need no claim).

    Written as an OR of branches that each start from an index (claimed_by_id; owner; agency), so the
    planner never walks every open row of a role to find the few claimed by one person.
    """
    unclaimed = HumanTask.claimed_by_id.is_(None)
    branches = [and_(HumanTask.claimed_by_id == user.id, or_(*per_role.values()))]
    branches += [and_(condition, unclaimed) for role, condition in per_role.items() if role in PERSONAL_ROLES]
    return or_(*branches)


def _claimable(per_role: dict[str, ColumnElement[bool]]) -> ColumnElement[bool] | None:
    """SQL: unclaimed rows of the roles that are claimed (Verifikator, Admin) the user may act on."""
    unclaimed = HumanTask.claimed_by_id.is_(None)
    branches = [and_(condition, unclaimed) for role, condition in per_role.items() if role not in PERSONAL_ROLES]
    return or_(*branches) if branches else None


def _task_rows(condition: ColumnElement[bool], after: int | None, limit: int) -> Page:
    """One keyset page (by id) of open tasks matching `condition`, with their case and process title."""
    query = (
        select(HumanTask)
        .where(HumanTask.status == "open", condition)
        .options(
            joinedload(HumanTask.instance)
            .load_only(ProcessInstance.id, ProcessInstance.sop_key, ProcessInstance.deployment_id)
            .joinedload(ProcessInstance.deployment)
            .load_only(ProcessDeployment.id, ProcessDeployment.title, ProcessDeployment.version)
        )
        .order_by(HumanTask.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(HumanTask.id > after)
    rows = list(db.session.execute(query).scalars())
    if len(rows) > limit:
        return Page(rows[:limit], rows[limit - 1].id)
    return Page(rows)


def inbox_pages(
    user: User,
    mine_after: int | None = None,
    claimable_after: int | None = None,
    limit: int = PAGE_SIZE,
    withheld: dict[str, str] | None = None,
) -> tuple[Page, Page]:
    """(tasks claimed by or assigned to me, unclaimed tasks of my roles I may claim), one keyset page each.

    Scoped in SQL: the role, ownership, agency and duty rules are conditions of the query, so a page costs
    a fixed number of statements whatever the number of open tasks.
    """
    per_role = _role_conditions(user, withheld)
    if not per_role:
        return Page([]), Page([])
    mine = _task_rows(_mine(user, per_role), mine_after, limit)
    claimable_condition = _claimable(per_role)
    claimable = Page([]) if claimable_condition is None else _task_rows(claimable_condition, claimable_after, limit)
    return mine, claimable


def inbox(user: User) -> tuple[list[HumanTask], list[HumanTask]]:
    """The first page of (my tasks, tasks I may claim); see inbox_pages."""
    mine, claimable = inbox_pages(user)
    return mine.rows, claimable.rows


def my_tasks_of_case(user: User, case_id: int) -> list[HumanTask]:
    """The open tasks of one case that are mine to work on now (after starting or completing a step)."""
    per_role = _role_conditions(user)
    if not per_role:
        return []
    return _task_rows(and_(HumanTask.instance_id == case_id, _mine(user, per_role)), None, PAGE_SIZE).rows


def inbox_notices(user: User) -> list[str]:
    """Why tasks of the user's roles are withheld from them as a whole (e.g. a verifikator without a certificate)."""
    return list(_withheld_roles(user).values())


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


def case_list_select(*extra: QueryableAttribute[Any] | ColumnElement[Any]) -> Select[Any]:
    """The columns every case list shows (id, sop_key, status, outcome_label, current_steps, updated_at, title,
    version), then `extra`, one row a case with its deployment, newest first.

    Column tuples, not ORM objects: building those for 51 cases cost more than the query.
    """
    return (
        select(
            ProcessInstance.id,
            ProcessInstance.sop_key,
            ProcessInstance.status,
            ProcessInstance.outcome_label,
            ProcessInstance.current_steps,
            ProcessInstance.updated_at,
            ProcessDeployment.title,
            ProcessDeployment.version,
            *extra,
        )
        .join(ProcessDeployment, ProcessDeployment.id == ProcessInstance.deployment_id)
        .order_by(ProcessInstance.id.desc())
    )


def my_cases(user: User, before: int | None = None, limit: int = PAGE_SIZE) -> Page:
    """One keyset page of the cases the user may see, newest first (staff see all); `before` is a case id.

    The rows are the column tuples of `case_list_select`: the list shows nothing else.
    """
    query = case_list_select().limit(limit + 1)
    if before is not None:
        query = query.where(ProcessInstance.id < before)
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
    rows = list(db.session.execute(query).all())
    if len(rows) > limit:
        return Page(rows[:limit], rows[limit - 1].id)
    return Page(rows)


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


def case_view(case_id: int, user: User, *, task: HumanTask | None = None) -> CaseView:
    """A case with its tasks, documents, certificates and timeline, if the user may see it.

    Personal fields are shown as the field table says (`field_access`): at the place "kasus" for the case page
    and the API, at "tugas" when `task` is the task screen this view is for (its role's column).
    """
    case = db.session.get(ProcessInstance, case_id)
    if case is None:
        raise NotFound("Kasus tidak ditemukan.")
    if not may_view_case(user, case):
        raise Forbidden("Anda tidak berwenang melihat kasus ini.")
    subject = applicant_of(case)
    place = "kasus" if task is None else "tugas"
    viewers = field_access.case_viewers(user, case) if task is None else field_access.task_viewers(user, task, case)
    seen, own = field_access.rules(place, viewers), field_access.own_identifiers(user)

    def shown(value: Any) -> Any:
        return field_access.shown(value, place, seen, subject, own)

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
            "payload": shown(json.loads(e.payload_json)),
        }
        for e in audit.events_of_case(case.id)
    ]
    workflow = runtime.load(case.deployment.spec_json, case.state_json, runtime.SertelScriptEngine({}))
    return CaseView(
        case=case,
        applicant=shown(subject),
        open_tasks=open_tasks,
        documents=docs,
        certificates=certs,
        timeline=timeline,
        completed_elements=runtime.completed_path(workflow),
        active_elements=runtime.active_elements(workflow),
        labels=_labels(case),
        data=shown(runtime.current_data(workflow)),
        # Another person's claimed task is theirs to work: no "Kerjakan" for it.
        actionable={t.id for t in open_tasks if may_act_on(user, t) and t.claimed_by_id in (None, user.id)},
    )


def is_work_screen(task: HumanTask, user: User) -> bool:
    """Whether a task's form shows NIK and NIP in full: the field table's task-screen rule for its viewer."""
    seen = field_access.rules("tugas", field_access.task_viewers(user, task, task.instance))
    return seen["identitas"] == field_access.LENGKAP


def task_shown(task: HumanTask, user: User, data: dict[str, Any]) -> dict[str, Any]:
    """A task form's data as the field table lets the step's role read it (`field_access`, place "tugas")."""
    case = task.instance
    seen = field_access.rules("tugas", field_access.task_viewers(user, task, case))
    return dict(field_access.shown(data, "tugas", seen, applicant_of(case), field_access.own_identifiers(user)))


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
    if need_to_know.grant(user, case, document) is None:
        # Need-to-know (UU 27/2022): the table in need_to_know.py, shown at /privasi, is the rule.
        raise Forbidden(need_to_know.refusal(document))
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
    """The deployed processes a person can start, newest version of each (one statement, no diagram text)."""
    newest = (
        select(ProcessDeployment.key, func.max(ProcessDeployment.version).label("version"))
        .group_by(ProcessDeployment.key)
        .subquery()
    )
    rows = db.session.execute(
        select(
            ProcessDeployment.key,
            ProcessDeployment.title,
            ProcessDeployment.version,
            ProcessDeployment.sha256,
            ProcessDeployment.deployed_at,
        )
        .join(newest, and_(newest.c.key == ProcessDeployment.key, newest.c.version == ProcessDeployment.version))
        .order_by(ProcessDeployment.key)
    )
    return [
        {
            "key": d.key,
            "title": d.title,
            "version": d.version,
            "sha256": d.sha256,
            "deployed_at": d.deployed_at.isoformat(timespec="seconds"),
        }
        for d in rows
    ]


def agency_choices() -> list[tuple[str, str]]:
    """(code, name) of every agency, for select fields."""
    return [(a.code, a.name) for a in db.session.execute(select(Agency).order_by(Agency.name)).scalars()]


def outbox(before: int | None = None, per_page: int = PAGE_SIZE) -> Page:
    """One keyset page of the mail outbox, newest first; `before` is the id the previous page ended at."""
    query = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(per_page + 1)
    if before is not None:
        query = query.where(OutboxMail.id < before)
    rows = list(db.session.execute(query).scalars())
    if len(rows) > per_page:
        return Page(rows[:per_page], rows[per_page - 1].id)
    return Page(rows)


def _labels(case: ProcessInstance) -> dict[str, str]:
    """Element id -> label of the case's diagram and the shared call activities it may use."""
    found: dict[str, str] = {}
    common = deploy.common_processes()
    for xml in common.values():
        found.update(runtime.element_labels(xml))
    found.update(runtime.element_labels(case.deployment.xml))
    found.update(runtime.caller_labels(case.deployment.xml, common))  # shared steps named by this SOP
    return found
