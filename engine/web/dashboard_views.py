"""The admin dashboard: cases by SOP and status, open and overdue tasks by role, cases started per month."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for

from engine.services import dashboard
from engine.web.auth import login_required

bp = Blueprint("dashboard", __name__, url_prefix="/admin")


@bp.get("/dasbor")
@login_required("Admin", "Verifikator", "Auditor")
def show() -> Any:
    """Show the dashboard: case counts from the newest snapshot, task counts live."""
    return render_template("dashboard.html", board=dashboard.dashboard())


@bp.post("/dasbor/hitung")
@login_required("Admin")
def recompute() -> Any:
    """Compute the case counts now instead of waiting for the scheduler."""
    dashboard.refresh(actor=g.user.username)
    flash("Angka kasus dihitung ulang.", "success")
    return redirect(url_for("dashboard.show"))
