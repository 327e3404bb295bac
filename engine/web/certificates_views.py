"""The owner's certificates, and starting a certificate's SOP (renew, revoke, change data, reset) from them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from engine.services import cases, queries, requirements
from engine.web.auth import login_required

bp = Blueprint("certificates", __name__)

# Short button texts of the SOPs an owner starts for a certificate. Which SOPs are offered for a certificate is
# what each diagram declares (requires_certificate, engine/services/requirements.py), not this table.
BUTTON_TEXT: dict[str, str] = {
    "renewal_rekey": "Perbarui (SOP 088.10)",
    "revocation": "Cabut (SOP 088.11)",
    "data_change": "Ubah data (SOP 088.12)",
    "passphrase_lock": "Lupa passphrase (SOP 088.13)",
}


@bp.get("/sertifikat")
@login_required("Pemohon")
def mine() -> Any:
    """List the user's certificates with the SOPs they can start for each (e.g. 'Lupa passphrase' only for eSign)."""
    certificates = queries.my_certificates(g.user)
    actions = {
        c.serial: [(key, BUTTON_TEXT.get(key, title)) for key, title in requirements.processes_for(c)]
        for c in certificates
    }
    return render_template("certificates.html", certificates=certificates, actions=actions)


@bp.post("/sertifikat/<serial>/ajukan/<process_key>")
@login_required("Pemohon")
def start(serial: str, process_key: str) -> Any:
    """Start a certificate's SOP for one of the user's own certificates (the engine checks it fits the SOP)."""
    if process_key not in {key for key, _title, _needs in requirements.certificate_processes()}:
        abort(404)
    case = cases.start_case(process_key, g.user, {"certificate_serial": serial})
    flash(f"Permohonan #{case.id} dibuat.", "ok")
    first = next(iter(queries.my_tasks_of_case(g.user, case.id)), None)
    return redirect(url_for("tasks.show", task_id=first.id) if first else url_for("cases.show", case_id=case.id))


@bp.get("/sertifikat/<serial>/perbarui")
@login_required("Pemohon")
def renew_confirm(serial: str) -> Any:
    """The page the expiry reminder links to: confirm the renewal of one's own certificate."""
    return render_template("renew_confirm.html", cert=queries.certificate_for(serial, g.user))


@bp.post("/sertifikat/<serial>/perbarui")
@login_required("Pemohon")
def renew(serial: str) -> Any:
    """Accept the expiry reminder: start a renewal case (SOP 088.10) for one's own certificate."""
    case = cases.start_case("renewal_rekey", g.user, {"certificate_serial": serial})
    flash("Permohonan pembaruan sertifikat dibuat.", "ok")
    return redirect(url_for("cases.show", case_id=case.id))
