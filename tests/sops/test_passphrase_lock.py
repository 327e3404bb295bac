"""SOP 088.13 (forgotten passphrase / LOCK) end to end: LOCK by wrong passphrases, recovery through the API."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from engine.models import AuditEvent, Certificate, HumanTask, OutboxMail, ProcessInstance, db
from engine.models.base import utcnow
from engine.services.timers import fire_due_timers
from pki.errors import KeyLocked, WrongPassphrase
from tests.pki.pki_builders import one_page_pdf
from tests.sops.builders import APPROVE, PNG, registration
from tests.sops.test_issuance_ams import case_of, only_task, recommend, verify
from tests.web.test_html_flow import WebUser, html_of

NIK = "3375011507900001"
OLD_PASSPHRASE = "PassLama2026"
NEW_PASSPHRASE = "Kunci-Baru-7319"


def esign_certificate(api: Any) -> str:
    """Issue the demo applicant an eSign certificate through SOP 088.14; return its serial."""
    pemohon = api("pemohon")
    case_id = pemohon.post("/cases", json={"process_key": "issuance_esign"}).get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    assert pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data").status_code == 200
    assert recommend(api, case_id).status_code == 200
    assert verify(api, case_id, APPROVE).status_code == 200
    activation = only_task(pemohon, case_id, "activation")
    body = {
        "ktp_photo": (io.BytesIO(PNG), "ktp.png"), "selfie": (io.BytesIO(PNG), "swafoto.png"), "accept_obligations": "true",
        "passphrase": OLD_PASSPHRASE, "passphrase_confirmation": OLD_PASSPHRASE,
    }
    response = pemohon.post(f"/tasks/{activation['id']}/complete", data=body, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return str(case_of(pemohon, case_id)["certificates"][0]["serial"])


def sign(app: Any, passphrase: str) -> bytes:
    """Sign a one-page PDF with the owner's server-held key, as the eSign service would."""
    with app.app_context():
        psre = app.extensions["sertel.psre"]
        return psre.sign_pdf(NIK, passphrase, one_page_pdf(), "Uji tanda tangan", "Kota Pekalongan")  # type: ignore[no-any-return]


def lock_by_wrong_passphrases(app: Any) -> None:
    """Five wrong passphrases LOCK the key; the sixth attempt is refused even with the right passphrase."""
    for attempt in range(5):
        with pytest.raises(WrongPassphrase) as wrong:
            sign(app, f"SalahTebak{attempt}x")
        assert wrong.value.remaining_attempts == 4 - attempt
    with pytest.raises(KeyLocked) as locked:
        sign(app, OLD_PASSPHRASE)
    assert "088.13" in str(locked.value)


def start_statement(api: Any, serial: str, **overrides: Any) -> tuple[Any, int, Any]:
    pemohon = api("pemohon")
    response = pemohon.post("/cases", json={"process_key": "passphrase_lock", "data": {"certificate_serial": serial}})
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "statement_form")
    fields: dict[str, Any] = {
        "certificate_serial": serial, "statement_date": "2026-03-02", "reason": "Lima kali salah passphrase.",
        "ktp_scan": (io.BytesIO(PNG), "ktp.png"), "statement_forgotten": "true", "statement_true": "true",
    }
    fields.update(overrides)
    body = {k: v for k, v in fields.items() if v is not None}
    return pemohon, case_id, pemohon.post(f"/tasks/{task['id']}/complete", data=body, content_type="multipart/form-data")


def signer_serial(signed: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(signed)).embedded_signatures[0].signer_cert.serial_number)


def crl_serials(client: Any) -> set[int]:
    return {entry.serial_number for entry in x509.load_der_x509_crl(client.get("/pki/crl").data)}


def assert_passphrases_stored_nowhere(app: Any, *passphrases: str) -> None:
    """No row of the case tables nor any file of the instance holds a passphrase in clear."""
    with app.app_context():
        texts = [*db.session.execute(select(ProcessInstance.state_json)).scalars(),
                 *db.session.execute(select(ProcessInstance.applicant_json)).scalars(),
                 *db.session.execute(select(AuditEvent.payload_json)).scalars()]
        texts += [m.subject + m.body for m in db.session.execute(select(OutboxMail)).scalars()]
        instance = Path(app.config["SERTEL"]["INSTANCE_DIR"])
    files = [p.read_bytes() for p in instance.rglob("*") if p.is_file()]
    for secret in passphrases:
        assert not any(secret in text for text in texts if text)
        assert not any(secret.encode() in blob for blob in files)


