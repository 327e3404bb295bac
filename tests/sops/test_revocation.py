"""SOP 088.11 end to end through the JSON API: revocation by the owner or the RA, with the key-compromise fast track."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from flask import Flask
from marshmallow import ValidationError
from sqlalchemy import select

from engine.models import AuditEvent, OutboxMail, User, db
from engine.services.timers import fire_due_timers
from handlers.forms import VerificationSchema
from pki.validation import COMPROMISED, VALID
from tests.pki.pki_builders import one_page_pdf
from tests.sops.builders import APPROVE
from tests.sops.test_issuance_ams import case_of, only_task
from tests.sops.test_issuance_esign import NIK as ESIGN_NIK
from tests.sops.test_issuance_esign import PASSPHRASE as ESIGN_PASSPHRASE
from tests.sops.test_issuance_esign import activate as esign_activate
from tests.sops.test_issuance_esign import activation as esign_activation
from tests.sops.test_issuance_esign import approved_case as esign_approved_case
from tests.sops.test_renewal_rekey import (
    PEMOHON_NIP,
    chain_of,
    crl_entry,
    issued_certificate,
    ocsp_status,
    set_roster_status,
)
from tests.web.test_html_flow import WebUser
from tests.web_login import csrf_of

# After the test PSrE is created (the RA seal and TSA certificates start then): the form PDFs are sealed.
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
CHRONOLOGY = "Laptop kantor yang menyimpan kunci privat hilang di kereta pada pagi hari."


def statement(**overrides: Any) -> dict[str, Any]:
    """A complete revocation statement (the certificate is added by the caller)."""
    body = {"reason": "affiliationChanged", "chronology": "Saya pindah tugas ke Pemerintah Kabupaten Batang mulai bulan depan.",
            "incident_date": date.today().isoformat(), "statement_true": True}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def start_revocation(user: Any, serial: str, applicant: str | None = None, **data: Any) -> int:
    """Start a revocation case: by the owner, or by RA staff for `applicant`."""
    body: dict[str, Any] = {"process_key": "revocation", "data": {"certificate_serial": serial, **data}}
    if applicant:
        body["applicant"] = applicant
        body["on_behalf_reason"] = "Permintaan tertulis pimpinan perangkat daerah"
    response = user.post("/cases", json=body)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["case"]["id"])


def submit(user: Any, case_id: int, task_name: str, body: dict[str, Any]) -> Any:
    """Claim (staff) and complete the open task `task_name` of a case."""
    task = only_task(user, case_id, task_name)
    if task["role"] != "Pemohon":
        assert user.post(f"/tasks/{task['id']}/claim").status_code == 200
    return user.post(f"/tasks/{task['id']}/complete", json=body)


def mails(app: Flask, case_id: int) -> list[tuple[str, str]]:
    """(template, recipient) of every mail the case sent."""
    with app.app_context():
        rows = db.session.execute(select(OutboxMail).where(OutboxMail.instance_id == case_id)).scalars()
        return [(m.template, m.recipient) for m in rows]


def revocation_reason(client: Any, owner: Any, serial: str) -> tuple[x509.ReasonFlags | None, ocsp.OCSPResponse]:
    """The reason in the CRL served now, and the OCSP answer, for a certificate."""
    entry = crl_entry(client, serial)
    assert entry is not None, "serial not in the CRL"
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    leaf, issuing, _root = chain_of(owner, serial)
    return reason, ocsp_status(client, leaf, issuing)


def test_owner_revocation_after_verification_shows_in_crl_and_ocsp_at_once(api: Any, app: Flask, client: Any) -> None:
    serial, _key, issuance_case = issued_certificate(api)
    pemohon = api("pemohon")
    case_id = start_revocation(pemohon, serial)
    task = only_task(pemohon, case_id, "statement")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    assert form["prefill"]["certificate_serial"] == serial
    assert form["data"]["revocation"]["initiator"] == "owner"
    page = WebUser(app, "pemohon").get(f"/tugas/{task['id']}")
    assert page.status_code == 200 and "kunci privat bocor" in page.get_data(as_text=True).lower()

    future = (date.today() + timedelta(days=2)).isoformat()
    response = submit(pemohon, case_id, "statement", statement(certificate_serial=serial, reason="lostKey", chronology="pendek", incident_date=future))
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) >= {"reason", "chronology", "incident_date"}
    assert submit(pemohon, case_id, "statement", statement(certificate_serial=serial)).status_code == 200

    verifikator = api("verifikator")
    verification = only_task(verifikator, case_id, "verification")
    page = WebUser(app, "verifikator").get(f"/tugas/{verification['id']}")
    assert page.status_code == 200 and 'id="revocation-summary"' in page.get_data(as_text=True)
    assert crl_entry(client, serial) is None
    response = submit(verifikator, case_id, "verification", APPROVE)
    assert response.status_code == 200, response.get_json()

    reason, answer = revocation_reason(client, pemohon, serial)
    assert reason == x509.ReasonFlags.affiliation_changed
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.affiliation_changed
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_revoked")
    assert case["data"]["revoked"]["serial"] == serial
    assert any(d["kind"] == "dossier" for d in case["documents"])
    assert case_of(pemohon, issuance_case)["certificates"][0]["status"] == "revoked"
    assert ("certificate_revoked", "pemohon@pekalongankota.go.id") in mails(app, case_id)
    case_page = WebUser(app, "pemohon").get(f"/kasus/{case_id}")
    assert case_page.status_code == 200 and "<svg" in case_page.get_data(as_text=True)


def test_key_compromise_is_fast_tracked_to_the_verifikator_and_revoked_at_once(api: Any, app: Flask, client: Any) -> None:
    serial, _key, _case = issued_certificate(api)
    pemohon = api("pemohon")
    case_id = start_revocation(pemohon, serial)
    response = submit(pemohon, case_id, "statement", statement(certificate_serial=serial, reason="keyCompromise", chronology=CHRONOLOGY))
    assert response.status_code == 200, response.get_json()

    verifikator = api("verifikator")
    listing = verifikator.get("/tasks").get_json()
    names = [t["task_name"] for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id]
    assert names == ["fast_track_decision"]
    assert ("key_compromise_alert", "verifikator@pekalongankota.go.id") in mails(app, case_id)
    task = only_task(verifikator, case_id, "fast_track_decision")
    page = WebUser(app, "verifikator").get(f"/tugas/{task['id']}")
    assert page.status_code == 200 and "Jalur cepat" in page.get_data(as_text=True)

    assert submit(verifikator, case_id, "fast_track_decision", {"decision": "approve"}).status_code == 422
    response = submit(verifikator, case_id, "fast_track_decision", {"decision": "approve", "checked_identity": True})
    assert response.status_code == 200, response.get_json()

    reason, answer = revocation_reason(client, pemohon, serial)
    assert reason == x509.ReasonFlags.key_compromise
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason == x509.ReasonFlags.key_compromise
    case = case_of(pemohon, case_id)
    assert case["case"]["outcome"] == "end_revoked"
    assert "verification" not in case["data"]


def test_undecided_key_compromise_escalates_to_the_dinas_after_the_sla(api: Any, app: Flask, client: Any) -> None:
    with time_machine.travel(START, tick=False):
        serial, _key, _case = issued_certificate(api)
        pemohon = api("pemohon")
        case_id = start_revocation(pemohon, serial)
        assert submit(pemohon, case_id, "statement", statement(certificate_serial=serial, reason="keyCompromise", chronology=CHRONOLOGY)).status_code == 200

    with time_machine.travel(START + timedelta(hours=3, minutes=59), tick=False), app.app_context():
        assert fire_due_timers() == 0
    with time_machine.travel(START + timedelta(hours=4, minutes=1), tick=False), app.app_context():
        assert fire_due_timers() == 1
        assert fire_due_timers() == 0
    assert ("key_compromise_escalation", "diskominfo@pekalongankota.go.id") in mails(app, case_id)

    with time_machine.travel(START + timedelta(hours=5), tick=False):
        verifikator = api("verifikator")
        assert only_task(verifikator, case_id, "fast_track_decision")["status"] == "open"
        response = submit(verifikator, case_id, "fast_track_decision", {"decision": "approve", "checked_identity": True})
        assert response.status_code == 200, response.get_json()
        case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_revoked")
    assert [t for t, _to in mails(app, case_id)].count("key_compromise_escalation") == 1


def test_revocation_of_an_already_revoked_certificate_is_refused_up_front(api: Any, app: Flask, client: Any) -> None:
    serial, _key, _case = issued_certificate(api)
    pemohon = api("pemohon")
    first = start_revocation(pemohon, serial)
    submit(pemohon, first, "statement", statement(certificate_serial=serial, reason="keyCompromise", chronology=CHRONOLOGY))
    submit(api("verifikator"), first, "fast_track_decision", {"decision": "approve", "checked_identity": True})
    revoked_at = crl_entry(client, serial).revocation_date_utc  # type: ignore[union-attr]

    # A second revocation of the revoked certificate is refused at start, with the reason (no case is made).
    response = pemohon.post("/cases", json={"process_key": "revocation", "data": {"certificate_serial": serial}})
    assert response.status_code == 422, response.get_json()
    assert "sudah dicabut" in response.get_json()["error"]
    assert crl_entry(client, serial).revocation_date_utc == revoked_at  # type: ignore[union-attr]
    assert api("verifikator").get("/tasks").get_json()["claimable"] == []


def test_certificate_revoked_at_the_psre_directly_is_refused_and_the_inventory_catches_up(api: Any, app: Flask) -> None:
    serial, _key, issuance_case = issued_certificate(api)
    with app.app_context():
        app.extensions["sertel.psre"].revoke(serial, "cessationOfOperation", "psre-portal-1")
    pemohon = api("pemohon")
    case_id = start_revocation(pemohon, serial)
    assert submit(pemohon, case_id, "statement", statement(certificate_serial=serial)).status_code == 200
    assert case_of(pemohon, case_id)["case"]["outcome"] == "end_already_revoked"
    assert case_of(pemohon, issuance_case)["certificates"][0]["status"] == "revoked"


def test_ra_revokes_on_behalf_of_someone_who_left_the_roster(api: Any, app: Flask, client: Any) -> None:
    serial, _key, _case = issued_certificate(api)
    set_roster_status(app, PEMOHON_NIP, "keluar")
    verifikator = api("verifikator")
    case_id = start_revocation(verifikator, serial, applicant="pemohon", reason="cessationOfOperation")
    pemohon = api("pemohon")
    assert [t for t in pemohon.get("/tasks").get_json()["mine"] if t["case_id"] == case_id] == []
    task = only_task(verifikator, case_id, "ra_statement")
    form = verifikator.get(f"/tasks/{task['id']}/form").get_json()
    assert form["data"]["revocation"]["initiator"] == "ra"
    assert form["prefill"]["reason"] == "cessationOfOperation"
    page = WebUser(app, "verifikator").get(f"/tugas/{task['id']}")
    assert page.status_code == 200 and "atas nama pemilik" in page.get_data(as_text=True)

    body = statement(certificate_serial=serial, reason="cessationOfOperation", chronology="Data kepegawaian BKPSDM menyatakan yang bersangkutan keluar.")
    response = submit(verifikator, case_id, "ra_statement", {**body, "requested_by": "agency_head"})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) >= {"requester_name", "requester_nip"}
    response = verifikator.post(f"/tasks/{task['id']}/complete", json={**body, "requested_by": "ra"})
    assert response.status_code == 200, response.get_json()

    checks = case_of(verifikator, case_id)["data"]["checks"]
    roster = {i["code"]: i for i in checks["items"]}["roster_status"]
    assert "keluar" in roster["message"]
    assert submit(verifikator, case_id, "verification", APPROVE).status_code == 200

    reason, answer = revocation_reason(client, pemohon, serial)
    assert reason == x509.ReasonFlags.cessation_of_operation
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert case_of(verifikator, case_id)["case"]["outcome"] == "end_revoked"
    assert ("certificate_revoked", "pemohon@pekalongankota.go.id") in mails(app, case_id)


def test_agency_head_starts_and_files_the_revocation_of_one_of_their_people(api: Any, app: Flask, client: Any) -> None:
    serial, _key, _case = issued_certificate(api)
    assert api("atasan2").post("/cases", json={"process_key": "revocation", "applicant": "pemohon", "data": {"certificate_serial": serial}}).status_code == 403
    assert api("pemohon2").post("/cases", json={"process_key": "revocation", "applicant": "pemohon", "data": {}}).status_code == 403
    atasan = api("atasan")
    case_id = start_revocation(atasan, serial, applicant="pemohon")
    task = only_task(atasan, case_id, "head_statement")
    form = atasan.get(f"/tasks/{task['id']}/form").get_json()
    assert form["data"]["revocation"]["initiator"] == "head"
    page = WebUser(app, "atasan").get(f"/tugas/{task['id']}")
    assert page.status_code == 200 and "sebagai Kepala Perangkat Daerah" in page.get_data(as_text=True)
    body = statement(certificate_serial=serial, reason="affiliationChanged", chronology="Pegawai dimutasi ke instansi lain sejak awal bulan ini.")
    response = atasan.post(f"/tasks/{task['id']}/complete", json=body)
    assert response.status_code == 200, response.get_json()
    verifikator = api("verifikator")
    # The shared verification step is named by this SOP's diagram (no recommendation in 088.11).
    assert only_task(verifikator, case_id, "verification")["label"] == "Verifikasi permohonan pencabutan"
    assert submit(verifikator, case_id, "verification", APPROVE).status_code == 200
    reason, answer = revocation_reason(client, api("pemohon"), serial)
    assert reason == x509.ReasonFlags.affiliation_changed
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    case = case_of(verifikator, case_id)
    assert case["case"]["outcome"] == "end_revoked"
    statements = [d for d in case["documents"] if d["filename"].startswith("revocation_statement")]
    assert len(statements) == 1
    text = pdf_text(verifikator.get(f"/documents/{statements[0]['id']}").data)
    # The agency head files the statement on the owner's behalf and is the one named under the signature.
    assert "selaku Kepala Perangkat Daerah" in text and "atas nama yang bersangkutan" in text
    assert "pemilik Sertifikat Elektronik tersebut di atas, mengajukan" not in text
    head = users_named(app, "atasan")
    signature = text[text.index("Kepala Perangkat Daerah,", text.index("Pekalongan, ")):]
    assert head in signature and "Budi Santoso" not in signature
    # No eSign passphrase was typed: the RA sealed the form, so it does not claim the head signed it.
    assert "(ditandatangani secara elektronik)" not in text
    assert "disegel secara elektronik oleh Otoritas Pendaftaran" in text
    letters = [d for d in case["documents"] if d["kind"] == "letter"]
    letter = pdf_text(verifikator.get(f"/documents/{letters[0]['id']}").data)
    assert "rekomendasi" not in letter.lower() and "verifikasi identitas dan berkas permohonan" in letter


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF with its lines joined by single spaces (a line break may fall anywhere)."""
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(text.split())


