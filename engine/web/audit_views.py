"""The auditor's page: verify the event log, the newest anchor, and the security log of anonymous requests."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from engine.services import audit_anchor, audit_verify, security_log
from engine.web.auth import login_required

bp = Blueprint("audit", __name__, url_prefix="/audit")


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
