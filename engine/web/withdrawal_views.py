"""Withdrawal of a running case by its applicant: the case page's form and the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, request, url_for

from engine.services import withdrawal
from engine.web.api import case_json
from engine.web.auth import login_required

bp = Blueprint("withdrawal", __name__)


@bp.post("/kasus/<int:case_id>/tarik")
@login_required("Pemohon")
def withdraw_page(case_id: int) -> Any:
    """Withdraw the case from its page (the reason is required); back to the case page."""
    withdrawal.withdraw_case(case_id, g.user, request.form.get("reason", ""))
    flash("Permohonan telah ditarik dan berkasnya diarsipkan.", "ok")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.post("/api/v1/cases/<int:case_id>/withdraw")
@login_required("Pemohon")
def withdraw_api(case_id: int) -> Any:
    """Withdraw the case: {"reason": "..."}; answers the closed case."""
    body = request.get_json(silent=True)
    reason = body.get("reason") if isinstance(body, dict) else None
    case = withdrawal.withdraw_case(case_id, g.user, reason if isinstance(reason, str) else "")
    return jsonify(case=case_json(case))
