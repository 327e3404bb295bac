"""Person records (Admin), starting a case on someone's behalf (RA staff) and the roster differences list."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from engine.models import User, db
from engine.models.people import PERSON_CATEGORIES
from engine.services import cases, people, queries
from engine.services.errors import Invalid
from engine.web import labels
from engine.web.auth import login_required

bp = Blueprint("people", __name__)


@bp.route("/atas-nama", methods=["GET", "POST"])
@login_required("Verifikator", "Admin")
def on_behalf() -> Any:
    """Start a case for a person's record on their behalf, with the reason (RA staff)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("username", "process_key", "on_behalf_reason")}
        applicant = db.session.execute(
            db.select(User).where(User.username == values["username"], User.person_id.is_not(None))
        ).scalar_one_or_none()
        try:
            if applicant is None:
                raise Invalid("Pilih orang yang diajukan.", {"username": ["Pilih orang yang diajukan."]})
            case = cases.start_case(values["process_key"], g.user, {}, applicant, values["on_behalf_reason"])
        except Invalid as exc:
            db.session.rollback()
            errors, status = exc.fields or {"on_behalf_reason": [exc.message]}, 422
        else:
            flash(f"Permohonan #{case.id} dibuat atas nama {applicant.full_name}.", "ok")
            return redirect(url_for("cases.show", case_id=case.id))
    processes = sorted(queries.processes(), key=lambda p: labels.sop_order(p["key"]))
    return render_template(
        "on_behalf.html",
        people=queries.people_for_on_behalf(),
        processes=processes,
        values=values,
        errors=errors,
        field_labels={},  # filled by the field macros for the error summary
    ), status


@bp.get("/admin/orang")
@login_required("Admin")
def person_list() -> Any:
    """Accounts and the person record each is bound to."""
    users = db.session.execute(db.select(User).order_by(User.username)).scalars()
    return render_template("people.html", users=list(users), categories=PERSON_CATEGORIES)


@bp.route("/admin/orang/<username>", methods=["GET", "POST"])
@login_required("Admin")
def person_edit(username: str) -> Any:
    """Set the person record an account is bound to (NIK, name, NIP for ASN, category, agency, position)."""
    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        abort(404)
    values = people.person_record(user) or {"full_name": user.full_name, "category": "asn"}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        fields = ("nik", "full_name", "nip", "category", "agency_code", "position")
        values = {k: request.form.get(k, "").strip() for k in fields}
        try:
            people.bind_person(user, actor=g.user.username, **values)
            db.session.commit()
        except Invalid as exc:
            db.session.rollback()
            errors, status = exc.fields or {"nik": [exc.message]}, 422
        else:
            flash(f"Data identitas {user.username} disimpan.", "ok")
            return redirect(url_for("people.person_list"))
    return render_template(
        "person_edit.html",
        user=user,
        values=values,
        errors=errors,
        field_labels={},
        categories=PERSON_CATEGORIES,
        agencies=queries.agency_choices(),
    ), status


@bp.get("/admin/selisih-data-asn")
@login_required("Admin")
def roster_differences() -> Any:
    """Person records that differ from the ASN roster, for the Dinas to review (the roster is never overwritten)."""
    return render_template("roster_differences.html", rows=people.roster_differences())
