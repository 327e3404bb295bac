"""Running cases: start, claim, release and complete tasks; each call is one transaction."""

from __future__ import annotations

import json
from typing import Any, cast

from marshmallow import EXCLUDE, ValidationError
from sqlalchemy import ColumnElement, CursorResult, select, update

from engine import registry, runtime
from engine.models import Certificate, Document, HumanTask, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import (
    advance,
    audit,
    background,
    deploy,
    documents,
    held,
    people,
    requirements,
    transactions,
)
from engine.services.access import task_refusal
from engine.services.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from engine.services.ports import agency_by_code

# Fields an applicant declares themself on an identity form; kept with the case (everything else is the person record's).
DECLARED_FIELDS = ("phone", "position")


def start_case(
    sop_key: str,
    user: User,
    start_data: dict[str, Any] | None = None,
    applicant: User | None = None,
    on_behalf_reason: str = "",
) -> ProcessInstance:
    """Start a case of the newest version of `sop_key`: by a Pemohon for themself, or on behalf of someone.

    On behalf (RA staff, or an agency head where the process opts in) is its own path: the reason is
    required and recorded on the case and in its log. The applicant must have a person record.
    """
    transactions.begin_write()
    applicant = applicant or user
    on_behalf = applicant.id != user.id
    if not on_behalf and not user.has_role("Pemohon"):
        raise Forbidden("Hanya Pemohon yang dapat memulai permohonan.")
    deployment = deploy.latest(sop_key)
    if deployment is None:
        raise NotFound(f"Proses '{sop_key}' belum di-deploy.")
    start_form = runtime.definition_start_form(deployment.spec_json)
    if on_behalf and not _may_start_for(start_form, user, applicant):
        raise Forbidden(
            "Hanya petugas Otoritas Pendaftaran (atau Kepala Perangkat Daerah bila prosesnya mengizinkan) yang dapat memulai permohonan atas nama orang lain."
        )
    reason = " ".join(on_behalf_reason.split())
    if on_behalf and not reason:
        raise Invalid(
            "Alasan pengajuan atas nama orang lain wajib diisi.",
            {"on_behalf_reason": ["Wajib diisi bila mengajukan atas nama orang lain."]},
        )
    if applicant.person is None:
        raise Invalid(
            f"Akun '{applicant.username}' belum terhubung dengan data identitas (NIK); "
            "Admin Otoritas Pendaftaran perlu mengaturnya terlebih dahulu."
        )
    serial = (start_data or {}).get("certificate_serial")
    requirements.refuse_without_certificate(
        deployment, applicant, serial if isinstance(serial, str) else "", for_self=not on_behalf
    )
    data = _validate_start(sop_key, start_form, applicant, start_data or {})
    case = ProcessInstance(
        deployment_id=deployment.id,
        sop_key=sop_key,
        state_json="{}",
        applicant_id=applicant.id,
        agency_id=applicant.agency_id,
        started_by_id=user.id,
        on_behalf_reason=reason if on_behalf else None,
        status="running",
    )
    db.session.add(case)
    db.session.flush()
    audit.append(
        audit.case_stream(case.id),
        "case_started",
        user.username,
        {
            "sop_key": sop_key,
            "deployment_version": deployment.version,
            "deployment_sha256": deployment.sha256,
            "applicant": applicant.username,
            "start_data": data,
            **({"on_behalf": {"by": user.username, "reason": reason}} if on_behalf else {}),
        },
        case.id,
    )
    workflow = runtime.new_workflow(deployment.spec_json, advance.engine_for(case, user.username, actor_user=user))
    runtime.seed(workflow, {"started_by": user.username, **data})
    advance.run_step(lambda: runtime.advance(workflow, advance.step_recorder(case, user.username)))
    advance.save_case(case, workflow)
    db.session.commit()
    background.kick(case)
    return case


