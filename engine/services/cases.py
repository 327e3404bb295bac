"""Running cases: start, claim, release and complete tasks; each call is one transaction."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from engine import registry, runtime
from engine.models import Document, HumanTask, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import audit, deploy, documents
from engine.services.access import LANE_ROLES, may_act_on
from engine.services.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from engine.services.ports import agency_by_code, handler_context
from engine.services.runtime_context import settings

# Fields of a submission that describe the applicant; they update the case's applicant record.
APPLICANT_FIELDS = ("full_name", "nik", "nip", "position", "agency_code", "email", "phone")


def _engine(case: ProcessInstance, actor: str) -> runtime.SertelScriptEngine:
    return runtime.SertelScriptEngine(settings(), lambda task, params: handler_context(case, task, params, actor))


def _recorder(case: ProcessInstance, actor: str) -> Any:
    def on_completed(task: Any) -> None:
        if runtime.is_significant(task) and not runtime.is_user_task_record(task):
            record = runtime.describe_completed(task)
            audit.append(audit.case_stream(case.id), "step_completed", actor, record, case.id, record["task_name"])

    return on_completed


def start_case(sop_key: str, user: User) -> ProcessInstance:
    """Start a case of the newest version of `sop_key` for `user` as applicant."""
    if not user.has_role("Pemohon"):
        raise Forbidden("Hanya Pemohon yang dapat memulai permohonan.")
    deployment = deploy.latest(sop_key)
    if deployment is None:
        raise NotFound(f"Proses '{sop_key}' belum di-deploy.")
    case = ProcessInstance(
        deployment_id=deployment.id, sop_key=sop_key, state_json="{}", applicant_id=user.id,
        agency_id=user.agency_id, status="running",
    )
    db.session.add(case)
    db.session.flush()
    audit.append(audit.case_stream(case.id), "case_started", user.username, {"sop_key": sop_key, "deployment_version": deployment.version, "deployment_sha256": deployment.sha256}, case.id)
    engine = _engine(case, user.username)
    workflow = runtime.new_workflow(deployment.spec_json, engine)
    _run(lambda: runtime.advance(workflow, _recorder(case, user.username)))
    _save(case, workflow)
    db.session.commit()
    return case


def claim_task(task_id: int, user: User) -> HumanTask:
    """Claim an open task for `user` so that nobody else works on it."""
    task = _task_for(task_id, user)
    if task.claimed_by_id not in (None, user.id):
        raise Conflict("Tugas sudah diklaim oleh petugas lain.")
    task.claimed_by_id = user.id
    audit.append(audit.case_stream(task.instance_id), "task_claimed", user.username, {"task_id": task.id}, task.instance_id, task.task_name)
    db.session.commit()
    return task


def release_task(task_id: int, user: User) -> HumanTask:
    """Give a claimed task back to the role's queue."""
    task = _task_for(task_id, user)
    if task.claimed_by_id != user.id:
        raise Conflict("Tugas tidak sedang Anda klaim.")
    task.claimed_by_id = None
    audit.append(audit.case_stream(task.instance_id), "task_released", user.username, {"task_id": task.id}, task.instance_id, task.task_name)
    db.session.commit()
    return task


