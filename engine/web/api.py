"""The JSON API under /api/v1: tokens, processes, cases, tasks, documents and certificates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import Schema, ValidationError

from engine import registry
from engine.models import Certificate, Document, HumanTask, ProcessInstance
from engine.services import (
    access_log,
    accounts,
    cases,
    catalogue,
    certificates,
    documents,
    duties,
    messages,
    personal_data,
    queries,
    worklist,
)
from engine.services.errors import Invalid
from engine.web import labels, openapi
from engine.web.api_schemas import StartCaseSchema, TaskFiltersSchema, TokenRequestSchema, describe
from engine.web.auth import login_required

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _load(schema: Schema, source: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load the JSON body (or `source`, e.g. the query string) with `schema`; Indonesian 422 on a bad value."""
    if source is None:
        source = request.get_json(silent=True) or {}
    try:
        data: dict[str, Any] = schema.load(source)
    except ValidationError as exc:
        # A Schema (not a single field) raised it, so its messages are always keyed by field.
        raise Invalid(
            "Input tidak valid.", {k: v if isinstance(v, list) else [str(v)] for k, v in exc.messages_dict.items()}
        ) from exc
    return data


def task_json(task: HumanTask) -> dict[str, Any]:
    """An inbox row as JSON."""
    return {
        "id": task.id,
        "case_id": task.instance_id,
        "task_name": task.task_name,
        "label": task.label,
        "lane": task.lane,
        "role": task.role,
        "status": task.status,
        "claimed_by": task.claimed_by_id,
        "form_key": task.form_key,
        "created_at": task.created_at.isoformat(timespec="seconds"),
    }


def case_json(case: ProcessInstance) -> dict[str, Any]:
    """A case's summary as JSON."""
    return {
        "id": case.id,
        "process_key": case.sop_key,
        "process_version": case.deployment.version,
        "status": case.status,
        "outcome": case.outcome,
        "current_steps": case.current_steps,
        "on_behalf": queries.on_behalf_of(case),
        "created_at": case.created_at.isoformat(timespec="seconds"),
    }


def document_json(doc: Document) -> dict[str, Any]:
    """A document's metadata as JSON."""
    return {
        "id": doc.id,
        "filename": doc.filename,
        "media_type": doc.media_type,
        "size": doc.size,
        "sha256": doc.sha256,
        "kind": doc.kind,
        "form_field": doc.form_field,
        "label": documents.kind_label(doc),
    }


def certificate_json(cert: Certificate) -> dict[str, Any]:
    """A certificate's metadata as JSON."""
    return {
        "serial": cert.serial,
        "subject": cert.subject,
        "status": cert.status,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
    }


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi.document())


@bp.post("/auth/token")
def token() -> Any:
    """Exchange a username and password for a bearer token."""
    body = _load(TokenRequestSchema())
    user = accounts.authenticate(body["username"], body["password"], request.remote_addr or "")
    if user is None:
        return jsonify(error="Nama pengguna atau kata sandi salah."), 401
    return jsonify(token=accounts.issue_token(user), token_type="Bearer", roles=user.role_names)


@bp.post("/cases")
@login_required("Pemohon", "Verifikator", "Admin")
def start_case() -> Any:
    """Start a case (for oneself, or as RA staff for an applicant); answer with it and its first tasks."""
    body = _load(StartCaseSchema())
    applicant = accounts.user_by_username(body["applicant"]) if body["applicant"] else None
    case = cases.start_case(body["process_key"], g.user, body["data"], applicant, body["on_behalf_reason"])
    mine = queries.my_tasks_of_case(g.user, case.id)
    return jsonify(case=case_json(case), tasks=[task_json(t) for t in mine]), 201


@bp.get("/cases/<int:case_id>")
@login_required()
def get_case(case_id: int) -> Any:
    """A case with its open tasks, documents, certificates and timeline."""
    view = queries.case_view(case_id, g.user)
    access_log.log_view(g.user, "case_viewed", {"case_id": case_id})
    return jsonify(
        case=case_json(view.case),
        applicant=view.applicant,
        open_tasks=[task_json(t) for t in view.open_tasks],
        documents=[document_json(d) for d in view.documents],
        certificates=[certificate_json(c) for c in view.certificates],
        timeline=view.timeline,
        data=view.data,
    )


