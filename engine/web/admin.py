"""Pages of the Dinas (Admin): the mail outbox, the separation-of-duties rules, the reconciliation with the PSrE and
the retention report."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.services import duties, erasure_report, field_access, need_to_know, queries, reconcile, retention
from engine.web.auth import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/surel")
@login_required("Admin", "Auditor")
def outbox() -> Any:
    """The outbox: every mail the app sent or queued, newest first."""
    page = queries.outbox(before=queries.parse_cursor(request.args.get("sebelum")))
    # Addresses as the field table lets the reader's roles see them in a list (field_access, docs/privacy.md).
    mails = field_access.listed_mails(page.rows, g.user)
    return render_template("outbox.html", mails=mails, next_before=page.next_after, mail_days=retention.mail_period())


@bp.get("/retensi")
@login_required("Admin", "Auditor")
def erasures() -> Any:
    """What the retention job erased, newest first (from the `document_erased` events), with the periods in force."""
    page = erasure_report.erasures(before=queries.parse_cursor(request.args.get("sebelum")))
    return render_template(
        "erasures.html",
        rows=page.rows,
        next_before=page.next_after,
        summary=erasure_report.summary(),
        outcomes=retention.OUTCOMES,
        kinds=need_to_know.KINDS,
        actors=erasure_report.ACTORS,
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
