"""The task inbox: my tasks, tasks I may claim, starting a new application."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, url_for

from engine.services import cases, queries
from engine.web import labels
from engine.web.auth import login_required

bp = Blueprint("inbox", __name__)


@bp.get("/")
@login_required()
def index() -> Any:
    """Show the user's inbox, their cases and the processes they may start."""
    mine, claimable = queries.inbox(g.user)
    return render_template(
        "inbox.html",
        mine=mine,
        claimable=claimable,
        notices=queries.inbox_notices(g.user),
        cases=queries.my_cases(g.user),
        processes=sorted(queries.processes(), key=lambda p: labels.sop_order(p["key"]))
        if g.user.has_role("Pemohon")
        else [],
    )


@bp.post("/proses/<key>/mulai")
@login_required("Pemohon")
def start(key: str) -> Any:
    """Start a new application under process `key`."""
    case = cases.start_case(key, g.user)
    flash(f"Permohonan #{case.id} dibuat.", "ok")
    mine, _ = queries.inbox(g.user)
    first = next((t for t in mine if t.instance_id == case.id), None)
    return redirect(url_for("tasks.show", task_id=first.id) if first else url_for("cases.show", case_id=case.id))


@bp.post("/tugas/<int:task_id>/klaim")
@login_required()
def claim(task_id: int) -> Any:
    """Claim a task."""
    cases.claim_task(task_id, g.user)
    flash("Tugas diklaim.", "ok")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tugas/<int:task_id>/lepas")
@login_required()
def release(task_id: int) -> Any:
    """Release a claimed task."""
    cases.release_task(task_id, g.user)
    flash("Tugas dilepas.", "ok")
    return redirect(url_for("inbox.index"))
