"""Need-to-know (UU 27/2022): an identity document (KTP scan or photo, selfie) opens for its owner and RA staff
only; the agency head who may see the case reads the recommendation they filed, not the KTP (nor the signed
registration form, which carries the applicant's full NIK and NIP: tests/web/test_pdf_identifiers.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import Document, db
from tests.conftest import Api
from tests.sops.test_issuance_ams import recommend, start_and_register


def documents_of(app: Flask, case_id: int) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            select(Document.id, Document.form_field, Document.filename).where(Document.instance_id == case_id)
        ).all()
    return {(field or filename.split("-kasus-")[0]): doc_id for doc_id, field, filename in rows}


def test_the_agency_head_cannot_open_the_ktp_but_reads_the_recommendation(app: Flask, client: Any, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    found = documents_of(app, case_id)
    ktp, sk, form = found["ktp_scan"], found["asn_proof"], found["recommendation"]
    atasan = Api(client, "atasan")
    refused = atasan.get(f"/documents/{ktp}")
    assert refused.status_code == 403
    assert "Dokumen identitas" in refused.get_json()["error"]
    assert atasan.get(f"/documents/{form}").status_code == 200
    assert atasan.get(f"/documents/{sk}").status_code == 200
    assert atasan.get(f"/documents/{found['registration']}").status_code == 403
    for who in ("pemohon", "verifikator", "admin", "auditor"):
        assert Api(client, who).get(f"/documents/{ktp}").status_code == 200, who