def _may_start_for(start_form: str | None, user: User, applicant: User) -> bool:
    """RA staff may start for anyone; an agency head for their own agency's people if the process opts in."""
    if user.has_role("Verifikator") or user.has_role("Admin"):
        return True
    schema_class = registry.form_for(start_form) if start_form else None
    opted_in = bool(getattr(schema_class, "allow_agency_head", False))
    return opted_in and user.has_role("Atasan") and user.agency_id is not None and user.agency_id == applicant.agency_id


def _validate_start(sop_key: str, start_form: str | None, applicant: User, raw: dict[str, Any]) -> dict[str, Any]:
    """Validate a case's start data with the process's start form (its diagram names it); a certificate
    must be the applicant's. A process without a start form takes no start data."""
    schema_class = registry.form_for(start_form) if start_form else None
    _refuse_second_certificate(sop_key, schema_class, applicant)
    if schema_class is None:
        if raw:
            raise Invalid(f"Proses '{sop_key}' tidak menerima data awal.")
        return {}
    try:
        data: dict[str, Any] = json.loads(json.dumps(schema_class(unknown=EXCLUDE).load(raw), default=str))
    except ValidationError as exc:
        raise Invalid("Periksa kembali data awal permohonan.", _flatten(exc.messages)) from exc
    serial = data.get("certificate_serial")
    if serial:
        cert = db.session.execute(select(Certificate).where(Certificate.serial == serial)).scalar_one_or_none()
        if cert is None or cert.user_id != applicant.id:
            raise Invalid(
                "Periksa kembali data awal permohonan.",
                {"certificate_serial": ["Sertifikat tidak ditemukan pada pemohon ini."]},
            )
    return data


# Where a person who already holds a certificate of a kind is sent instead of a second issuance.
SECOND_CERTIFICATE_REFUSED = {
    "esign": "Anda sudah memiliki Sertifikat Elektronik eSign yang aktif (nomor seri {serial}). Satu orang hanya "
    "boleh memiliki satu sertifikat eSign aktif: ajukan pembaruan (SOP 088.10) bila akan habis masa berlakunya, "
    "atau SOP 088.13 bila lupa passphrase / terkunci.",
    "ams": "Anda sudah memiliki Sertifikat Elektronik aktif (nomor seri {serial}). Ajukan pembaruan (SOP 088.10) "
    "atau pencabutan (SOP 088.11), bukan penerbitan baru.",
}


def _refuse_second_certificate(sop_key: str, schema_class: Any, applicant: User) -> None:
    """One active certificate of a kind per person, and one pending request for it.

    A process whose start schema names the kind it issues (`issues_certificate_kind`) is refused up front
    for someone who holds an active certificate of that kind, or who already has such a request running
    (a double click on "start" must not make two applications). The applicant's row is locked first so two
    concurrent starts see each other.
    """
    kind = getattr(schema_class, "issues_certificate_kind", None)
    if not kind:
        return
    db.session.execute(select(User.id).where(User.id == applicant.id).with_for_update())
    held = (
        db.session.execute(
            select(Certificate).where(
                Certificate.user_id == applicant.id,
                Certificate.kind == kind,
                Certificate.status == "active",
                Certificate.not_after > utcnow(),
            )
        )
        .scalars()
        .first()
    )
    if held is not None:
        template = SECOND_CERTIFICATE_REFUSED.get(str(kind), SECOND_CERTIFICATE_REFUSED["ams"])
        raise Conflict(template.format(serial=held.serial))
    running = db.session.execute(
        select(ProcessInstance.id).where(
            ProcessInstance.applicant_id == applicant.id,
            ProcessInstance.sop_key == sop_key,
            ProcessInstance.status == "running",
        )
    ).scalar()
    if running is not None:
        raise Conflict(f"Permohonan #{running} untuk proses ini masih berjalan; lanjutkan permohonan tersebut.")


