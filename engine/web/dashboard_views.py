"""The admin dashboard: cases by SOP and status, open and overdue tasks by role, cases started per month."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from engine.services import dashboard
from engine.web.auth import login_required

bp = Blueprint("dashboard", __name__, url_prefix="/admin")


@bp.get("/dasbor")
@login_required("Admin", "Verifikator", "Auditor")
def show() -> Any:
    """Show the dashboard (four GROUP BY statements, whatever the number of cases)."""
    return render_template("dashboard.html", board=dashboard.dashboard())
