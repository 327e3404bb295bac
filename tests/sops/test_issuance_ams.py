"""SOP 088.9 end to end through the JSON API, as the applicant, the agency head and the verifikator."""

from __future__ import annotations

import hashlib
import json
import subprocess
from typing import Any

from cryptography import x509

from pki.validation import validate_pdf
from tests.sops.builders import APPROVE, RECOMMEND, csr_pem, registration


def only_task(user: Any, case_id: int, name: str) -> dict[str, Any]:
    """The single open task `name` of a case in the user's inbox (mine or claimable)."""
    listing = user.get("/tasks").get_json()
    found = [t for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id and t["task_name"] == name]
    assert len(found) == 1, listing
    return found[0]


def start_and_register(api: Any) -> tuple[Any, int]:
    pemohon = api("pemohon")
    response = pemohon.post("/cases", json={"process_key": "issuance_ams"})
    assert response.status_code == 201, response.get_json()
    case_id = response.get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    return pemohon, case_id


def recommend(api: Any, case_id: int, body: dict[str, Any] = RECOMMEND) -> Any:
    atasan = api("atasan")
    task = only_task(atasan, case_id, "recommendation")
    return atasan.post(f"/tasks/{task['id']}/complete", json=body)


def verify(api: Any, case_id: int, body: dict[str, Any]) -> Any:
    verifikator = api("verifikator")
    task = only_task(verifikator, case_id, "verification")
    assert verifikator.post(f"/tasks/{task['id']}/claim").status_code == 200
    return verifikator.post(f"/tasks/{task['id']}/complete", json=body)


def activate_and_receive(pemohon: Any, case_id: int) -> Any:
    """As the applicant of an approved case, activate it with a new CSR and confirm receipt; return that answer."""
    csr, _key = csr_pem()
    activation = only_task(pemohon, case_id, "activation")
    pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    delivery = only_task(pemohon, case_id, "delivery")
    return pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True})


def approve_and_deliver(api: Any, pemohon: Any, case_id: int) -> Any:
    """Recommend and approve the case, activate it with a new CSR and confirm receipt; return that answer."""
    recommend(api, case_id)
    verify(api, case_id, APPROVE)
    return activate_and_receive(pemohon, case_id)


def case_of(user: Any, case_id: int) -> dict[str, Any]:
    response = user.get(f"/cases/{case_id}")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def test_happy_path_ends_with_a_downloaded_certificate_that_chains_to_the_city_ca(api: Any, app: Any) -> None:
    pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    checks = case_of(api("verifikator"), case_id)["data"]["checks"]
    assert checks["errors"] == 0, checks
    assert verify(api, case_id, APPROVE).status_code == 200

    csr, key = csr_pem()
    activation = only_task(pemohon, case_id, "activation")
    response = pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    assert response.status_code == 200, response.get_json()

    case = case_of(pemohon, case_id)
    serial = case["certificates"][0]["serial"]
    pem = pemohon.get(f"/certificates/{serial}").get_data(as_text=True)
    leaf, issuing, root = x509.load_pem_x509_certificates(pem.encode())
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Budi Santoso"
    leaf.verify_directly_issued_by(issuing)
    issuing.verify_directly_issued_by(root)

    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    case = case_of(pemohon, case_id)
    assert case["case"]["status"] == "completed"
    assert case["case"]["outcome"] == "end_delivered"
    kinds = [e["kind"] for e in case["timeline"]]
    assert kinds[0] == "case_started" and kinds[-1] == "case_completed"
    assert {"task_completed", "step_completed", "certificate_recorded", "certificate_downloaded", "mail_sent"} <= set(kinds)
    uploads = [d for d in case["documents"] if d["kind"] == "upload"]
    dossiers = [d for d in case["documents"] if d["kind"] == "dossier"]
    assert len(uploads) == 2 and len(dossiers) == 2
    assert [d["filename"] for d in dossiers] == [f"berkas-kasus-{case_id}.json", f"berkas-kasus-{case_id}.pdf"]
    assert case["data"]["dossier"]["document_id"] == dossiers[0]["id"]
    assert case["data"]["dossier"]["cover_document_id"] == dossiers[1]["id"]


def test_archive_builds_a_dossier_listing_documents_decisions_and_the_certificate(api: Any, app: Any) -> None:
    pemohon, case_id = start_and_register(api)
    assert approve_and_deliver(api, pemohon, case_id).status_code == 200

    case = case_of(api("verifikator"), case_id)
    archived = case["data"]["dossier"]
    response = api("verifikator").get(f"/documents/{archived['document_id']}")
    assert response.status_code == 200
    assert hashlib.sha256(response.data).hexdigest() == archived["sha256"]
    manifest = json.loads(response.data)
    assert manifest["case_id"] == case_id
    assert manifest["applicant"]["nik"] == "3375011507900001"
    uploads = {d["id"]: d["sha256"] for d in case["documents"] if d["kind"] == "upload"}
    assert {d["id"]: d["sha256"] for d in manifest["documents"] if d["id"] in uploads} == uploads
    assert {d["step"]: d["decision"] for d in manifest["decisions"]} == {"recommendation": "approve", "verification": "approve"}
    assert [c["serial"] for c in manifest["certificates"]] == [case["certificates"][0]["serial"]]


