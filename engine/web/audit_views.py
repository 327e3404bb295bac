"""The auditor's pages: verify the event log, search every case (and export the result), take a case's
evidence package away."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, render_template, request

from engine.models import db
from engine.services import access_log, audit_anchor, audit_verify, case_search, evidence_package, queries, security_log
from engine.services.errors import Invalid
from engine.web import labels
from engine.web.auth import login_required

bp = Blueprint("audit", __name__, url_prefix="/audit")

SEARCH_ROLES = ("Auditor", "Admin")


@bp.get("/verifikasi")
@login_required("Auditor", "Admin")
def verify() -> Any:
    """Verify every chain now and name the first event of each stream that does not fit."""
    findings = audit_verify.verify()
    anchor = audit_anchor.newest()
    return render_template(
        "audit_verify.html",
        findings=findings,
        anchor=anchor,
        anchored=len(audit_anchor.anchored_heads(anchor)) if anchor else 0,
        security_events=security_log.recent(100),
    )


def search_choices() -> dict[str, list[tuple[str, str]]]:
    """The search form's lists, as people read them (the query still carries the stored codes)."""
    return {
        "agencies": queries.agency_choices(),
        "processes": [
            (p["key"], p["title"]) for p in sorted(queries.processes(), key=lambda p: labels.sop_order(p["key"]))
        ],
        "statuses": list(labels.STATUS_LABELS.items()),
        "outcomes": case_search.outcome_choices(),
    }


@bp.get("/kasus")
@login_required(*SEARCH_ROLES)
def search() -> Any:
    """Search every case; a search naming a person (name, NIK, NIP) is logged as an access event."""
    try:
        criteria = case_search.parse_criteria(request.args)
    except Invalid as exc:
        return render_template(
            "audit_search.html",
            criteria=None,
            errors=exc.fields,
            page=None,
            args=request.args,
            choices=search_choices(),
        ), 422
    before = queries.parse_cursor(request.args.get("sebelum"))
    page = case_search.search(criteria, before)
    if criteria.is_personal():
        access_log.log_access(
            g.user.username, "cases_searched", {"criteria": criteria.as_dict(), "cases": [c.id for c in page.rows]}
        )
        db.session.commit()
    return render_template(
        "audit_search.html",
        criteria=criteria,
        errors={},
        page=page,
        args=request.args,
        choices=search_choices(),
        show_identity=any(g.user.has_role(r) for r in case_search.IDENTITY_ROLES),
    )


@bp.get("/kasus.csv")
@login_required(*SEARCH_ROLES)
def export() -> Any:
    """The whole search result as CSV; the export is itself an audit event."""
    criteria = case_search.parse_criteria(request.args)
    content, _count = case_search.export_csv(criteria, g.user)
    return Response(
        content,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="hasil-pencarian-kasus.csv"'},
    )


@bp.get("/kasus/<int:case_id>/paket")
@login_required("Auditor")
def package(case_id: int) -> Any:
    """The case's evidence package (ZIP, manifest sealed by the RA); the download is an audit event."""
    content = evidence_package.build(case_id, g.user.username)
    return Response(
        content,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="paket-bukti-kasus-{case_id}.zip"'},
    )
