"""The task inbox (filtered, searchable, fast tracks first), the RA's case list, starting a new application."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from engine.services import cases, queries, worklist
from engine.web import labels
from engine.web.auth import login_required

bp = Blueprint("inbox", __name__)

# Roles that work other people's cases and get the filter bar and the case list.
STAFF_ROLES = ("Verifikator", "Admin", "Auditor")


@bp.app_template_filter("waited")
def waited(span: timedelta) -> str:
    """How long something has waited, in Indonesian ("2 hari 3 jam", "45 menit")."""
    return labels.duration(span)


# Stands in for an id while a link is built once per page (never a real id: ids are below 2**31).
_SOME_ID = 987654321987


def id_link(endpoint: str, name: str) -> Callable[[int], str]:
    """url_for(endpoint, **{name: id}) for many ids: routed once, then filled in per row.

    The inbox shows up to 150 rows with two or three links each; url_for per link was about a tenth of the page.
    """
    values: dict[str, Any] = {name: _SOME_ID}
    head, _, tail = url_for(endpoint, **values).partition(str(_SOME_ID))
    return lambda value: f"{head}{int(value)}{tail}"


@bp.get("/")
@login_required()
def index() -> Any:
    """Show the user's inbox, their cases and the processes they may start."""
    filters = worklist.parse_filters(request.args)
    board = worklist.inbox_board(
        g.user,
        filters,
        mine_after=worklist.parse_page_cursor(request.args.get("tugas_setelah")),
        claimable_after=worklist.parse_page_cursor(request.args.get("klaim_setelah")),
    )
    staff = any(g.user.has_role(r) for r in (*STAFF_ROLES, "Atasan"))
    sops, agencies = worklist.filter_choices() if staff else ([], [])
    return render_template(
        "inbox.html",
        board=board,
        filters=filters,
        show_filters=staff,
        links={
            "case": id_link("cases.show", "case_id"),
            "task": id_link("tasks.show", "task_id"),
            "claim": id_link("inbox.claim", "task_id"),
            "release": id_link("inbox.release", "task_id"),
        },
        sops=sops,
        agencies=agencies,
        cases_page=queries.my_cases(g.user, before=queries.parse_cursor(request.args.get("kasus_sebelum"))),
        processes=sorted(queries.processes(), key=lambda p: labels.sop_order(p["key"]))
        if g.user.has_role("Pemohon")
        else [],
    )


@bp.get("/kasus")
@login_required(*STAFF_ROLES)
def case_list() -> Any:
    """Every case for RA staff: filtered, searchable, newest first, the applicant shown."""
    filters = worklist.parse_filters(request.args)
    page = worklist.case_list(filters, before=queries.parse_cursor(request.args.get("sebelum")))
    sops, agencies = worklist.filter_choices()
    return render_template("case_list.html", page=page, filters=filters, sops=sops, agencies=agencies)


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