def validate_submission(task: HumanTask, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate a submission with the task's registered schema; raise Invalid with field messages."""
    schema_class = registry.form_for(task.form_key)
    if schema_class is None:
        raise Invalid(f"Formulir {task.form_key} tidak memiliki aturan validasi.")
    try:
        loaded = schema_class(unknown=EXCLUDE).load(raw)
    except ValidationError as exc:
        raise Invalid("Periksa kembali isian formulir.", _flatten(exc.messages)) from exc
    data = json.loads(json.dumps(loaded, default=str))
    _check_documents(task, data)
    if "agency_code" in data and agency_by_code(str(data["agency_code"])) is None:
        raise Invalid("Periksa kembali isian formulir.", {"agency_code": ["Perangkat Daerah tidak dikenal."]})
    return data  # type: ignore[no-any-return]


def complete_task(task_id: int, user: User, raw: dict[str, Any]) -> ProcessInstance:
    """Validate and submit a task's form, then advance the case until it waits again."""
    task = _task_for(task_id, user)
    if task.claimed_by_id not in (None, user.id):
        raise Conflict("Tugas sedang dikerjakan oleh petugas lain.")
    submission = validate_submission(task, raw)
    case = _lock_case(task.instance_id)
    db.session.refresh(task)
    if task.status != "open":
        raise Conflict("Tugas ini sudah diselesaikan.")
    _absorb_applicant_fields(case, submission)
    engine = _engine(case, user.username)
    workflow = runtime.load(case.deployment.spec_json, case.state_json, engine)
    audit.append(audit.case_stream(case.id), "task_completed", user.username, {"task_id": task.id, "submission": submission}, case.id, task.task_name)
    task.status, task.completed_at, task.completed_by_id, task.claimed_by_id = "completed", utcnow(), user.id, user.id
    _run(lambda: runtime.complete_user_task(workflow, task.task_uuid, submission, _recorder(case, user.username)))
    _save(case, workflow)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("Kasus diubah oleh pengguna lain pada saat yang sama; muat ulang dan coba lagi.") from None
    return case


def _run(step: Any) -> None:
    """Run an engine step; a handler or script failure rolls the whole transaction back."""
    try:
        step()
    except runtime.EngineError as exc:
        db.session.rollback()
        raise Unavailable(f"{exc} Data Anda belum disimpan; silakan coba lagi.") from exc


def _absorb_applicant_fields(case: ProcessInstance, submission: dict[str, Any]) -> None:
    if "nik" not in submission:
        return
    record = json.loads(case.applicant_json or "{}")
    record.update({k: submission[k] for k in APPLICANT_FIELDS if k in submission})
    agency = agency_by_code(str(submission.get("agency_code", "")))
    if agency:
        case.agency_id = agency.id
        record["agency_name"] = agency.name
    case.applicant_json = json.dumps(record, ensure_ascii=False)


def _save(case: ProcessInstance, workflow: Any) -> None:
    """Store the workflow state and project its READY user tasks into inbox rows."""
    case.state_json = runtime.dump_state(workflow)
    case.updated_at = utcnow()
    ready = runtime.ready_user_tasks(workflow)
    open_rows = {
        row.task_uuid: row
        for row in db.session.execute(select(HumanTask).where(HumanTask.instance_id == case.id, HumanTask.status == "open")).scalars()
    }
    ready_ids = {t.uuid for t in ready}
    for uuid, row in open_rows.items():
        if uuid not in ready_ids:
            row.status = "cancelled"
    for item in ready:
        if item.uuid in open_rows:
            continue
        role = LANE_ROLES.get(item.lane)
        if role is None:
            raise Unavailable(f"Tugas '{item.label}' berada di lane '{item.lane}' yang tidak dipetakan ke peran.")
        db.session.add(HumanTask(
            instance_id=case.id, task_uuid=item.uuid, task_name=item.name, form_key=item.form_key,
            label=item.label, lane=item.lane, role=role,
            owner_user_id=case.applicant_id if role == "Pemohon" else None,
            agency_id=case.agency_id if role == "Atasan" else None,
        ))
    case.current_steps = ", ".join(t.label for t in ready)[:500]
    if runtime.is_completed(workflow):
        case.status = "completed"
        case.outcome = runtime.end_event(workflow)
        case.ended_at = utcnow()
        audit.append(audit.case_stream(case.id), "case_completed", "sistem", {"outcome": case.outcome}, case.id)
    db.session.flush()


def _task_for(task_id: int, user: User) -> HumanTask:
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("Tugas tidak ditemukan.")
    if not may_act_on(user, task):
        raise Forbidden("Anda tidak berwenang atas tugas ini.")
    if task.status != "open":
        raise Conflict("Tugas ini sudah diselesaikan.")
    return task


def _lock_case(instance_id: int) -> ProcessInstance:
    """Lock the case row while it advances (FOR UPDATE on PostgreSQL; the version column elsewhere)."""
    case = db.session.execute(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    ).scalar_one()
    if case.status != "running":
        raise Conflict("Kasus ini sudah selesai.")
    return case


def _flatten(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): v if isinstance(v, list) else [str(v)] for k, v in messages.items()}
    return {"_schema": [str(m) for m in messages]}


def attach_uploads(task_id: int, user: User, files: dict[str, tuple[str, bytes]]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Store a form's uploaded files before validation, so none is lost; return (stored ids, errors)."""
    task = _task_for(task_id, user)
    schema_class = registry.form_for(task.form_key)
    document_fields = _document_fields(schema_class)
    stored: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for name, (filename, content) in files.items():
        if name not in document_fields:
            errors[name] = ["Kolom ini tidak menerima berkas."]
            continue
        try:
            document = documents.store_upload(name, filename, content, user.id, task.instance_id, user.username)
        except Invalid as exc:
            errors.update(exc.fields)
            continue
        stored[name] = document.id
    db.session.commit()
    return stored, errors


def _document_fields(schema_class: Any) -> set[str]:
    """Fields of a form schema that hold document ids (declared with metadata document=True)."""
    if schema_class is None:
        return set()
    return {name for name, f in schema_class().fields.items() if f.metadata.get("document")}


def _check_documents(task: HumanTask, data: dict[str, Any]) -> None:
    """Refuse document ids that do not belong to the task's case."""
    schema_class = registry.form_for(task.form_key)
    errors: dict[str, list[str]] = {}
    for name in _document_fields(schema_class):
        if data.get(name) in (None, ""):
            continue
        document = db.session.get(Document, int(data[name]))
        if document is None or document.instance_id != task.instance_id:
            errors[name] = ["Dokumen tidak ditemukan pada kasus ini; unggah ulang."]
    if errors:
        raise Invalid("Periksa kembali isian formulir.", errors)
