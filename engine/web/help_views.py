"""The help section (/bantuan): the legal bases and each SOP with its purpose, forms, documents and diagram."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template

from engine.services import help as help_service
from engine.web.auth import login_required

bp = Blueprint("help", __name__)


@bp.get("/bantuan")
@login_required()
def index() -> Any:
    """One section per SOP: what it is for, who files it, its forms and documents, and its diagram (read-only)."""
    return render_template("help.html", sections=help_service.sections())


@bp.get("/bantuan/<key>.bpmn")
@login_required()
def diagram(key: str) -> Any:
    """The current published diagram of a SOP, for the read-only viewer."""
    xml = help_service.diagram_xml(key)
    if xml is None:
        abort(404)
    return Response(xml, mimetype="application/xml")