def claim_task(task_id: int, user: User) -> HumanTask:
    """Claim an open task for `user` so that nobody else works on it; of racing claimers exactly one wins."""
    transactions.begin_write()
    task = _task_for(task_id, user)
    if not _update_open_task(task, HumanTask.claimed_by_id.is_(None), claimed_by_id=user.id):
        if task.claimed_by_id == user.id:
            db.session.rollback()
            return task  # a repeated click: the first claim stands and is logged once
        raise Conflict("Tugas sudah diklaim oleh petugas lain.")
    audit.append(
        audit.case_stream(task.instance_id),
        "task_claimed",
        user.username,
        {"task_id": task.id},
        task.instance_id,
        task.task_name,
    )
    db.session.commit()
    return task


def release_task(task_id: int, user: User) -> HumanTask:
    """Give a claimed task back to the role's queue (the claimant may, even if a duty rule now bars them)."""
    transactions.begin_write()
    task = _task_for(task_id, user, claimant_may=True)
    if not _update_open_task(task, HumanTask.claimed_by_id == user.id, claimed_by_id=None):
        raise Conflict("Tugas tidak sedang Anda klaim.")
    audit.append(
        audit.case_stream(task.instance_id),
        "task_released",
        user.username,
        {"task_id": task.id},
        task.instance_id,
        task.task_name,
    )
    db.session.commit()
    return task


def identity_sources(task: HumanTask, actor: User | None) -> dict[str, dict[str, Any]]:
    """The person records a task's bound fields are filled from: the case's applicant and the acting user."""
    applicant = held.user(task.instance.applicant_id)
    return {"applicant": people.person_record(applicant), "actor": people.person_record(actor)}


def bound_values(task: HumanTask, user: User) -> dict[str, Any]:
    """The values of a task's fields that come from a person record, to show read-only in its form."""
    schema_class = registry.form_for(task.form_key)
    if schema_class is None:
        return {}
    values, _errors = people.bind_fields(schema_class, {}, identity_sources(task, user))
    return {k: v for k, v in values.items() if v not in (None, "")}


