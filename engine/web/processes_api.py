"""The process-owner API under /api/v1/processes: drafts, checks, publishing, rollback and migration.

Admin writes; Admin and Auditor read (the list of processes is open to every logged-in user, who needs it
to start a case, but only staff see drafts). Every write is an audit event (in the services).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from engine import runtime
from engine.services import deploy, migration, queries, regression_fixtures, transactions, versions
from engine.services.errors import Invalid
from engine.web.auth import login_required

bp = Blueprint("processes_api", __name__, url_prefix="/api/v1/processes")

READERS = ("Admin", "Auditor")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and request.content_length:
        raise Invalid("Badan permintaan harus JSON.")
    if body is not None and not isinstance(body, dict):
        raise Invalid("Badan permintaan harus objek JSON.")
    return body or {}


def _xml(body: dict[str, Any], required: bool = True) -> str | None:
    xml = body.get("xml")
    if xml is None and not required:
        return None
    if not isinstance(xml, str) or not xml.strip():
        raise Invalid("Diagram (xml) wajib diisi.", {"xml": ["Wajib diisi."]})
    return xml


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise Invalid(f"'{name}' harus nomor versi.", {name: ["Harus bilangan bulat."]})
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Invalid(f"'{name}' harus nomor versi.", {name: ["Harus bilangan bulat."]}) from None


def _problems(found: list[runtime.Problem]) -> list[dict[str, str]]:
    return [{"element_id": p.element_id, "message": p.message} for p in found]


@bp.get("")
@login_required()
def list_processes() -> Any:
    """Every process with its current version (and, for Admin and Auditor, whether a draft waits)."""
    staff = any(g.user.has_role(r) for r in READERS)
    published = {p["key"]: p for p in queries.processes()}
    rows = []
    for row in versions.overview():
        if not staff and row["current_version"] is None:
            continue
        # "version", "sha256" and "deployed_at": the fields this list had before issue 9, kept for clients.
        extra = published.get(row["key"], {})
        rows.append({**extra, **row, "draft": row["draft"] if staff else None})
    return jsonify(rows)


@bp.get("/<key>")
@login_required(*READERS)
def process_detail(key: str) -> Any:
    """A process: its current version and its draft."""
    return jsonify(versions.detail(key))


@bp.get("/<key>/versions")
@login_required(*READERS)
def process_versions(key: str) -> Any:
    """The published versions of a process, newest first."""
    return jsonify(versions.version_list(key))


@bp.get("/<key>/versions/<int:number>/xml")
@login_required(*READERS)
def version_xml(key: str, number: int) -> Any:
    """The diagram of one published version."""
    return Response(versions.version(key, number).xml, mimetype="application/xml")


@bp.put("/<key>/draft")
@login_required("Admin")
def save_draft(key: str) -> Any:
    """Save a draft (well-formed XML only); the answer lists what publishing would refuse."""
    draft, found = versions.save_draft(key, _xml(_body()) or "", g.user.username)
    return jsonify(saved_at=draft.saved_at.isoformat(timespec="seconds"), problems=_problems(found))


@bp.post("/<key>/check")
@login_required("Admin")
def check(key: str) -> Any:
    """Run every publish check on a diagram (stored regression fixtures re-executed on it); nothing is saved."""
    found, regressions = versions.check_report(key, _xml(_body()) or "")
    return jsonify(problems=_problems(found), regressions=regressions)


@bp.post("/<key>/publish")
@login_required("Admin")
def publish(key: str) -> Any:
    """Publish a diagram (default: the draft) as the current version, or refuse with problems per element."""
    xml = _xml(_body(), required=False)
    try:
        deployment, created = versions.publish(key, xml, g.user.username)
    except Invalid as exc:
        transactions.abandon()
        found = deploy.problems_of(exc, key)
        return jsonify(message=exc.message, problems=_problems(found), error=exc.message, fields=exc.fields), 422
    if not created:
        return jsonify(version=deployment.version, unchanged=True), 200
    return jsonify(version=deployment.version), 201


@bp.post("/<key>/rollback")
@login_required("Admin")
def rollback(key: str) -> Any:
    """Publish an earlier version again as a new version number."""
    body = _body()
    number = _int(body.get("version"), "version")
    deployment = versions.rollback(key, number, g.user.username)
    return jsonify(version=deployment.version, rolled_back_from=number), 201


@bp.get("/<key>/migrations/preview")
@login_required(*READERS)
def migration_preview(key: str) -> Any:
    """Which running cases of version `from` can move to version `to`, and why the others cannot."""
    source = _int(request.args.get("from"), "from")
    target = _int(request.args.get("to"), "to")
    return jsonify(migration.preview(key, source, target))


@bp.post("/<key>/migrations")
@login_required("Admin")
def migrate(key: str) -> Any:
    """Move the movable running cases of version `from` (all, or `case_ids`) to version `to`."""
    body = _body()
    source, target = _int(body.get("from"), "from"), _int(body.get("to"), "to")
    raw_ids = body.get("case_ids")
    if raw_ids is not None and not isinstance(raw_ids, list):
        raise Invalid("'case_ids' harus daftar nomor kasus.", {"case_ids": ["Harus daftar."]})
    case_ids = [_int(c, "case_ids") for c in raw_ids] if raw_ids is not None else None
    return jsonify(migration.migrate(key, source, target, case_ids, g.user.username))


@bp.get("/<key>/regressions")
@login_required(*READERS)
def regression_list(key: str) -> Any:
    """The stored regression fixtures of a process (re-executed before every publish)."""
    return jsonify(regression_fixtures.listing(key))


@bp.post("/<key>/regressions")
@login_required("Admin")
def regression_save(key: str) -> Any:
    """Save a finished case of the process as a named regression fixture."""
    body = _body()
    case_id = _int(body.get("case_id"), "case_id")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise Invalid("'name' harus teks.", {"name": ["Harus teks."]})
    row = regression_fixtures.save(case_id, name, g.user.username, key=key)
    return jsonify(id=row.id, name=row.name, key=row.key, case_id=row.case_id, version=row.version), 201


@bp.delete("/<key>/regressions/<int:fixture_id>")
@login_required("Admin")
def regression_delete(key: str, fixture_id: int) -> Any:
    """Delete a stored regression fixture."""
    regression_fixtures.delete(key, fixture_id, g.user.username)
    return jsonify(deleted=fixture_id)