def test_lock_then_recovery_through_088_13_gives_a_new_key_and_the_old_cannot_sign(api: Any, app: Any, client: Any) -> None:
    old_serial = esign_certificate(api)
    assert signer_serial(sign(app, OLD_PASSPHRASE)) == int(old_serial, 16)
    lock_by_wrong_passphrases(app)

    pemohon, case_id, response = start_statement(api, old_serial)
    assert response.status_code == 200, response.get_json()
    checks = case_of(api("verifikator"), case_id)["data"]["checks"]
    assert checks["errors"] == 0, checks
    page = WebUser(app, "verifikator").get(f"/tugas/{only_task(api('verifikator'), case_id, 'verification')['id']}")
    assert html_of(page).xpath("//section[@id='passphrase-lock-summary']")
    assert verify(api, case_id, APPROVE).status_code == 200

    with app.app_context():
        mail = db.session.execute(select(OutboxMail).where(OutboxMail.template == "passphrase_reset_link")).scalar_one()
        assert mail.recipient == "pemohon@pekalongankota.go.id" and f"/kasus/{case_id}" in mail.body
    link = only_task(pemohon, case_id, "set_new_passphrase")
    assert WebUser(app, "pemohon").get(f"/tugas/{link['id']}").status_code == 200
    mismatch = {"passphrase": NEW_PASSPHRASE, "passphrase_confirmation": "lain-sekali-1", "accept_obligations": True}
    assert pemohon.post(f"/tasks/{link['id']}/complete", json=mismatch).status_code == 422
    body = {"passphrase": NEW_PASSPHRASE, "passphrase_confirmation": NEW_PASSPHRASE, "accept_obligations": True}
    response = pemohon.post(f"/tasks/{link['id']}/complete", json=body)
    assert response.status_code == 200, response.get_json()
    # The one-time link is spent.
    assert pemohon.post(f"/tasks/{link['id']}/complete", json=body).status_code == 409

    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_reset")
    [new] = case["certificates"]
    assert new["serial"] != old_serial and new["status"] == "active"

    assert signer_serial(sign(app, NEW_PASSPHRASE)) == int(new["serial"], 16)
    with pytest.raises(WrongPassphrase):
        sign(app, OLD_PASSPHRASE)
    revoked = crl_serials(client)
    assert int(old_serial, 16) in revoked and int(new["serial"], 16) not in revoked
    with app.app_context():
        statuses = {c.serial: c.status for c in db.session.execute(select(Certificate).where(Certificate.instance_id.is_not(None))).scalars()}
        subjects = [m.subject for m in db.session.execute(select(OutboxMail).where(OutboxMail.instance_id == case_id)).scalars()]
    assert statuses == {old_serial: "revoked", new["serial"]: "active"}
    assert any("Passphrase baru aktif" in s for s in subjects)
    assert any(d["kind"] == "dossier" for d in case["documents"])
    assert_passphrases_stored_nowhere(app, OLD_PASSPHRASE, NEW_PASSPHRASE)


def test_reset_destroys_the_old_wrapped_key_and_the_case_log_says_so(api: Any, app: Any) -> None:
    old_serial = esign_certificate(api)
    lock_by_wrong_passphrases(app)
    pemohon, case_id, response = start_statement(api, old_serial)
    assert response.status_code == 200, response.get_json()
    assert verify(api, case_id, APPROVE).status_code == 200
    link = only_task(pemohon, case_id, "set_new_passphrase")
    body = {"passphrase": NEW_PASSPHRASE, "passphrase_confirmation": NEW_PASSPHRASE, "accept_obligations": True}
    assert pemohon.post(f"/tasks/{link['id']}/complete", json=body).status_code == 200
    assert case_of(pemohon, case_id)["data"]["certificate"]["keys_destroyed"] == [old_serial]
    with app.app_context():
        psre = app.extensions["sertel.psre"]
        assert [(e.event, e.serial_hex) for e in psre.key_events(NIK)] == [("destroyed", old_serial)]
        assert psre.certificate_status(old_serial).key_destroyed is True
        logged = db.session.execute(
            select(AuditEvent.payload_json).where(AuditEvent.instance_id == case_id, AuditEvent.kind == "step_completed")
        ).scalars()
        compact = [json.dumps(json.loads(payload), separators=(",", ":")) for payload in logged]
        assert any('"keys_destroyed":["' + old_serial + '"]' in payload for payload in compact)


def test_unused_link_expires_and_the_key_stays_locked(api: Any, app: Any) -> None:
    old_serial = esign_certificate(api)
    lock_by_wrong_passphrases(app)
    pemohon, case_id, _response = start_statement(api, old_serial)
    assert verify(api, case_id, APPROVE).status_code == 200
    assert only_task(pemohon, case_id, "set_new_passphrase")
    with time_machine.travel(utcnow() + timedelta(days=7, hours=1), tick=False), app.app_context():
        assert fire_due_timers() == 1
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_expired")
    with app.app_context():
        link = db.session.execute(select(HumanTask).where(HumanTask.instance_id == case_id, HumanTask.task_name == "set_new_passphrase")).scalar_one()
        assert link.status == "cancelled"
        assert db.session.execute(select(OutboxMail).where(OutboxMail.template == "passphrase_link_expired")).scalar_one()
        assert db.session.execute(select(Certificate.status).where(Certificate.serial == old_serial)).scalar_one() == "active"
    with pytest.raises(KeyLocked):
        sign(app, OLD_PASSPHRASE)


def test_rejected_statement_ends_the_case_without_reset(api: Any, app: Any) -> None:
    old_serial = esign_certificate(api)
    pemohon, case_id, _response = start_statement(api, old_serial)
    assert verify(api, case_id, {"decision": "reject", "reasons": "KTP tidak sesuai dengan pemilik sertifikat."}).status_code == 200
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_rejected")
    assert case["certificates"] == []
    assert signer_serial(sign(app, OLD_PASSPHRASE)) == int(old_serial, 16)


def test_statement_without_id_upload_is_refused_with_422(api: Any, app: Any) -> None:
    old_serial = esign_certificate(api)
    pemohon, case_id, response = start_statement(api, old_serial, ktp_scan=None, statement_forgotten=None)
    assert response.status_code == 422
    assert {"ktp_scan", "statement_forgotten"} <= set(response.get_json()["fields"])
    task = only_task(pemohon, case_id, "statement_form")
    page = html_of(WebUser(app, "pemohon").get(f"/tugas/{task['id']}"))
    assert page.xpath("//select[@name='certificate_serial']/option[@selected]/@value") == [old_serial]
    assert page.xpath("//input[@name='statement_date']/@value")[0][:4].isdigit()
