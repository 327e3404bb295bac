"""The forms' PDFs through the HTTP API: kept in the case, signed (RA seal or the submitter's eSign key), valid."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from flask import Flask

from engine.models import User, db
from engine.services import people
from handlers.form_pdf import FORM_TITLES, place_date_line
from pki.psre import SubjectInfo
from pki.service_certs import RA_SEAL_COMMON_NAME
from pki.validation import VALID, validate_pdf
from tests.sops.builders import RECOMMEND, registration
from tests.sops.test_issuance_ams import case_of, only_task, recommend, start_and_register
from tests.sops.test_renewal_rekey import issued_certificate
from tests.sops.test_revocation import statement

HEAD_NAME = "Dr. Agus Prasetyo, M.Kom."
HEAD_NIK = "3375011001750003"
HEAD_PASSPHRASE = "Atasan-Rahasia-2026"


def text_of(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def form_document(user: Any, case_id: int, form: str) -> bytes:
    """The single PDF of `form` kept in the case, downloaded through the API."""
    found = [d for d in case_of(user, case_id)["documents"] if d["filename"] == f"{form}-kasus-{case_id}.pdf"]
    assert len(found) == 1, found
    assert found[0]["kind"] == "form"
    response = user.get(f"/documents/{found[0]['id']}")
    assert response.status_code == 200
    return bytes(response.data)


def send_registration(api: Any, process_key: str, **overrides: Any) -> tuple[Any, int, Any]:
    """Start a `process_key` case as the applicant and send its registration form with `overrides`."""
    pemohon = api("pemohon")
    case_id = pemohon.post("/cases", json={"process_key": process_key}).get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    response = pemohon.post(
        f"/tasks/{task['id']}/complete",
        data=registration(**overrides),
        content_type="multipart/form-data",
    )
    return pemohon, case_id, response


def signer_of(app: Flask, pdf: bytes) -> str:
    """Validate the PDF's only signature against the city root (verdict 'Sah'); return the signer's name."""
    with app.app_context():
        psre = app.extensions["sertel.psre"]
        report = validate_pdf(pdf, psre.root_certificate_pem(), psre)
    assert report.verdict == VALID, report
    assert report.signature_count == 1
    return str(report.signatures[0].signer_name)


def assert_pdfsig_valid(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert "Signature is Valid" in done.stdout, done.stdout + done.stderr


def give_head_esign_key(app: Flask) -> None:
    """Give the agency head a server-held eSign key directly at the PSrE."""
    with app.app_context():
        psre = app.extensions["sertel.psre"]
        subject = SubjectInfo(
            name=HEAD_NAME,
            nik=HEAD_NIK,
            email="atasan@pekalongankota.go.id",
            agency="Dinas Komunikasi dan Informatika",
            position="Kepala Dinas Komunikasi dan Informatika",
        )
        psre.issue_with_server_key(
            psre.register_subject(subject, "test/head/register"), HEAD_PASSPHRASE, "test/head/issue"
        )


def test_registration_and_recommendation_pdfs_are_sealed_by_the_ra_and_valid(
    api: Any, app: Flask, tmp_path: Path
) -> None:
    pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    verifikator = api("verifikator")
    data = case_of(verifikator, case_id)["data"]
    assert data["registration_pdf"]["signed_by"] == "ra_seal"
    assert data["recommendation_pdf"]["signed_by"] == "ra_seal"

    registration_pdf = form_document(pemohon, case_id, "registration")
    assert signer_of(app, registration_pdf) == RA_SEAL_COMMON_NAME
    assert_pdfsig_valid(registration_pdf, tmp_path)
    text = text_of(registration_pdf)
    for value in (
        FORM_TITLES["registration"],
        "PEMERINTAH KOTA PEKALONGAN",
        "Budi Santoso",
        "3375011507900001",
        "199007152015031001",
        "Dinas Komunikasi dan Informatika",
        place_date_line(),
        f"Nomor kasus: {case_id}",
    ):
        assert value in text, value

    recommendation_pdf = form_document(verifikator, case_id, "recommendation")
    assert signer_of(app, recommendation_pdf) == RA_SEAL_COMMON_NAME
    assert_pdfsig_valid(recommendation_pdf, tmp_path)
    text = text_of(recommendation_pdf)
    for value in (
        FORM_TITLES["recommendation"],
        "Budi Santoso",
        HEAD_NAME,
        "197501102000031003",
        "Merekomendasikan",
        place_date_line(),
    ):
        assert value in text, value
    # Sealed by the RA, not signed by the person named: the PDF does not claim they signed it.
    for sealed in (text_of(registration_pdf), text):
        flat = " ".join(sealed.split())
        assert "(ditandatangani secara elektronik)" not in flat
        assert "disegel secara elektronik oleh Otoritas Pendaftaran" in flat


def test_head_signs_the_recommendation_with_own_esign_key_and_a_wrong_passphrase_is_refused(
    api: Any, app: Flask, tmp_path: Path
) -> None:
    give_head_esign_key(app)
    _pemohon, case_id = start_and_register(api)
    atasan = api("atasan")

    response = recommend(api, case_id, {**RECOMMEND, "signing_passphrase": "Salah-Tebak-1"})
    assert response.status_code == 422, response.get_json()
    assert "Passphrase eSign salah" in response.get_json()["fields"]["signing_passphrase"][0]
    assert only_task(atasan, case_id, "recommendation")["status"] == "open"
    assert not [d for d in case_of(atasan, case_id)["documents"] if d["filename"].startswith("recommendation-")]

    response = recommend(api, case_id, {**RECOMMEND, "signing_passphrase": HEAD_PASSPHRASE})
    assert response.status_code == 200, response.get_json()
    assert case_of(atasan, case_id)["data"]["recommendation_pdf"]["signed_by"] == "owner"
    pdf = form_document(atasan, case_id, "recommendation")
    assert signer_of(app, pdf) == HEAD_NAME
    assert_pdfsig_valid(pdf, tmp_path)
    # Signed by the head with their own key: now the mark under the head's name says so.
    assert "(ditandatangani secara elektronik)" in " ".join(text_of(pdf).split())
    with app.app_context():
        from engine.models import AuditEvent, db

        assert all(HEAD_PASSPHRASE not in e.payload_json for e in db.session.query(AuditEvent).all())


def test_applicant_without_esign_key_is_told_to_leave_the_passphrase_empty(api: Any, app: Flask) -> None:
    pemohon, case_id, response = send_registration(api, "issuance_ams", signing_passphrase="Apa-Saja-123")
    assert response.status_code == 422
    assert "belum memiliki sertifikat eSign" in response.get_json()["fields"]["signing_passphrase"][0]
    assert only_task(pemohon, case_id, "registration_form")["status"] == "open"


def test_a_name_outside_latin1_renders_in_the_registration_pdf(api: Any, app: Flask) -> None:
    with app.app_context():  # the name is the person record's, set by the RA
        budi = db.session.execute(db.select(User).where(User.username == "pemohon")).scalar_one()
        people.bind_person(budi, budi.nik or "", "Zoë Łukasiewicz Nguyễn", budi.nip, "asn", "diskominfo", "Pranata Komputer Ahli Pertama")
        db.session.commit()
    pemohon, case_id, response = send_registration(api, "issuance_esign", full_name=None)
    assert response.status_code == 200, response.get_json()
    pdf = form_document(pemohon, case_id, "registration")
    assert "Zoë Lukasiewicz Nguyen" in text_of(pdf)
    assert signer_of(app, pdf) == RA_SEAL_COMMON_NAME


def test_revocation_statement_pdf_is_kept_and_valid(api: Any, app: Flask) -> None:
    serial, _key, _issuance = issued_certificate(api)
    pemohon = api("pemohon")
    response = pemohon.post("/cases", json={"process_key": "revocation", "data": {"certificate_serial": serial}})
    case_id = response.get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "statement")
    response = pemohon.post(f"/tasks/{task['id']}/complete", json={**statement(), "certificate_serial": serial})
    assert response.status_code == 200, response.get_json()
    pdf = form_document(pemohon, case_id, "revocation_statement")
    assert signer_of(app, pdf) == RA_SEAL_COMMON_NAME
    text = text_of(pdf)
    for value in (
        FORM_TITLES["revocation_statement"],
        "Budi Santoso",
        serial,
        "Data berubah / pindah instansi",
        place_date_line(),
    ):
        assert value in text, value


def test_forgotten_passphrase_statement_pdf_is_kept_and_valid(api: Any, app: Flask) -> None:
    from tests.sops.test_passphrase_lock import esign_certificate, start_statement

    serial = esign_certificate(api)
    pemohon, case_id, response = start_statement(api, serial)
    assert response.status_code == 200, response.get_json()
    assert case_of(pemohon, case_id)["data"]["statement_pdf"]["signed_by"] == "ra_seal"
    pdf = form_document(pemohon, case_id, "forgotten_passphrase")
    assert signer_of(app, pdf) == RA_SEAL_COMMON_NAME
    text = text_of(pdf)
    for value in (
        FORM_TITLES["forgotten_passphrase"],
        "Budi Santoso",
        "3375011507900001",
        serial,
        "2 Maret 2026",
        place_date_line(),
    ):
        assert value in text, value
