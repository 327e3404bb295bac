"""Pages of the Dinas (Admin): the mail outbox, the separation-of-duties rules and the reconciliation with the PSrE."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.services import duties, queries, reconcile, retention
from engine.web.auth import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/surel")
@login_required("Admin", "Auditor")
def outbox() -> Any:
    """The outbox: every mail the app sent or queued, newest first."""
    page = queries.outbox(before=queries.parse_cursor(request.args.get("sebelum")))
    return render_template(
        "outbox.html", mails=page.rows, next_before=page.next_after, mail_days=retention.mail_period()
    )


@bp.get("/pemisahan-tugas")
@login_required("Admin", "Auditor")
def duty_rules() -> Any:
    """The separation-of-duties rules the engine enforces, read-only."""
    return render_template("duties.html", rules=duties.describe_rules())


@bp.get("/rekonsiliasi")
@login_required("Admin", "Auditor")
def reconciliation() -> Any:
    """Differences between the RA's certificate records and the PSrE: open ones first, then recent repairs."""
    open_findings, closed = reconcile.findings()
    return render_template("reconciliation.html", open_findings=open_findings, closed=closed)


@bp.post("/rekonsiliasi")
@login_required("Admin")
def reconcile_now() -> Any:
    """Run the reconciliation now (the scheduler runs it periodically)."""
    report = reconcile.reconcile(g.user.username)
    flash(
        f"Rekonsiliasi selesai: {report.checked} sertifikat diperiksa, {len(report.repaired)} diperbaiki, "
        f"{report.open_total} perbedaan menunggu Admin.",
        "ok",
    )
    return redirect(url_for("admin.reconciliation"))