@bp.post("/cases/<int:case_id>/messages")
@login_required("Admin")
def deliver_message(case_id: int) -> Any:
    """Deliver a BPMN message the case waits for: {"name": "...", "payload": {...}} (logged, replayable)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise Invalid("Badan permintaan harus objek JSON dengan 'name'.", {"name": ["Wajib diisi."]})
    payload = body.get("payload") or {}
    if not isinstance(payload, dict):
        raise Invalid("'payload' harus objek JSON.", {"payload": ["Harus objek."]})
    case = messages.deliver(case_id, body["name"], payload, g.user.username)
    return jsonify(case=case_json(case))


# The API's filter values and the inbox page's (worklist.Filters speaks the page's query string).
_SLA = {"overdue": "terlambat", "due_soon": "segera"}
_CLAIM = {"mine": "saya", "unclaimed": "belum"}
_SORT = {"oldest": "lama", "newest": "baru", "due": "tenggat"}
_SLA_STATE = {v: k for k, v in _SLA.items()}


def _task_filters() -> tuple[worklist.Filters, dict[str, Any]]:
    """The filters and paging of GET /tasks from the query string; a bad value is a 422 naming the parameter."""
    given = {k: v for k, v in request.args.items() if v.strip()}
    args = _load(TaskFiltersSchema(), given)
    filters = worklist.Filters(
        sop=args.get("sop", ""),
        agency=args.get("agency", ""),
        sla=_SLA.get(args.get("sla", ""), ""),
        claim=_CLAIM.get(args.get("claim", ""), ""),
        q=args.get("q", "").strip(),
        sort=_SORT.get(args.get("sort", ""), "lama"),
    )
    worklist.require_known_choices(filters)
    cursors: dict[str, Any] = {}
    for name in ("mine_after", "claimable_after"):
        raw = args.get(name)
        cursors[name] = worklist.parse_page_cursor(raw)
        if raw and cursors[name] is None:
            raise Invalid(
                "Input tidak valid.", {name: ["Kursor halaman tidak valid; pakai nilai `next` jawaban sebelumnya."]}
            )
    cursors["limit"] = args.get("limit", queries.PAGE_SIZE)
    return filters, cursors


def task_row_json(row: worklist.TaskRow) -> dict[str, Any]:
    """An inbox row with its case, applicant and SLA state as JSON (the fields of task_json and more)."""
    return {
        "id": row.id,
        "case_id": row.instance_id,
        "task_name": row.task_name,
        "label": row.label,
        "lane": row.lane,
        "role": row.role,
        "status": "open",
        "claimed_by": row.claimed_by_id,
        "form_key": row.form_key,
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "process_key": row.sop_key,
        "process_title": row.title,
        "sop_number": labels.sop_number(row.sop_key) or None,
        "applicant_name": row.applicant_name,
        "agency_name": row.agency_name,
        "due_at": row.due_at.isoformat(timespec="seconds") if row.due_at else None,
        "sla": _SLA_STATE.get(row.sla),
        "waited_seconds": int(row.waited.total_seconds()),
        "fast_track": row.urgent,
        "check_errors": row.check_errors,
        "check_warnings": row.check_warnings,
    }


@bp.get("/tasks")
@login_required()
def list_tasks() -> Any:
    """My tasks, the tasks I may claim, and why tasks of my roles are withheld from me (if they are).

    Filtered like the inbox page (SOP, agency, SLA state, claim, search), fast tracks first; keyset pages of
    50 (at most `limit`): `mine_after` / `claimable_after` take the `next` cursors of the previous answer,
    which are null on the last page.
    """
    filters, paging = _task_filters()
    board = worklist.inbox_board(
        g.user,
        filters,
        mine_after=paging["mine_after"],
        claimable_after=paging["claimable_after"],
        limit=paging["limit"],
    )
    return jsonify(
        mine=[task_row_json(t) for t in board.mine.rows],
        claimable=[task_row_json(t) for t in board.claimable.rows],
        next={"mine_after": board.mine.next_after, "claimable_after": board.claimable.next_after},
        notices=board.notices,
    )


@bp.get("/duties")
@login_required()
def list_duties() -> Any:
    """The separation-of-duties rules the engine enforces on every case."""
    return jsonify(rules=duties.describe_rules())


@bp.post("/tasks/<int:task_id>/claim")
@login_required()
def claim(task_id: int) -> Any:
    """Claim a task."""
    return jsonify(task=task_json(cases.claim_task(task_id, g.user)))


@bp.post("/tasks/<int:task_id>/release")
@login_required()
def release(task_id: int) -> Any:
    """Release a claimed task."""
    return jsonify(task=task_json(cases.release_task(task_id, g.user)))


@bp.get("/tasks/<int:task_id>/form")
@login_required()
def form(task_id: int) -> Any:
    """A task's form: its JSON Schema and the data it is prefilled with."""
    task, data = queries.task_for_form(task_id, g.user)
    schema_class = registry.form_for(task.form_key)
    inputs, previous = cases.task_form(task) if task.status == "open" else ({}, {})
    # Personal fields as the field table lets the step's role read them (field_access, docs/privacy.md).
    previous, inputs, data = (queries.task_shown(task, g.user, d) for d in (previous, inputs, data))
    return jsonify(
        task=task_json(task),
        schema=describe(schema_class) if schema_class else None,
        prefill=previous,
        inputs=inputs,
        data=data,
    )


@bp.post("/tasks/<int:task_id>/complete")
@login_required()
def complete(task_id: int) -> Any:
    """Complete a task with JSON, or multipart fields and files."""
    if request.mimetype == "multipart/form-data":
        values: dict[str, Any] = dict(request.form.items())
        files = {name: (f.filename or "berkas", f.read()) for name, f in request.files.items() if f and f.filename}
    else:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Invalid("Badan permintaan harus objek JSON.")
        values, files = body, {}
    case = cases.complete_task(task_id, g.user, values, files)
    mine = queries.my_tasks_of_case(g.user, case.id)
    return jsonify(case=case_json(case), next_tasks=[task_json(t) for t in mine])


@bp.get("/documents/<int:document_id>")
@login_required()
def document(document_id: int) -> Any:
    """Download a document."""
    doc, content = personal_data.open_document(document_id, g.user)
    return Response(
        content,
        mimetype=doc.media_type,
        headers={"Content-Disposition": f'attachment; filename="{doc.filename}"'},
    )


@bp.get("/certificates/<serial>")
@login_required()
def certificate(serial: str) -> Any:
    """Download a certificate and its chain (PEM)."""
    cert = certificates.download_certificate(serial, g.user)
    return Response(cert.certificate_pem + cert.chain_pem, mimetype="application/x-pem-file")


@bp.get("/catalogue")
@login_required("Admin", "Auditor")
def get_catalogue() -> Any:
    """What a diagram may name: catalogue forms, operators with parameters and results, lane roles, settings."""
    return jsonify(catalogue.catalogue())
