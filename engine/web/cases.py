"""The case page (status, diagram, documents, decisions, timeline) and file downloads."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, render_template
from markupsafe import Markup

from engine.services import access_log, certificates, personal_data, queries
from engine.web import diagram_svg
from engine.web.auth import login_required
from engine.web.replay_views import REPLAY_ROLES

bp = Blueprint("cases", __name__)


@bp.get("/kasus/<int:case_id>")
@login_required()
def show(case_id: int) -> Any:
    """Show a case."""
    view = queries.case_view(case_id, g.user)
    access_log.log_view(g.user, "case_viewed", {"case_id": case_id})
    done, active = set(view.completed_elements), set(view.active_elements)
    svg = diagram_svg.render(view.case.deployment.xml, done, active)
    steps = diagram_svg.steps(view.case.deployment.xml, done, active)
    on_behalf = queries.on_behalf_of(view.case)
    return render_template(
        "case.html",
        view=view,
        case=view.case,
        diagram=Markup(svg),
        diagram_steps=steps,
        # the replay link only for those who may open it (no dead link to a 403 page)
        can_replay=any(g.user.has_role(role) for role in REPLAY_ROLES),
        on_behalf=on_behalf,
        agency_names=dict(queries.agency_choices()),
    )


@bp.get("/dokumen/<int:document_id>")
@login_required()
def document(document_id: int) -> Any:
    """Download a document of a case the user may see."""
    doc, content = personal_data.open_document(document_id, g.user)
    return Response(
        content,
        mimetype=doc.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{doc.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.get("/sertifikat/<serial>.pem")
@login_required()
def certificate(serial: str) -> Any:
    """Download a certificate with its chain (PEM)."""
    cert = certificates.download_certificate(serial, g.user)
    return Response(
        cert.certificate_pem + cert.chain_pem,
        mimetype="application/x-pem-file",
        headers={
            "Content-Disposition": f'attachment; filename="sertifikat-{serial}.pem"',
        },
    )
