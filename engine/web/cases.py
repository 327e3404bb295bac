"""The case page (status, diagram, documents, decisions, timeline) and file downloads."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, url_for
from markupsafe import Markup

from engine.services import cases, certificates, documents, queries
from engine.web import diagram_svg
from engine.web.auth import login_required

bp = Blueprint("cases", __name__)


@bp.get("/kasus/<int:case_id>")
@login_required()
def show(case_id: int) -> Any:
    """Show a case."""
    view = queries.case_view(case_id, g.user)
    svg = diagram_svg.render(view.case.deployment.xml, set(view.completed_elements), set(view.active_elements))
    return render_template("case.html", view=view, case=view.case, diagram=Markup(svg))


@bp.get("/dokumen/<int:document_id>")
@login_required()
def document(document_id: int) -> Any:
    """Download a document of a case the user may see."""
    doc = queries.document_for(document_id, g.user)
    content = documents.read(doc)
    return Response(content, mimetype=doc.media_type, headers={
        "Content-Disposition": f'attachment; filename="{doc.filename}"', "X-Content-Type-Options": "nosniff",
    })


@bp.get("/sertifikat/<serial>.pem")
@login_required()
def certificate(serial: str) -> Any:
    """Download a certificate with its chain (PEM)."""
    cert = certificates.download_certificate(serial, g.user)
    return Response(cert.certificate_pem + cert.chain_pem, mimetype="application/x-pem-file", headers={
        "Content-Disposition": f'attachment; filename="sertifikat-{serial}.pem"',
    })


@bp.post("/sertifikat/<serial>/perbarui")
@login_required("Pemohon")
def renew(serial: str) -> Any:
    """Accept the expiry reminder: start a renewal case (SOP 088.10) for one's own certificate."""
    case = cases.start_case("renewal_rekey", g.user, {"certificate_serial": serial})
    flash("Permohonan pembaruan sertifikat dibuat.", "ok")
    return redirect(url_for("cases.show", case_id=case.id))


@bp.get("/sertifikat/<serial>/perbarui")
@login_required("Pemohon")
def renew_confirm(serial: str) -> Any:
    """The page the reminder links to: confirm the renewal of one's own certificate."""
    cert = queries.certificate_for(serial, g.user)
    return render_template("renew_confirm.html", cert=cert)
