"""SOP 088.14 (issuance with eSign) end to end through the JSON API: the key is held by the PSrE."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select

from engine.models import AuditEvent, OutboxMail, ProcessInstance, db
from engine.services.timers import fire_due_timers
from engine.terms import owner_terms
from pki.validation import VALID, validate_pdf
from tests.pki.pki_builders import one_page_pdf
from tests.sops.builders import APPROVE, PDF, PNG, RECOMMEND, registration
from tests.sops.test_issuance_ams import case_of, only_task
from tests.web.test_html_flow import WebUser, html_of

KEY = "issuance_esign"
NIK = "3375011507900001"
PASSPHRASE = "Batik-Pekalongan2025"
# After the test PSrE is created (the RA seal and TSA certificates start then): the form PDFs are sealed.
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def activation(passphrase: str = PASSPHRASE, confirmation: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The eSign activation form: identity photos, the obligations ticked and the passphrase twice."""
    fields: dict[str, Any] = {
        "ktp_photo": (io.BytesIO(PNG), "ktp.png"), "selfie": (io.BytesIO(PNG + b"selfie"), "swafoto.png"),
        "accept_obligations": "true", "passphrase": passphrase,
        "passphrase_confirmation": passphrase if confirmation is None else confirmation,
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def start_to_verification(api: Any) -> tuple[Any, int]:
    """Start an eSign case, register and recommend it: it waits for the verifikator."""
    pemohon = api("pemohon")
    response = pemohon.post("/cases", json={"process_key": KEY})
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    atasan = api("atasan")
    task = only_task(atasan, case_id, "recommendation")
    assert atasan.post(f"/tasks/{task['id']}/complete", json=RECOMMEND).status_code == 200
    return pemohon, case_id


def verify(api: Any, case_id: int, body: dict[str, Any]) -> Any:
    verifikator = api("verifikator")
    task = only_task(verifikator, case_id, "verification")
    assert verifikator.post(f"/tasks/{task['id']}/claim").status_code == 200
    return verifikator.post(f"/tasks/{task['id']}/complete", json=body)


def activate(pemohon: Any, case_id: int, form: dict[str, Any]) -> Any:
    task = only_task(pemohon, case_id, "activation")
    return pemohon.post(f"/tasks/{task['id']}/complete", data=form, content_type="multipart/form-data")


def approved_case(api: Any) -> tuple[Any, int]:
    pemohon, case_id = start_to_verification(api)
    assert verify(api, case_id, APPROVE).status_code == 200
    return pemohon, case_id


def everything_stored_about(app: Flask, case_id: int) -> str:
    """The case's state, its audit payloads and its mails, as one text to search."""
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        events = db.session.execute(select(AuditEvent.payload_json).where(AuditEvent.instance_id == case_id)).scalars()
        mails = db.session.execute(select(OutboxMail).where(OutboxMail.instance_id == case_id)).scalars()
        return "\n".join([case.state_json, case.applicant_json or "", *events, *(m.subject + m.body for m in mails)])


def test_happy_path_issues_a_server_held_key_the_owner_signs_with(api: Any, app: Flask) -> None:
    pemohon, case_id = approved_case(api)
    with app.app_context():
        link_mail = db.session.execute(select(OutboxMail).where(OutboxMail.template == "esign_activation_link")).scalar_one()
        assert link_mail.recipient == "pemohon@pekalongankota.go.id" and "berlaku 7 hari" in link_mail.body

    response = activate(pemohon, case_id, activation())
    assert response.status_code == 200, response.get_json()

    case = case_of(pemohon, case_id)
    assert case["case"]["status"] == "completed" and case["case"]["outcome"] == "end_issued"
    assert case["data"]["activation"]["accept_obligations"] is True
    assert set(case["data"]["activation"]) == {
        "ktp_photo", "selfie", "accept_obligations", "accepted_terms_version", "accepted_terms_sha256"
    }
    serial = case["certificates"][0]["serial"]
    assert case["data"]["certificate"]["serial_hex"] == serial
    assert case["data"]["certificate"]["key_held_by"] == "psre"
    kinds = {d["kind"] for d in case["documents"]}
    assert kinds == {"upload", "form", "letter", "dossier"}  # form: the two forms; letter: the sealed verification decision

    with app.app_context():
        psre = app.extensions["sertel.psre"]
        signed = psre.sign_pdf(NIK, PASSPHRASE, one_page_pdf(), "Menyetujui", "Kota Pekalongan")
        report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    assert report.verdict == VALID
    assert report.signatures[0].signer_name == "Budi Santoso"


def test_the_passphrase_is_never_stored(api: Any, app: Flask) -> None:
    pemohon, case_id = approved_case(api)
    assert activate(pemohon, case_id, activation(PASSPHRASE, PASSPHRASE + "x")).status_code == 422
    assert activate(pemohon, case_id, activation()).status_code == 200
    stored = everything_stored_about(app, case_id)
    assert "accept_obligations" in stored
    assert PASSPHRASE not in stored
    case = case_of(pemohon, case_id)
    dossier = pemohon.get(f"/documents/{case['data']['dossier']['document_id']}")
    assert dossier.status_code == 200 and PASSPHRASE.encode() not in dossier.data
    manifest = json.loads(dossier.data)
    assert manifest["certificates"][0]["serial"] == case["certificates"][0]["serial"]
    assert {"step": "activation", "field": "accept_obligations", "value": True} in manifest["declarations"]
    # The dossier names the version of the text accepted, not only the ticked box.
    version = owner_terms("esign").version
    assert {"step": "activation", "field": "accepted_terms_version", "value": version} in manifest["declarations"]
    photos = {case["data"]["activation"]["ktp_photo"], case["data"]["activation"]["selfie"]}
    assert photos <= {d["id"] for d in manifest["documents"]}


def test_mismatched_passphrases_answer_422_and_keep_the_activation_open(api: Any, app: Flask) -> None:
    pemohon, case_id = approved_case(api)
    response = activate(pemohon, case_id, activation(PASSPHRASE, "Batik-Pekalongan2024"))
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert fields.pop("passphrase_confirmation") == ["Konfirmasi passphrase tidak sama dengan passphrase."]
    # The photos were fine but are not stored with a refused form: they are to be sent again.
    assert fields == {name: ["Berkas ini belum disimpan karena isian lain perlu diperbaiki; pilih berkas ini lagi."]
                      for name in ("ktp_photo", "selfie")}
    assert only_task(pemohon, case_id, "activation")["status"] == "open"
    assert case_of(pemohon, case_id)["certificates"] == []


def test_weak_passphrase_and_missing_photos_are_refused_in_indonesian(api: Any, app: Flask) -> None:
    pemohon, case_id = approved_case(api)
    response = activate(pemohon, case_id, activation("password", ktp_photo=None, selfie=None, accept_obligations=None))
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert fields["passphrase"] == ["Passphrase minimal 8 karakter dan harus memuat huruf dan angka."]
    assert fields["ktp_photo"] == ["Dokumen wajib diunggah."] and "selfie" in fields
    assert fields["accept_obligations"] == ["Anda harus menyetujui kewajiban pemilik sertifikat."]
    assert "password" not in everything_stored_about(app, case_id).replace("passphrase", "")


def test_expired_activation_link_ends_the_case(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False):
        _pemohon, case_id = approved_case(api)
    with time_machine.travel(START + timedelta(days=6, hours=23), tick=False):
        with app.app_context():
            assert fire_due_timers() == 0
        assert only_task(api("pemohon"), case_id, "activation")["status"] == "open"
    with time_machine.travel(START + timedelta(days=7, minutes=1), tick=False):
        with app.app_context():
            assert fire_due_timers() == 1
        pemohon = api("pemohon")  # API tokens live hours, not days: log in again
        case = case_of(pemohon, case_id)
        assert pemohon.get("/tasks").get_json()["mine"] == []
    assert case["case"]["status"] == "completed" and case["case"]["outcome"] == "end_activation_expired"
    assert case["certificates"] == []
    with app.app_context():
        expired = db.session.execute(select(OutboxMail).where(OutboxMail.template == "activation_expired")).scalar_one()
        assert expired.recipient == "pemohon@pekalongankota.go.id" and f"#{case_id}" in expired.subject


def test_rejection_ends_the_case_without_registering_at_the_psre(api: Any, app: Flask) -> None:
    pemohon, case_id = start_to_verification(api)
    assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN Kota Pekalongan."}).status_code == 200
    case = case_of(pemohon, case_id)
    assert case["case"]["outcome"] == "end_rejected"
    assert "psre_subject" not in case["data"]
    with app.app_context():
        assert db.session.execute(select(OutboxMail.template).where(OutboxMail.instance_id == case_id)).scalars().all()[-1] == "rejected"


def test_declined_recommendation_ends_the_case(api: Any, app: Flask) -> None:
    pemohon = api("pemohon")
    case_id = pemohon.post("/cases", json={"process_key": KEY}).get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    atasan = api("atasan")
    task = only_task(atasan, case_id, "recommendation")
    body = {**RECOMMEND, "decision": "decline", "notes": "Belum memerlukan sertifikat."}
    assert atasan.post(f"/tasks/{task['id']}/complete", json=body).status_code == 200
    assert case_of(pemohon, case_id)["case"]["outcome"] == "end_declined"


def test_returned_application_comes_back_to_the_applicant(api: Any, app: Flask) -> None:
    pemohon, case_id = start_to_verification(api)
    assert verify(api, case_id, {"decision": "return", "reasons": "Foto KTP buram."}).status_code == 200
    task = only_task(pemohon, case_id, "registration_form")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    assert form["data"]["verification"]["reasons"] == "Foto KTP buram."


def test_activation_webform_never_echoes_the_passphrase(api: Any, app: Flask) -> None:
    pemohon, case_id = approved_case(api)
    task_id = only_task(pemohon, case_id, "activation")["id"]
    browser = WebUser(app, "pemohon")
    page = html_of(browser.get(f"/tugas/{task_id}"))
    assert page.xpath("//input[@name='passphrase']/@type") == ["password"]
    assert page.xpath("//input[@name='passphrase_confirmation']/@type") == ["password"]
    assert page.xpath("//input[@type='file']/@name") == ["ktp_photo", "selfie"]
    response = browser.post(f"/tugas/{task_id}", {**activation(PASSPHRASE, "Lain-lain12345")}, multipart=True)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Konfirmasi passphrase tidak sama" in text
    assert PASSPHRASE not in text and "Lain-lain12345" not in text


def test_registration_and_verification_pages_reuse_the_issuance_forms(api: Any, app: Flask) -> None:
    siti = api("pemohon2")  # Budi applies below; one running request per person and kind
    case_id = siti.post("/cases", json={"process_key": KEY}).get_json()["case"]["id"]
    task_id = only_task(siti, case_id, "registration_form")["id"]
    page = WebUser(app, "pemohon2").get(f"/tugas/{task_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Metode eSign" in text and "Formulir Pendaftaran Sertifikat Elektronik untuk Individu" in text
    _pemohon, case_id = start_to_verification(api)
    verifikator = WebUser(app, "verifikator")
    task_id = only_task(api("verifikator"), case_id, "verification")["id"]
    verifikator.post(f"/tugas/{task_id}/klaim")
    page = html_of(verifikator.get(f"/tugas/{task_id}"))
    assert page.xpath("//ul[@id='automated-checks']/li")
    assert "Budi Santoso" in page.text_content()