def users_named(app: Flask, username: str) -> str:
    with app.app_context():
        return str(db.session.execute(select(User.full_name).where(User.username == username)).scalar_one())


def test_unknown_certificate_goes_back_to_the_form_then_return_and_rejection_keep_the_certificate(api: Any, app: Flask, client: Any) -> None:
    serial, _key, issuance_case = issued_certificate(api)
    pemohon = api("pemohon")
    case_id = pemohon.post("/cases", json={"process_key": "revocation"}).get_json()["case"]["id"]
    assert submit(pemohon, case_id, "statement", statement(certificate_serial="abcdef0123")).status_code == 200
    task = only_task(pemohon, case_id, "statement")
    data = pemohon.get(f"/tasks/{task['id']}/form").get_json()["data"]
    assert data["revocation_request"]["status"] == "not_found"
    assert "tidak ditemukan" in data["revocation_request"]["problem"]
    assert submit(pemohon, case_id, "statement", statement(certificate_serial=serial)).status_code == 200

    verifikator = api("verifikator")
    assert submit(verifikator, case_id, "verification", {"decision": "return", "reasons": "Lampirkan surat mutasi."}).status_code == 200
    task = only_task(pemohon, case_id, "statement")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    assert form["data"]["verification"]["reasons"] == "Lampirkan surat mutasi."
    assert form["prefill"]["certificate_serial"] == serial
    assert submit(pemohon, case_id, "statement", statement(certificate_serial=serial)).status_code == 200

    assert submit(verifikator, case_id, "verification", {"decision": "reject", "reasons": "Mutasi belum berlaku."}).status_code == 200
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_rejected")
    assert crl_entry(client, serial) is None
    assert case_of(pemohon, issuance_case)["certificates"][0]["status"] == "active"
    assert [t for t, _to in mails(app, case_id)] == ["revocation_returned", "revocation_rejected"]


