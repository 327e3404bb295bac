"""The task inbox: my tasks, tasks I may claim, starting a new application."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.services import cases, queries
from engine.web import labels
from engine.web.auth import login_required

bp = Blueprint("inbox", __name__)


@bp.get("/")
@login_required()
def index() -> Any:
    """Show the user's inbox, their cases and the processes they may start."""
    view = queries.inbox_view(
        g.user,
        mine_after=queries.parse_cursor(request.args.get("tugas_setelah")),
        claimable_after=queries.parse_cursor(request.args.get("klaim_setelah")),
    )
    return render_template(
        "inbox.html",
        mine=view.mine.rows,
        mine_next=view.mine.next_after,
        claimable=view.claimable.rows,
        claimable_next=view.claimable.next_after,
        notices=view.notices,
        cases_page=queries.my_cases(g.user, before=queries.parse_cursor(request.args.get("kasus_sebelum"))),
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
    first = next(iter(queries.my_tasks_of_case(g.user, case.id)), None)
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
