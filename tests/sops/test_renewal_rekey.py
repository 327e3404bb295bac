"""SOP 088.10 end to end through the JSON API: renewal with a new key pair, and its rejection branches."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select

from engine.models import OutboxMail, RosterEntry, db
from tests.sops.builders import APPROVE, csr_pem
from tests.sops.test_issuance_ams import case_of, only_task, recommend, start_and_register, verify
from tests.web.test_html_flow import WebUser

PEMOHON_NIP = "199007152015031001"


# --------------------------------------------------------------------------- builders


def issued_certificate(api: Any) -> tuple[str, Any, int]:
    """Run SOP 088.9 to its end for 'pemohon'; return (serial, private key, issuance case id)."""
    pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    assert verify(api, case_id, APPROVE).status_code == 200
    csr, key = csr_pem()
    activation = only_task(pemohon, case_id, "activation")
    response = pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    assert response.status_code == 200, response.get_json()
    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    return case_of(pemohon, case_id)["certificates"][0]["serial"], key, case_id


def csr_for_key(key: Any, common_name: str = "Budi Santoso") -> str:
    """A CSR signed with an existing key (to try to renew onto a key the PSrE already certified)."""
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def start_renewal(api: Any, serial: str | None) -> tuple[Any, int]:
    """Start a renewal as the owner, with the certificate in the start data (as the expiry reminder does)."""
    pemohon = api("pemohon")
    body: dict[str, Any] = {"process_key": "renewal_rekey"}
    if serial is not None:
        body["data"] = {"certificate_serial": serial}
    response = pemohon.post("/cases", json=body)
    assert response.status_code == 201, response.get_json()
    return pemohon, response.get_json()["case"]["id"]


def submit_renewal_form(pemohon: Any, case_id: int, **overrides: Any) -> Any:
    """Complete the renewal form with its prefill plus the phone number and the statement."""
    task = only_task(pemohon, case_id, "renewal_form")
    prefill = pemohon.get(f"/tasks/{task['id']}/form").get_json()["prefill"]
    body = {**prefill, "phone": "0812-3456-7890", "statement_true": True, **overrides}
    return pemohon.post(f"/tasks/{task['id']}/complete", json=body)


def set_roster_status(app: Flask, nip: str, status: str) -> None:
    """Change a person's status in the ASN roster (as a roster import would)."""
    with app.app_context():
        entry = db.session.get(RosterEntry, nip)
        assert entry is not None
        entry.status = status
        db.session.commit()


def chain_of(user: Any, serial: str) -> tuple[x509.Certificate, x509.Certificate, x509.Certificate]:
    """The leaf, issuing CA and root of a certificate, as the owner downloads them."""
    leaf, issuing, root = x509.load_pem_x509_certificates(user.get(f"/certificates/{serial}").get_data())
    return leaf, issuing, root


def crl_entry(client: Any, serial: str) -> x509.RevokedCertificate | None:
    """The entry of a serial in the CRL served at /pki/crl, or None."""
    crl = x509.load_der_x509_crl(client.get("/pki/crl").get_data())
    return crl.get_revoked_certificate_by_serial_number(int(serial, 16))


def ocsp_status(client: Any, leaf: x509.Certificate, issuing: x509.Certificate) -> ocsp.OCSPResponse:
    """Ask the OCSP responder at /pki/ocsp about a certificate."""
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuing, hashes.SHA256()).build()
    response = client.post("/pki/ocsp", data=request.public_bytes(serialization.Encoding.DER),
                           headers={"Content-Type": "application/ocsp-request"})
    assert response.status_code == 200
    answer = ocsp.load_der_ocsp_response(response.get_data())
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    return answer


def templates_sent(app: Flask, case_id: int) -> list[str]:
    with app.app_context():
        return [m.template for m in db.session.execute(select(OutboxMail).where(OutboxMail.instance_id == case_id)).scalars()]


# --------------------------------------------------------------------------- tests


