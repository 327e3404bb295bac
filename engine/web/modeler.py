"""Pages of the process owner (Admin): the process list, the BPMN modeler and the version list with its diff.

The pages are shells (the stored regression fixtures excepted, listed and deleted here): their scripts (static/js/modeler*.js with the vendor bundle static/vendor/modeler.js)
read and write through the process-owner API (/api/v1/processes) and load the catalogue (/api/v1/catalogue),
with the same checks and audit events as any other client of that API.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from engine.services import regression_fixtures
from engine.web.auth import login_required

bp = Blueprint("modeler", __name__, url_prefix="/admin/proses")

# A process key is a BPMN process id of processes/ (also the SOP key): refuse anything else before the page.
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")


def _checked(key: str) -> str:
    """The key, or 404 when it cannot be a process id."""
    if not KEY.match(key):
        abort(404)
    return key


@bp.get("")
@login_required("Admin")
def process_list() -> Any:
    """The processes with their current version and open draft."""
    return render_template("modeler_list.html")


@bp.get("/<key>")
@login_required("Admin")
def edit(key: str) -> Any:
    """The modeler on the process's draft, or on its current version when there is no draft."""
    return render_template("modeler_edit.html", key=_checked(key), fixtures=regression_fixtures.listing(key))


@bp.post("/<key>/uji-regresi/<int:fixture_id>/hapus")
@login_required("Admin")
def delete_regression(key: str, fixture_id: int) -> Any:
    """Delete a stored regression fixture of the process; back to the modeler."""
    regression_fixtures.delete(_checked(key), fixture_id, g.user.username)
    flash(f"Uji regresi #{fixture_id} dihapus.", "ok")
    return redirect(url_for("modeler.edit", key=key) + "#uji-regresi")


@bp.get("/<key>/versi")
@login_required("Admin")
def versions(key: str) -> Any:
    """The published versions, roll back, and the visual diff of two versions."""
    return render_template("modeler_versions.html", key=_checked(key))
