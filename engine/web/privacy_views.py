"""Data Saya (what Sertel holds about the logged-in person, who else opened it, their own copy) and the
need-to-know table, read-only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, render_template

from engine.services import field_access, field_steps, masking, need_to_know, personal_data, retention
from engine.web.auth import login_required

bp = Blueprint("privacy", __name__)


@bp.get("/data-saya")
@login_required()
def my_data() -> Any:
    """The person's account, identity record, cases, documents, certificates and the views by others."""
    return render_template("my_data.html", held=personal_data.my_data(g.user))


@bp.get("/data-saya/unduh")
@login_required()
def my_data_package() -> Any:
    """All of it as one ZIP (data.json and the documents of the person's cases)."""
    return Response(
        personal_data.my_data_package(g.user),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="data-saya-{g.user.username}.zip"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/privasi")
@login_required()
def need_to_know_table() -> Any:
    """The need-to-know table the document access check applies (need_to_know.TABLE) and the retention
    periods the erasure job applies, read-only."""
    return render_template(
        "privacy_table.html",
        rows=need_to_know.rows(),
        kinds=need_to_know.KINDS,
        states=need_to_know.STATES,
        outcomes=retention.OUTCOMES,
        periods=retention.periods(),
        identifier_views=masking.identifier_views(),
        identifier_viewers=masking.VIEWERS,
        field_table=field_access.TABLE,
        field_places=field_access.PLACES,
        field_categories=field_access.CATEGORIES,
        field_viewers=field_access.VIEWERS,
        field_values=field_access.VALUES,
        sop_steps=field_steps.sops(),
        mail_days=retention.mail_period(),
        pdfs=[(pdf, need_to_know.pdf_readers(pdf)) for pdf in need_to_know.PDFS],
        persons=need_to_know.PERSONS,
        viewers=need_to_know.VIEWERS,
    )
