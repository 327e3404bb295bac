"""The replay page of a case: its diagram, a slider over its logged steps, and the re-execution check."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for

from engine.services import regression_fixtures, replay_page
from engine.web import labels
from engine.web.auth import login_required

bp = Blueprint("replay", __name__)

# Who may replay a case: auditors, and RA staff who may see it (the case page's rule decides which cases).
REPLAY_ROLES = ("Auditor", "Admin", "Verifikator")


@bp.get("/kasus/<int:case_id>/putar-ulang")
@login_required(*REPLAY_ROLES)
def page(case_id: int) -> Any:
    """Show a case step by step on the diagram of the version it ran on."""
    view = replay_page.replay_view(case_id, g.user)
    # Data for replay.js goes in a JSON block (no inline scripts under the CSP); with every "<" escaped no
    # recorded text can close the block or open a comment in it.
    texts = {"event_labels": labels.EVENT_LABELS, "decision_labels": labels.DECISION_LABELS}
    payload = json.dumps({**view, **texts}, ensure_ascii=False, default=str).replace("<", "\\u003c")
    return render_template("replay.html", view=view, payload=payload)


@bp.get("/kasus/<int:case_id>/putar-ulang/diagram.xml")
@login_required(*REPLAY_ROLES)
def diagram(case_id: int) -> Any:
    """The BPMN XML of the version the case ran on."""
    return Response(replay_page.diagram_xml(case_id, g.user), mimetype="application/xml")


@bp.get("/kasus/<int:case_id>/putar-ulang/sub/<process_id>.xml")
@login_required(*REPLAY_ROLES)
def called_diagram(case_id: int, process_id: str) -> Any:
    """The BPMN XML of a process the case's version calls (a call activity's own diagram)."""
    return Response(replay_page.called_diagram_xml(case_id, g.user, process_id), mimetype="application/xml")


@bp.post("/kasus/<int:case_id>/putar-ulang/periksa")
@login_required(*REPLAY_ROLES)
def check(case_id: int) -> Any:
    """Re-execute the case from its log and compare it with the record."""
    outcome = replay_page.check_case(case_id, g.user)
    difference = outcome.result.difference
    return jsonify(
        equal=outcome.result.equal,
        summary=outcome.summary(),
        steps_checked=outcome.result.steps_checked,
        seq=difference.seq if difference else None,
    )


@bp.post("/kasus/<int:case_id>/putar-ulang/uji-regresi")
@login_required("Admin")
def save_regression(case_id: int) -> Any:
    """The process owner saves the finished case as a named regression fixture of its process."""
    row = regression_fixtures.save(case_id, request.form.get("name"), g.user.username)
    flash(
        f"Kasus #{case_id} disimpan sebagai uji regresi '{row.name}' proses {row.key}; setiap penerbitan versi "
        "baru proses ini menjalankannya ulang.",
        "ok",
    )
    return redirect(url_for("modeler.edit", key=row.key) + "#uji-regresi")