def test_return_for_correction_loops_back_to_the_applicant_with_reasons(api: Any, app: Any) -> None:
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    response = verify(api, case_id, {"decision": "return", "reasons": "Pindaian KTP buram."})
    assert response.status_code == 200, response.get_json()
    task = only_task(pemohon, case_id, "registration_form")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    assert form["data"]["verification"]["reasons"] == "Pindaian KTP buram."
    assert form["prefill"]["nik"] == "3375011507900001"
    with app.app_context():
        from engine.models import OutboxMail, db  # noqa: PLC0415 - test-only inspection

        subjects = [m.subject for m in db.session.query(OutboxMail).all()]
    assert any("perlu diperbaiki" in s for s in subjects)
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(phone="0813-0000-1111"), content_type="multipart/form-data")
    assert response.status_code == 200
    assert recommend(api, case_id).status_code == 200
    assert verify(api, case_id, APPROVE).status_code == 200
    assert only_task(pemohon, case_id, "activation")


def test_rejection_ends_the_case_with_reasons(api: Any, app: Any) -> None:
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN Kota Pekalongan."}).status_code == 200
    case = case_of(pemohon, case_id)
    assert case["case"]["status"] == "completed"
    assert case["case"]["outcome"] == "end_rejected"
    assert case["data"]["verification"]["reasons"] == "Bukan ASN Kota Pekalongan."


def test_declined_recommendation_ends_the_case(api: Any, app: Any) -> None:
    pemohon, case_id = start_and_register(api)
    body = {**RECOMMEND, "decision": "decline", "notes": "Belum memerlukan sertifikat."}
    assert recommend(api, case_id, body).status_code == 200
    case = case_of(pemohon, case_id)
    assert case["case"]["outcome"] == "end_declined"
    assert pemohon.get("/tasks").get_json()["mine"] == []


def test_another_pemohon_cannot_complete_someone_elses_task(api: Any, app: Any) -> None:
    pemohon = api("pemohon")
    case_id = pemohon.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    intruder = api("pemohon2")
    response = intruder.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    assert response.status_code == 403
    assert intruder.get(f"/cases/{case_id}").status_code == 403
    assert intruder.get(f"/tasks/{task['id']}/form").status_code == 403


def test_head_of_another_agency_cannot_recommend(api: Any, app: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    other_head = api("atasan2")
    assert other_head.get("/tasks").get_json()["mine"] == []
    listing = api("atasan").get("/tasks").get_json()
    task_id = [t for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id][0]["id"]
    assert other_head.post(f"/tasks/{task_id}/complete", json=RECOMMEND).status_code == 403


def test_resubmitting_a_completed_task_is_a_conflict(api: Any, app: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    atasan = api("atasan")
    task = only_task(atasan, case_id, "recommendation")
    assert atasan.post(f"/tasks/{task['id']}/complete", json=RECOMMEND).status_code == 200
    response = atasan.post(f"/tasks/{task['id']}/complete", json=RECOMMEND)
    assert response.status_code == 409
    assert "sudah diselesaikan" in response.get_json()["error"]


def test_invalid_registration_answers_422_with_indonesian_field_messages(api: Any, app: Any) -> None:
    pemohon = api("pemohon")
    case_id = pemohon.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(nik="12345", statement_true=None), content_type="multipart/form-data")
    assert response.status_code == 422
    body = response.get_json()
    assert "nik" in body["fields"] and "statement_true" in body["fields"]
    assert only_task(pemohon, case_id, "registration_form")["status"] == "open"
    # The uploads of the failed attempt are not kept as the case's documents.
    assert case_of(pemohon, case_id)["documents"] == []


def test_upload_that_is_not_pdf_or_image_is_refused(api: Any, app: Any) -> None:
    import io  # noqa: PLC0415

    pemohon = api("pemohon")
    case_id = pemohon.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"]
    task = only_task(pemohon, case_id, "registration_form")
    data = registration(ktp_scan=(io.BytesIO(b"MZ\x90\x00 not an image"), "ktp.png"))
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "ktp_scan" in response.get_json()["fields"]


def test_dossier_cover_is_sealed_by_the_ra_and_names_the_manifest_hash(api: Any, app: Any) -> None:
    pemohon, case_id = start_and_register(api)
    approve_and_deliver(api, pemohon, case_id)
    archived = case_of(pemohon, case_id)["data"]["dossier"]
    cover = api("verifikator").get(f"/documents/{archived['cover_document_id']}").data
    psre = app.extensions["sertel.psre"]
    report = validate_pdf(cover, psre.root_certificate_pem(), psre)
    assert report.verdict == "Sah", report.to_dict()
    assert "Otoritas Pendaftaran" in (report.signatures[0].signer_name or "")
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=cover, capture_output=True, check=True).stdout.decode()
    assert archived["sha256"] in "".join(text.split())  # a 64-character hash may wrap in its table cell


def test_each_verification_decision_gets_a_decision_letter_sealed_by_the_ra(api: Any, app: Any) -> None:
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, {"decision": "return", "reasons": "Pindaian KTP buram."}).status_code == 200
    task = only_task(pemohon, case_id, "registration_form")
    assert pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data").status_code == 200
    recommend(api, case_id)
    assert verify(api, case_id, APPROVE).status_code == 200
    letters = [d for d in case_of(pemohon, case_id)["documents"] if d["kind"] == "letter"]
    assert [d["filename"] for d in letters] == [f"keputusan-verifikasi-kasus-{case_id}-1.pdf", f"keputusan-verifikasi-kasus-{case_id}-2.pdf"]
    psre = app.extensions["sertel.psre"]
    texts = []
    for letter in letters:
        pdf = pemohon.get(f"/documents/{letter['id']}").data
        assert validate_pdf(pdf, psre.root_certificate_pem(), psre).verdict == "Sah"
        texts.append(subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode())
    assert "DIKEMBALIKAN" in texts[0] and "Pindaian KTP buram." in texts[0] and "Dewi Lestari" in texts[0]
    assert "DISETUJUI" in texts[1]
    # 088.9 has the agency head's recommendation, so the letter cites it (088.11's letter does not).
    assert "rekomendasi atasan" in " ".join(texts[1].split())