def test_fast_track_rejection_keeps_the_certificate(api: Any, app: Flask, client: Any) -> None:
    serial, _key, _case = issued_certificate(api)
    pemohon = api("pemohon")
    case_id = start_revocation(pemohon, serial)
    submit(pemohon, case_id, "statement", statement(certificate_serial=serial, reason="keyCompromise", chronology=CHRONOLOGY))
    verifikator = api("verifikator")
    assert submit(verifikator, case_id, "fast_track_decision", {"decision": "reject"}).status_code == 422
    response = submit(verifikator, case_id, "fast_track_decision", {"decision": "reject", "reasons": "Pemohon menemukan laptopnya."})
    assert response.status_code == 200, response.get_json()
    assert case_of(pemohon, case_id)["case"]["outcome"] == "end_rejected"
    assert crl_entry(client, serial) is None
    with app.app_context():
        body = db.session.execute(select(OutboxMail.body).where(OutboxMail.template == "revocation_rejected")).scalar_one()
    assert "Pemohon menemukan laptopnya." in body


def test_verification_without_a_recommendation_needs_no_recommendation_check() -> None:
    schema = VerificationSchema()
    schema.inputs = {"recommendation": None, "statement": {"reason": "affiliationChanged"}}  # type: ignore[attr-defined]
    loaded = schema.load({"decision": "approve", "checked_identity": True, "checked_asn": True})
    assert loaded["decision"] == "approve"
    schema.inputs = {"recommendation": {"decision": "approve"}}  # type: ignore[attr-defined]
    with pytest.raises(ValidationError) as caught:
        schema.load({"decision": "approve", "checked_identity": True, "checked_asn": True})
    assert "checked_recommendation" in caught.value.messages


