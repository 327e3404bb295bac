"""Pages of the Dinas (Admin): the mail outbox and the separation-of-duties rules."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from engine.services import duties, queries
from engine.web.auth import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/surel")
@login_required("Admin", "Auditor")
def outbox() -> Any:
    """The outbox: every mail the app sent or queued, newest first."""
    page = max(int(request.args.get("halaman", "1") or 1), 1)
    return render_template("outbox.html", mails=queries.outbox(page), page=page)


@bp.get("/pemisahan-tugas")
@login_required("Admin", "Auditor")
def duty_rules() -> Any:
    """The separation-of-duties rules the engine enforces, read-only."""
    return render_template("duties.html", rules=duties.describe_rules())