def _update_open_task(task: HumanTask, condition: ColumnElement[bool], **values: Any) -> bool:
    """Change an open task only if `condition` still holds, as one conditional UPDATE; then re-read it.

    A read-check-write would let two concurrent claimers both see the task free and both "win"; the
    database applies this UPDATE to the row once, so only the first matching writer changes it.
    """
    # An UPDATE always yields a CursorResult (the one with `rowcount`); Session.execute is typed as Result.
    changed = cast(
        CursorResult[Any],
        db.session.execute(
            update(HumanTask)
            .where(HumanTask.id == task.id, HumanTask.status == "open", condition)
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.refresh(task)
    if not changed and task.status != "open":
        raise Conflict("Tugas ini sudah diselesaikan.")
    return bool(changed)


def validate_submission(
    task: HumanTask,
    raw: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    actor: User | None = None,
    pending: set[str] | None = None,
) -> dict[str, Any]:
    """Validate a submission with the schema of the task's catalogue form; raise Invalid with field messages.

    The schema instance gets `inputs` (the form's evaluated `<sertel:input>` values), so a rule may depend
    on the case, e.g. "tick the recommendation check only when there is a recommendation".
    """
    schema_class = registry.form_for(task.form_key)
    if schema_class is None:
        raise Invalid(f"Formulir {task.form_key} tidak memiliki aturan validasi.")
    raw, identity_errors = people.bind_fields(schema_class, raw, identity_sources(task, actor))
    schema = schema_class(unknown=EXCLUDE)
    schema.inputs = dict(inputs or {})  # type: ignore[attr-defined]  # ad-hoc attribute the form schemas read via getattr()
    try:
        loaded = schema.load(raw)
    except ValidationError as exc:
        raise Invalid("Periksa kembali isian formulir.", {**_flatten(exc.messages), **identity_errors}) from exc
    if identity_errors:
        raise Invalid("Data identitas tidak dapat diubah di formulir.", identity_errors)
    data: dict[str, Any] = json.loads(json.dumps(loaded, default=str))
    _check_documents(task, data, pending or set())
    if "agency_code" in data and agency_by_code(str(data["agency_code"])) is None:
        raise Invalid("Periksa kembali isian formulir.", {"agency_code": ["Perangkat Daerah tidak dikenal."]})
    return data


def complete_task(
    task_id: int, user: User, raw: dict[str, Any], uploads: dict[str, tuple[str, bytes]] | None = None
) -> ProcessInstance:
    """Validate and submit a task's form, then advance the case until it waits again.

    `uploads` (field -> (file name, bytes)) are checked with the form and stored only once the whole form is
    valid, in this transaction: a refused submit keeps no document, and every error shows at once.
    """
    transactions.begin_write(keep=user)
    # The case and the inbox row are locked first (case, then task: one lock order everywhere), then the accounts
    # the checks need and the case's rows are read under the lock, so a claim or another completion that raced
    # this one is seen here, and the checks below hold until this transaction commits.
    case, task, rows = advance.lock_task(task_id, user)
    _check_task(task, user, completed_roles=rows.completed_roles(user))
    if case.status != "running":
        raise Conflict("Kasus ini sudah selesai.")
    if task.claimed_by_id not in (None, user.id):
        raise Conflict("Tugas sedang dikerjakan oleh petugas lain.")
    secrets: dict[str, str] = {}  # filled below; the engine's handlers read it during this run only
    workflow = advance.load_case(case, advance.engine_for(case, user.username, secrets, actor_user=user))
    submission = _validate_with_uploads(task, raw, uploads or {}, _inputs(workflow, task), user)
    secrets.update(
        {
            name: str(submission.pop(name))
            for name in _secret_fields(registry.form_for(task.form_key))
            if name in submission
        }
    )
    _absorb_applicant_fields(case, submission)
    audit.append(
        audit.case_stream(case.id),
        "task_completed",
        user.username,
        {"task_id": task.id, "submission": submission},
        case.id,
        task.task_name,
    )
    task.status, task.completed_at, task.completed_by_id, task.claimed_by_id = "completed", utcnow(), user.id, user.id
    recorder = advance.step_recorder(case, user.username)

    def step() -> None:
        runtime.complete_user_task(workflow, task.task_uuid, submission, recorder)
        if secrets:
            # What the person typed for this request only (a passphrase) is gone after it: the background
            # steps that may need it run now.
            runtime.run_background_steps(workflow, recorder)

    advance.run_step(step)
    advance.save_case(case, workflow, rows)
    try:
        transactions.commit_as_written()
    except Exception as exc:
        db.session.rollback()
        conflict = transactions.race_error(exc)
        if conflict is None:
            raise
        raise conflict from exc
    background.kick(case)
    return case


# Stands in for a new upload while the form is validated (a document id is a positive integer); replaced by the
# id of the stored document once the form is valid.
_UPLOAD_PENDING = 1
UPLOAD_NOT_KEPT = "Berkas ini belum disimpan karena isian lain perlu diperbaiki; pilih berkas ini lagi."


def _validate_with_uploads(
    task: HumanTask, raw: dict[str, Any], uploads: dict[str, tuple[str, bytes]], inputs: dict[str, Any], actor: User
) -> dict[str, Any]:
    """Validate the form and its uploaded files together (every error at once), then store the files."""
    document_fields = _document_fields(registry.form_for(task.form_key))
    accepted: dict[str, documents.CheckedUpload] = {}
    upload_errors: dict[str, list[str]] = {}
    for name, (filename, content) in uploads.items():
        if name not in document_fields:
            upload_errors[name] = ["Kolom ini tidak menerima berkas."]
            continue
        try:
            accepted[name] = documents.check_upload(name, filename, content)
        except Invalid as exc:
            upload_errors.update(exc.fields)
    values = {**raw, **{name: _UPLOAD_PENDING for name in accepted}}
    try:
        submission = validate_submission(task, values, inputs, actor, pending=set(accepted))
    except Invalid as exc:
        not_kept = {name: [UPLOAD_NOT_KEPT] for name in accepted if name not in exc.fields}
        raise Invalid(exc.message, {**exc.fields, **upload_errors, **not_kept}) from exc
    if upload_errors:
        not_kept = {name: [UPLOAD_NOT_KEPT] for name in accepted}
        raise Invalid("Sebagian berkas ditolak.", {**upload_errors, **not_kept})
    for name, upload in accepted.items():
        submission[name] = documents.store_upload(upload, actor.id, task.instance_id, actor.username).id
    return submission


def _inputs(workflow: Any, task: HumanTask) -> dict[str, Any]:
    """The task's form inputs; a failing input expression is the diagram's fault, reported to staff."""
    try:
        return runtime.form_inputs(workflow, task.task_uuid)
    except runtime.EngineError as exc:
        raise Unavailable(str(exc)) from exc


def task_form(task: HumanTask) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a task's form shows: its evaluated inputs and the earlier submission under its output (to prefill).

    Read-only: the case is loaded from its stored state and nothing is saved.
    """
    case = task.instance
    workflow = runtime.load(case.deployment.spec_json, case.state_json, advance.engine_for(case, "sistem"))
    try:
        form = runtime.task_form(workflow, task.task_uuid)
    except runtime.EngineError:
        raise Conflict("Tugas ini sudah diselesaikan.") from None
    previous = runtime.task_data(workflow, task.task_uuid).get(form.output) or {}
    return _inputs(workflow, task), previous if isinstance(previous, dict) else {}


def _absorb_applicant_fields(case: ProcessInstance, submission: dict[str, Any]) -> None:
    """Keep what the applicant declared on an identity form (phone, a position the record lacks) with the case.

    Identity itself (name, NIK, NIP, agency, e-mail) is the person record's and is never taken from a form.
    """
    if "nik" not in submission:
        return
    record = json.loads(case.applicant_json or "{}")
    record.update({k: submission[k] for k in DECLARED_FIELDS if submission.get(k)})
    case.applicant_json = json.dumps(record, ensure_ascii=False)


def _task_for(task_id: int, user: User, claimant_may: bool = False) -> HumanTask:
    task = db.session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("Tugas tidak ditemukan.")
    return _check_task(task, user, claimant_may)


def _check_task(
    task: HumanTask, user: User, claimant_may: bool = False, completed_roles: set[str] | None = None
) -> HumanTask:
    """Refuse (403) a user who may not act on the task, then (409) a task that is no longer open."""
    # A claim must never be stuck: whoever holds it can give it back, e.g. after their certificate expired.
    refusal = None if claimant_may and task.claimed_by_id == user.id else task_refusal(user, task, completed_roles)
    if refusal is not None:
        raise Forbidden(refusal)
    if task.status != "open":
        raise Conflict("Tugas ini sudah diselesaikan.")
    return task


def _flatten(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): v if isinstance(v, list) else [str(v)] for k, v in messages.items()}
    return {"_schema": [str(m) for m in messages]}


def _document_fields(schema_class: Any) -> set[str]:
    """Fields of a form schema that hold document ids (declared with metadata document=True)."""
    if schema_class is None:
        return set()
    return {name for name, f in registry.schema_fields(schema_class).items() if f.metadata.get("document")}


def _secret_fields(schema_class: Any) -> set[str]:
    """Fields of a form schema that hold secrets (metadata secret=True): passed to handlers, never stored."""
    if schema_class is None:
        return set()
    return {name for name, f in registry.schema_fields(schema_class).items() if f.metadata.get("secret")}


def _check_documents(task: HumanTask, data: dict[str, Any], pending: set[str]) -> None:
    """Refuse document ids that do not belong to the task's case (`pending`: fields whose file comes with this submit)."""
    schema_class = registry.form_for(task.form_key)
    errors: dict[str, list[str]] = {}
    for name in _document_fields(schema_class):
        if name in pending or data.get(name) in (None, ""):
            continue
        document = db.session.get(Document, int(data[name]))
        if document is None or document.instance_id != task.instance_id:
            errors[name] = ["Dokumen tidak ditemukan pada kasus ini; unggah ulang."]
    if errors:
        raise Invalid("Periksa kembali isian formulir.", errors)