# --- key compromise of a server-held (eSign) key ---------------------------------------------------


def sign_over_api(pemohon: Any, passphrase: str = ESIGN_PASSPHRASE) -> Any:
    """Sign a one-page PDF with the owner's eSign key over POST /api/v1/sign."""
    form = {"file": (io.BytesIO(one_page_pdf()), "surat.pdf"), "passphrase": passphrase, "reason": "Menyetujui"}
    return pemohon.post("/sign", data=form, content_type="multipart/form-data")


def validate_over_api(client: Any, pdf: bytes) -> dict[str, Any]:
    """Validate a PDF over the public POST /api/v1/validate."""
    response = client.post("/api/v1/validate", data={"file": (io.BytesIO(pdf), "surat.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 200
    return dict(response.get_json())


def esign_owner(api: Any) -> tuple[Any, str]:
    """Have pemohon hold an eSign certificate (088.14); return the API client and the serial."""
    pemohon, case_id = esign_approved_case(api)
    assert esign_activate(pemohon, case_id, esign_activation()).status_code == 200
    return pemohon, case_of(pemohon, case_id)["certificates"][0]["serial"]


def report_key_compromise(pemohon: Any, serial: str) -> int:
    """The owner files a key-compromise revocation statement (incident: today)."""
    case_id = start_revocation(pemohon, serial)
    body = statement(certificate_serial=serial, reason="keyCompromise", chronology=CHRONOLOGY)
    response = submit(pemohon, case_id, "statement", body)
    assert response.status_code == 200, response.get_json()
    return case_id


def audit_payloads(app: Flask, kind: str, case_id: int | None = None) -> list[dict[str, Any]]:
    """The payloads of audit events of a kind (of one case, when given)."""
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.kind == kind)
        if case_id is not None:
            query = query.where(AuditEvent.instance_id == case_id)
        return [json.loads(e.payload_json) for e in db.session.execute(query).scalars()]


def openssl_text(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(["openssl", *args], cwd=tmp_path, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def test_key_compromise_suspends_esign_at_once_then_revocation_invalidates_later_signatures_and_destroys_the_key(
    api: Any, app: Flask, client: Any, tmp_path: Path
) -> None:
    pemohon, serial = esign_owner(api)
    # Signed after the incident (today) but before anyone reported it: valid for now.
    signed = sign_over_api(pemohon)
    assert signed.status_code == 200, signed.get_json()
    assert validate_over_api(client, signed.get_data())["verdict"] == VALID

    case_id = report_key_compromise(pemohon, serial)
    assert case_of(pemohon, case_id)["data"]["suspension"]["suspended"] is True
    refused = sign_over_api(pemohon)
    assert refused.status_code == 423
    assert "ditangguhkan" in refused.get_json()["error"] and "088.11" in refused.get_json()["error"]
    assert {"why": "suspended"} in audit_payloads(app, "signing_refused")
    with app.app_context():
        psre = app.extensions["sertel.psre"]
        assert [e.event for e in psre.key_events(ESIGN_NIK)] == ["suspended"]
        assert psre.keystore.state(psre.current_certificate(ESIGN_NIK).subject_id).failed_attempts == 0

    verifikator = api("verifikator")
    response = submit(verifikator, case_id, "fast_track_decision", {"decision": "approve", "checked_identity": True})
    assert response.status_code == 200, response.get_json()
    revoked = case_of(pemohon, case_id)["data"]["revoked"]
    incident = datetime.combine(date.today(), datetime.min.time(), tzinfo=timezone(timedelta(hours=7))).astimezone(UTC)
    assert revoked["invalidity_date"] == incident.isoformat() and revoked["key_destroyed"] is True
    steps = [p["output"] for p in audit_payloads(app, "step_completed", case_id) if p["task_name"] == "revoke_certificate"]
    assert steps[0]["revoked"]["key_destroyed"] is True

    # CRL and OCSP carry the invalidity date, as openssl reads them.
    expected = incident.strftime("%b %e %H:%M:%S %Y GMT")
    (tmp_path / "crl.der").write_bytes(client.get("/pki/crl").get_data())
    crl_text = openssl_text(tmp_path, "crl", "-inform", "DER", "-in", "crl.der", "-text", "-noout")
    assert "Invalidity Date" in crl_text and expected in crl_text
    leaf, issuing, root = chain_of(pemohon, serial)
    for name, cert in (("leaf.pem", leaf), ("issuing.pem", issuing), ("root.pem", root)):
        (tmp_path / name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    openssl_text(tmp_path, "ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der")
    answer = client.post("/pki/ocsp", data=(tmp_path / "req.der").read_bytes(), content_type="application/ocsp-request")
    (tmp_path / "resp.der").write_bytes(answer.get_data())
    ocsp_text = openssl_text(tmp_path, "ocsp", "-respin", "resp.der", "-issuer", "issuing.pem", "-cert", "leaf.pem",
                             "-CAfile", "root.pem", "-no_nonce", "-resp_text")
    assert "Response verify OK" in ocsp_text and "leaf.pem: revoked" in ocsp_text
    assert "Invalidity Date" in ocsp_text and expected in ocsp_text

    # The PDF signed before the revocation but after the incident no longer validates, on the API and the page.
    report = validate_over_api(client, signed.get_data())
    assert report["verdict"] == COMPROMISED and not report["valid"]
    token = csrf_of(client.get("/validasi").get_data(as_text=True))
    page = client.post("/validasi", data={"csrf_token": token, "file": (io.BytesIO(signed.get_data()), "surat.pdf")},
                       content_type="multipart/form-data")
    assert page.status_code == 200 and COMPROMISED in page.get_data(as_text=True)

    # The wrapped key is gone: not even the right passphrase opens it.
    with app.app_context():
        psre = app.extensions["sertel.psre"]
        assert [e.event for e in psre.key_events(ESIGN_NIK)] == ["suspended", "destroyed"]
        assert psre.certificate_status(serial).key_destroyed is True
        with psre.store.read() as conn:
            owner = conn.execute("SELECT subject_id FROM certificates WHERE serial_hex = ?", (serial,)).fetchone()[0]
            assert conn.execute("SELECT count(*) FROM esign_keys WHERE owner_id = ?", (owner,)).fetchone()[0] == 0
    assert sign_over_api(pemohon).status_code == 403


def test_rejected_key_compromise_report_lifts_the_suspension(api: Any, app: Flask) -> None:
    pemohon, serial = esign_owner(api)
    case_id = report_key_compromise(pemohon, serial)
    assert sign_over_api(pemohon).status_code == 423
    response = submit(api("verifikator"), case_id, "fast_track_decision", {"decision": "reject", "reasons": "Laptop ditemukan; kunci tidak bocor."})
    assert response.status_code == 200, response.get_json()
    case = case_of(pemohon, case_id)
    assert case["case"]["outcome"] == "end_rejected" and case["data"]["suspension_lifted"]["lifted"] is True
    assert sign_over_api(pemohon).status_code == 200
    with app.app_context():
        events = [e.event for e in app.extensions["sertel.psre"].key_events(ESIGN_NIK)]
    assert events == ["suspended", "suspension_lifted"]