def test_renewal_replaces_the_key_and_revokes_the_old_certificate_as_superseded(api: Any, app: Flask, client: Any) -> None:
    old_serial, old_key, issuance_case = issued_certificate(api)
    pemohon, case_id = start_renewal(api, old_serial)

    task = only_task(pemohon, case_id, "renewal_form")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    assert form["prefill"]["certificate_serial"] == old_serial
    assert form["prefill"]["nik"] == "3375011507900001"
    assert form["prefill"]["position"] == "Pranata Komputer Ahli Pertama"  # from the roster
    assert [c["serial"] for c in form["data"]["renewal"]["certificates"]] == [old_serial]
    assert submit_renewal_form(pemohon, case_id).status_code == 200

    checks = case_of(api("verifikator"), case_id)["data"]["checks"]
    assert checks["errors"] == 0, checks
    assert {i["code"] for i in checks["items"]} >= {"certificate_owned", "certificate_psre_status", "roster_active", "nik_format"}
    assert verify(api, case_id, APPROVE).status_code == 200

    # The PSrE refuses the old key: the owner is sent back to activation, the old certificate still stands.
    activation = only_task(pemohon, case_id, "activation")
    response = pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr_for_key(old_key)})
    assert response.status_code == 200, response.get_json()
    data = case_of(pemohon, case_id)["data"]
    assert data["renewal_result"]["ok"] is False
    assert "pasangan kunci baru" in data["renewal_result"]["problem"]
    assert crl_entry(client, old_serial) is None

    csr, new_key = csr_pem()
    activation = only_task(pemohon, case_id, "activation")
    response = pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    assert response.status_code == 200, response.get_json()

    case = case_of(pemohon, case_id)
    assert [c["serial"] for c in case["certificates"]] != [old_serial]
    new_serial = case["certificates"][0]["serial"]
    leaf, issuing, root = chain_of(pemohon, new_serial)
    assert leaf.public_key().public_numbers() == new_key.public_key().public_numbers()
    leaf.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)

    entry = crl_entry(client, old_serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.superseded
    assert crl_entry(client, new_serial) is None
    old_leaf, _, _ = chain_of(pemohon, old_serial)
    old_answer = ocsp_status(client, old_leaf, issuing)
    assert old_answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert old_answer.revocation_reason == x509.ReasonFlags.superseded
    assert ocsp_status(client, leaf, issuing).certificate_status == ocsp.OCSPCertStatus.GOOD
    assert case_of(pemohon, issuance_case)["certificates"][0]["status"] == "superseded"

    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_renewed")
    assert any(d["kind"] == "dossier" for d in case["documents"])
    assert {"activation_ready", "certificate_renewed"} <= set(templates_sent(app, case_id))


def test_renewal_of_someone_who_left_the_roster_shows_in_the_checks_and_is_rejected(api: Any, app: Flask, client: Any) -> None:
    old_serial, _key, issuance_case = issued_certificate(api)
    set_roster_status(app, PEMOHON_NIP, "keluar")
    pemohon, case_id = start_renewal(api, old_serial)
    assert submit_renewal_form(pemohon, case_id).status_code == 200

    checks = case_of(api("verifikator"), case_id)["data"]["checks"]
    active = {i["code"]: i for i in checks["items"]}["roster_active"]
    assert active["ok"] is False and active["severity"] == "error"
    assert "keluar" in active["message"]
    assert checks["all_ok"] is False and checks["errors"] >= 1

    response = verify(api, case_id, {"decision": "reject", "reasons": "Tidak lagi ASN Kota Pekalongan (status keluar)."})
    assert response.status_code == 200, response.get_json()
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_rejected")
    assert case["certificates"] == []
    assert "rejected" in templates_sent(app, case_id)
    assert crl_entry(client, old_serial) is None
    assert case_of(pemohon, issuance_case)["certificates"][0]["status"] == "active"


def test_returned_renewal_goes_back_to_the_prefilled_form_with_the_reasons(api: Any, app: Flask) -> None:
    old_serial, _key, _case = issued_certificate(api)
    pemohon, case_id = start_renewal(api, None)  # started from the UI: the owner picks the certificate
    task = only_task(pemohon, case_id, "renewal_form")
    assert pemohon.get(f"/tasks/{task['id']}/form").get_json()["prefill"]["certificate_serial"] == old_serial
    response = submit_renewal_form(pemohon, case_id, changes="Jabatan berubah menjadi Pranata Komputer Ahli Muda.")
    assert response.status_code == 422
    assert "change_proof" in response.get_json()["fields"]
    assert submit_renewal_form(pemohon, case_id).status_code == 200

    response = verify(api, case_id, {"decision": "return", "reasons": "Nomor telepon tidak dapat dihubungi."})
    assert response.status_code == 200, response.get_json()
    task = only_task(pemohon, case_id, "renewal_form")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    assert form["data"]["verification"]["reasons"] == "Nomor telepon tidak dapat dihubungi."
    assert form["prefill"]["phone"] == "0812-3456-7890"
    assert "returned_for_correction" in templates_sent(app, case_id)

    page = WebUser(app, "pemohon").get(f"/tugas/{task['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert old_serial in html and "Nomor telepon tidak dapat dihubungi." in html


def test_renewal_without_an_active_certificate_is_refused_at_start(api: Any, app: Flask) -> None:
    """Never a case that says 'Permohonan dibuat' and ends at once: the process declares it needs a certificate."""
    pemohon2 = api("pemohon2")
    before = pemohon2.get("/cases").get_json()
    response = pemohon2.post("/cases", json={"process_key": "renewal_rekey"})
    assert response.status_code == 422, response.get_json()
    message = response.get_json()["error"]
    assert "hanya untuk pemilik Sertifikat Elektronik yang aktif" in message
    assert "Ajukan penerbitan sertifikat terlebih dahulu" in message
    assert pemohon2.get("/cases").get_json() == before  # no case was made


def test_renewal_cannot_start_on_someone_elses_certificate(api: Any, app: Flask) -> None:
    serial, _key, _case = issued_certificate(api)
    response = api("pemohon2").post("/cases", json={"process_key": "renewal_rekey", "data": {"certificate_serial": serial}})
    assert response.status_code == 422
    assert "certificate_serial" in response.get_json()["fields"]


def test_renewal_pages_render_for_the_owner_and_the_verifikator(api: Any, app: Flask) -> None:
    old_serial, _key, _case = issued_certificate(api)
    pemohon, case_id = start_renewal(api, old_serial)
    assert submit_renewal_form(pemohon, case_id).status_code == 200
    verification = only_task(api("verifikator"), case_id, "verification")
    page = WebUser(app, "verifikator").get(f"/tugas/{verification['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="renewal-summary"' in html and old_serial in html and 'id="automated-checks"' in html
    assert verify(api, case_id, APPROVE).status_code == 200
    activation = only_task(pemohon, case_id, "activation")
    page = WebUser(app, "pemohon").get(f"/tugas/{activation['id']}")
    assert page.status_code == 200
    assert 'id="generate-csr"' in page.get_data(as_text=True)
    case_page = WebUser(app, "pemohon").get(f"/kasus/{case_id}")
    assert case_page.status_code == 200 and "<svg" in case_page.get_data(as_text=True)
