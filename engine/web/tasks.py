"""Webforms of user tasks: render with prefill, accept uploads, submit, re-render with errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from engine import registry
from engine.models import Document, HumanTask, db
from engine.services import cases, documents, queries
from engine.services.errors import Invalid, NotFound, ServiceError
from engine.web.auth import load_user, login_required

bp = Blueprint("tasks", __name__)
TOO_LARGE = "Berkas terlalu besar."
WIB = ZoneInfo("Asia/Jakarta")


def template_of(task: HumanTask) -> str:
    """The webform template of a task: webforms/<catalogue form name>.html."""
    form = registry.form(task.form_key)
    if form is None:
        raise NotFound(f"Formulir '{task.form_key}' tidak ada di katalog.")
    return form.template


def render_task(
    task: HumanTask, inputs: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]], status: int = 200
) -> Any:
    """Render a task's webform; the template sees the case only through the form's declared `inputs`.

    Personal fields are shown as the field table lets the step's role read them (field_access, docs/privacy.md).
    """
    view = queries.case_view(task.instance_id, g.user, task=task)
    inputs, values = queries.task_shown(task, g.user, inputs), queries.task_shown(task, g.user, values)
    docs = {d.id: d for d in view.documents}
    return render_template(
        template_of(task),
        task=task,
        case=view.case,
        view=view,
        inputs=inputs,
        values=values,
        errors=errors,
        field_labels={},  # filled by the field macros (webforms/_macros.html) for the error summary
        documents=docs,
        applicant=view.applicant,
        agencies=queries.agency_choices(),
        limits=text_limits(task),
        upload_limit=documents.limit_text(),
        today_iso=datetime.now(WIB).date().isoformat(),  # dates of what happened are today at the latest
        upload_limit_bytes=documents.limit_bytes(),
        request_limit_bytes=current_app.config.get("MAX_CONTENT_LENGTH") or 0,
    ), status


def text_limits(task: HumanTask) -> dict[str, int]:
    """The length limit of each text field of a task's form (metadata max_length), for the inputs' maxlength."""
    schema_class = registry.form_for(task.form_key)
    if schema_class is None:
        return {}
    return {
        name: int(field.metadata["max_length"])
        for name, field in registry.schema_fields(schema_class).items()
        if field.metadata.get("max_length")
    }


@bp.get("/tugas/<int:task_id>")
@login_required()
def show(task_id: int) -> Any:
    """Show a task's form, prefilled from the applicant record and any earlier submission."""
    task, _data = queries.task_for_form(task_id, g.user)
    if task.status != "open":
        flash("Tugas ini sudah diselesaikan.", "info")
        return redirect(url_for("cases.show", case_id=task.instance_id))
    inputs, previous = cases.task_form(task)
    values = {
        **queries.case_view(task.instance_id, g.user, task=task).applicant,
        **previous,
        **cases.bound_values(task, g.user),
    }
    return render_task(task, inputs, values, {})


@bp.post("/tugas/<int:task_id>")
@login_required()
def submit(task_id: int) -> Any:
    """Submit a task's form with its files; on errors re-render with every error and what was typed (HTTP 422)."""
    task, _data = queries.task_for_form(task_id, g.user)
    values: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
    files = {name: (f.filename or "berkas", f.read()) for name, f in request.files.items() if f and f.filename}
    try:
        case = cases.complete_task(task_id, g.user, values, files)
    except Invalid as exc:
        db.session.rollback()
        task = db.session.get_one(HumanTask, task_id)
        inputs, _previous = cases.task_form(task)
        # Identity fields show the person record again, never what was typed over it.
        return render_task(task, inputs, {**values, **cases.bound_values(task, g.user)}, exc.fields, 422)
    flash(f"'{task.label}' tersimpan.", "ok")
    following = next(iter(queries.my_tasks_of_case(g.user, case.id)), None)
    return redirect(
        url_for("tasks.show", task_id=following.id) if following else url_for("cases.show", case_id=case.id)
    )


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> Any:
    """A submit bigger than the server takes: the form again with the limit, never a dead-end error page.

    The body was not read, so what was typed is not known here; the page's script (forms.js) checks sizes before
    sending so that this is rare.
    """
    task_id = (request.view_args or {}).get("task_id")
    if g.get("user") is None:
        load_user()  # the size was refused before the user was loaded; nothing is changed here, only shown
    if request.method != "POST" or not isinstance(task_id, int) or g.get("user") is None:
        return render_template("error.html", message=TOO_LARGE, status=413), 413
    try:
        task, _data = queries.task_for_form(task_id, g.user)
        if task.status != "open":
            return render_template("error.html", message=TOO_LARGE, status=413), 413
        inputs, previous = cases.task_form(task)
        view = queries.case_view(task.instance_id, g.user, task=task)
    except ServiceError as exc:  # not theirs, or gone meanwhile: say so, as any other page would
        return render_template("error.html", message=exc.message, status=exc.status), exc.status
    values = {**view.applicant, **previous, **cases.bound_values(task, g.user)}
    message = f"Berkas yang dikirim terlalu besar (maksimal {documents.limit_text()} per berkas); isian belum disimpan, silakan isi dan unggah ulang."
    return render_task(task, inputs, values, {"_upload": [message]}, 413)


@bp.app_template_filter("document_kind")
def document_kind(document: Document) -> str:
    """What a stored document is (KTP, SK, selfie, a signed form…), in Indonesian."""
    return documents.kind_label(document)


def document_name(doc_id: Any) -> str:
    """The file name of a document id, for showing what is already uploaded."""
    document = db.session.get(Document, int(doc_id)) if str(doc_id).isdigit() else None
    return document.filename if document else ""
