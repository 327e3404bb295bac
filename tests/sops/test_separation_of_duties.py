"""Separation of duties over the JSON API: nobody decides their own case, the verifikator is not the recommender."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from typing import Any

from flask import Flask
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from engine.models import Certificate, HumanTask, User, db
from engine.services import accounts
from engine.services.demo_certificates import DEMO_ESIGN_PASSPHRASE, ensure_esign_certificate
from engine.services.setup import DEMO_PASSWORD
from pki.validation import validate_pdf
from tests.sops.builders import APPROVE, RECOMMEND, registration
from tests.sops.test_issuance_ams import case_of, only_task, recommend, start_and_register
from tests.sops.test_revocation import start_revocation, statement, submit
from tests.web.test_html_flow import WebUser

DEWI = {
    "full_name": "Dewi Lestari", "nik": "3375047011880005", "nip": "198811302012012005",
    "position": "Sandiman Ahli Muda", "email": "verifikator@pekalongankota.go.id",
}
AGUS = {
    "full_name": "Dr. Agus Prasetyo, M.Kom.", "nik": "3375011001750003", "nip": "197501102000031003",
    "position": "Kepala Dinas Komunikasi dan Informatika", "email": "atasan@pekalongankota.go.id",
}
SEKDA_RECOMMENDS = {
    "decision": "approve", "head_name": "Drs. Bambang Wijaya, M.Si.", "head_nip": "196808171994031008",
    "head_position": "Sekretaris Daerah",
}


def apply_as(api: Any, username: str, person: dict[str, str]) -> tuple[Any, int]:
    """`username` applies for 088.9 for themself and submits the registration form."""
    applicant = api(username)
    case_id = applicant.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"]
    task = only_task(applicant, case_id, "registration_form")
    response = applicant.post(
        f"/tasks/{task['id']}/complete", data=registration(**person), content_type="multipart/form-data"
    )
    assert response.status_code == 200, response.get_json()
    return applicant, case_id


def open_task(app: Flask, case_id: int, name: str) -> int:
    """The id of the case's open task `name`, read from the inbox rows (whoever may see it)."""
    with app.app_context():
        return db.session.execute(
            select(HumanTask.id).where(
                HumanTask.instance_id == case_id, HumanTask.task_name == name, HumanTask.status == "open"
            )
        ).scalar_one()


def offered(user: Any, case_id: int) -> list[str]:
    """Names of the case's tasks in the user's inbox (mine and claimable)."""
    listing = user.get("/tasks").get_json()
    return [t["task_name"] for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id]


def add_head_who_also_verifies(app: Flask) -> None:
    """A diskominfo official holding Atasan and Verifikator, with a certificate (so only the duty rules bind)."""
    with app.app_context():
        user = accounts.create_user(
            "kabid", DEMO_PASSWORD, "Ir. Sri Handayani", "kabid@pekalongankota.go.id", ["Atasan", "Verifikator"],
            "diskominfo", "197906122005012010", "3375025206790010", position="Kepala Bidang Persandian",
        )
        db.session.commit()
        ensure_esign_certificate(user, "Kepala Bidang Persandian")
        db.session.commit()


def test_verifikator_cannot_see_claim_or_complete_the_verification_of_her_own_case(api: Any, app: Flask) -> None:
    _dewi, case_id = apply_as(api, "verifikator", DEWI)
    assert recommend(api, case_id).status_code == 200
    task_id = open_task(app, case_id, "verification")
    verifikator = api("verifikator")
    assert "verification" not in offered(verifikator, case_id)
    for action, body in (("claim", None), ("complete", APPROVE)):
        response = verifikator.post(f"/tasks/{task_id}/{action}", json=body)
        assert response.status_code == 403, response.get_json()
        assert "pemohon atau subjek kasus ini" in response.get_json()["error"]
    assert verifikator.get(f"/tasks/{task_id}/form").status_code == 403
    other = api("verifikator2")
    assert "verification" in offered(other, case_id)
    assert other.post(f"/tasks/{task_id}/claim").status_code == 200
    assert other.post(f"/tasks/{task_id}/complete", json=APPROVE).status_code == 200


def test_verifikator_is_not_offered_her_own_case_in_the_html_inbox_or_case_page(api: Any, app: Flask) -> None:
    _dewi, case_id = apply_as(api, "verifikator", DEWI)
    recommend(api, case_id)
    task_id = open_task(app, case_id, "verification")
    dewi, rahmat = WebUser(app, "verifikator"), WebUser(app, "verifikator2")
    assert f"/tugas/{task_id}/klaim" not in dewi.get("/").get_data(as_text=True)
    assert f"/tugas/{task_id}/klaim" in rahmat.get("/").get_data(as_text=True)
    assert f'href="/tugas/{task_id}"' not in dewi.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert f'href="/tugas/{task_id}"' in rahmat.get(f"/kasus/{case_id}").get_data(as_text=True)


def test_agency_head_cannot_recommend_his_own_application_and_the_setda_head_can(api: Any, app: Flask) -> None:
    _agus, case_id = apply_as(api, "atasan", AGUS)
    task_id = open_task(app, case_id, "recommendation")
    atasan = api("atasan")
    assert "recommendation" not in offered(atasan, case_id)
    response = atasan.post(f"/tasks/{task_id}/complete", json=RECOMMEND)
    assert response.status_code == 403
    assert "pemohon atau subjek kasus ini" in response.get_json()["error"]
    sekda = api("sekda")
    assert "recommendation" in offered(sekda, case_id)
    assert sekda.get(f"/cases/{case_id}").status_code == 200
    assert sekda.post(f"/tasks/{task_id}/complete", json=SEKDA_RECOMMENDS).status_code == 200
    assert "verification" in offered(api("verifikator"), case_id)


def test_recommendation_of_an_ordinary_case_stays_with_its_own_agency_head(api: Any, app: Flask) -> None:
    _pemohon, case_id = start_and_register(api)
    assert "recommendation" in offered(api("atasan"), case_id)
    assert "recommendation" not in offered(api("sekda"), case_id)


def test_recommender_cannot_verify_the_same_case(api: Any, app: Flask) -> None:
    add_head_who_also_verifies(app)
    _pemohon, case_id = start_and_register(api)
    kabid = api("kabid")
    task = only_task(kabid, case_id, "recommendation")
    assert kabid.post(f"/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
    task_id = open_task(app, case_id, "verification")
    assert "verification" not in offered(kabid, case_id)
    response = kabid.post(f"/tasks/{task_id}/claim")
    assert response.status_code == 403
    assert "telah mengerjakan tugas Atasan" in response.get_json()["error"]
    assert api("verifikator").post(f"/tasks/{task_id}/claim").status_code == 200


def test_verifikator_cannot_recommend_a_case_she_returned(api: Any, app: Flask) -> None:
    add_head_who_also_verifies(app)
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    kabid = api("kabid")
    verification = open_task(app, case_id, "verification")
    assert kabid.post(f"/tasks/{verification}/claim").status_code == 200
    returned = {"decision": "return", "reasons": "Pindaian KTP buram."}
    assert kabid.post(f"/tasks/{verification}/complete", json=returned).status_code == 200
    task = only_task(pemohon, case_id, "registration_form")
    pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    recommendation = open_task(app, case_id, "recommendation")
    assert "recommendation" not in offered(kabid, case_id)
    response = kabid.post(f"/tasks/{recommendation}/complete", json=RECOMMEND)
    assert response.status_code == 403
    assert "telah mengerjakan tugas Verifikator" in response.get_json()["error"]
    assert recommend(api, case_id).status_code == 200


def expire_certificates_of(app: Flask, username: str) -> None:
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        for cert in db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).scalars():
            cert.not_after = cert.not_before - timedelta(days=1)
        db.session.commit()


def test_verifikator_without_an_active_certificate_cannot_claim_and_the_inbox_says_why(api: Any, app: Flask) -> None:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    task_id = open_task(app, case_id, "verification")
    expire_certificates_of(app, "verifikator2")
    verifikator2 = api("verifikator2")
    response = verifikator2.post(f"/tasks/{task_id}/claim")
    assert response.status_code == 403
    assert "belum memiliki Sertifikat Elektronik aktif sebagai Verifikator" in response.get_json()["error"]
    listing = verifikator2.get("/tasks").get_json()
    assert listing["claimable"] == []
    assert any("Sertifikat Elektronik aktif" in notice for notice in listing["notices"])
    assert "Sertifikat Elektronik aktif sebagai Verifikator" in WebUser(app, "verifikator2").get("/").get_data(as_text=True)
    assert api("verifikator").get("/tasks").get_json()["notices"] == []
    assert api("verifikator").post(f"/tasks/{task_id}/claim").status_code == 200


def test_demo_verifikators_hold_an_active_esign_certificate(app: Flask) -> None:
    with app.app_context():
        for username in ("verifikator", "verifikator2"):
            user = db.session.execute(select(User).where(User.username == username)).scalar_one()
            certificate = db.session.execute(select(Certificate).where(Certificate.user_id == user.id)).scalar_one()
            assert certificate.status == "active"
            assert app.extensions["sertel.psre"].certificate_status(certificate.serial).status == "good"


def decision_letter(api: Any, case_id: int) -> bytes:
    pemohon = api("pemohon")
    letters = [d for d in case_of(pemohon, case_id)["documents"] if d["kind"] == "letter"]
    assert len(letters) == 1
    return bytes(pemohon.get(f"/documents/{letters[0]['id']}").data)


def letter_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def verified_by_dewi(api: Any, body: dict[str, Any]) -> tuple[int, Any]:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    verifikator = api("verifikator")
    task = only_task(verifikator, case_id, "verification")
    assert verifikator.post(f"/tasks/{task['id']}/claim").status_code == 200
    return case_id, verifikator.post(f"/tasks/{task['id']}/complete", json=body)


def test_decision_letter_is_signed_with_the_verifikators_key_when_she_gives_her_passphrase(api: Any, app: Flask) -> None:
    case_id, response = verified_by_dewi(api, {**APPROVE, "signing_passphrase": DEMO_ESIGN_PASSPHRASE})
    assert response.status_code == 200, response.get_json()
    pdf = decision_letter(api, case_id)
    psre = app.extensions["sertel.psre"]
    report = validate_pdf(pdf, psre.root_certificate_pem(), psre)
    assert report.verdict == "Sah", report.to_dict()
    assert "Dewi Lestari" in (report.signatures[0].signer_name or "")
    signer = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0].signer_cert
    with app.app_context():
        dewi = db.session.execute(select(User).where(User.username == "verifikator")).scalar_one()
        serial = db.session.execute(select(Certificate.serial).where(Certificate.user_id == dewi.id)).scalar_one()
    assert signer.serial_number == int(serial, 16)
    assert "Dewi Lestari (Verifikator), dengan sertifikat eSign miliknya" in " ".join(letter_text(pdf).split())


def test_decision_letter_is_sealed_by_the_ra_without_a_passphrase_and_says_so(api: Any, app: Flask) -> None:
    case_id, response = verified_by_dewi(api, APPROVE)
    assert response.status_code == 200
    pdf = decision_letter(api, case_id)
    psre = app.extensions["sertel.psre"]
    report = validate_pdf(pdf, psre.root_certificate_pem(), psre)
    assert report.verdict == "Sah"
    assert "Otoritas Pendaftaran" in (report.signatures[0].signer_name or "")
    text = " ".join(letter_text(pdf).split())
    assert "disegel Otoritas Pendaftaran" in text
    assert "dengan sertifikat eSign miliknya" not in text


def test_wrong_verifikator_passphrase_refuses_the_decision_and_keeps_nothing(api: Any, app: Flask) -> None:
    case_id, response = verified_by_dewi(api, {**APPROVE, "signing_passphrase": "Salah-Passphrase-1"})
    assert response.status_code == 422
    assert "signing_passphrase" in response.get_json()["fields"]
    assert "verification" in offered(api("verifikator"), case_id)


def test_duties_api_lists_the_rules_and_the_admin_page_shows_them(api: Any, app: Flask) -> None:
    response = api("pemohon").get("/duties")
    assert response.status_code == 200
    rules = {rule["key"]: rule for rule in response.get_json()["rules"]}
    assert set(rules) == {
        "no_self_approval", "verifier_not_recommender", "verifier_holds_certificate", "agency_head_recommended_by_setda",
    }
    assert rules["agency_head_recommended_by_setda"]["agency_code"] == "setda"
    assert rules["verifier_not_recommender"]["roles"] == ["Atasan", "Verifikator"]
    assert "/duties" in api("pemohon").get("/openapi.json").get_json()["paths"]
    page = WebUser(app, "admin").get("/admin/pemisahan-tugas")
    assert page.status_code == 200
    assert "Verifikator bukan pemberi rekomendasi" in page.get_data(as_text=True)
    assert WebUser(app, "pemohon").get("/admin/pemisahan-tugas").status_code == 403


def test_verifikator_whose_certificate_expired_can_still_release_her_claim(api: Any, app: Flask) -> None:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    task_id = open_task(app, case_id, "verification")
    verifikator2 = api("verifikator2")
    assert verifikator2.post(f"/tasks/{task_id}/claim").status_code == 200
    expire_certificates_of(app, "verifikator2")
    assert verifikator2.post(f"/tasks/{task_id}/complete", json=APPROVE).status_code == 403
    assert verifikator2.post(f"/tasks/{task_id}/release").status_code == 200
    assert api("verifikator").post(f"/tasks/{task_id}/claim").status_code == 200


def test_verifikator_is_not_offered_the_revocation_staff_filed_on_her_behalf(api: Any, app: Flask) -> None:
    with app.app_context():
        dewi = db.session.execute(select(User).where(User.username == "verifikator")).scalar_one()
        serial = db.session.execute(select(Certificate.serial).where(Certificate.user_id == dewi.id)).scalar_one()
    rahmat = api("verifikator2")
    case_id = start_revocation(rahmat, serial, applicant="verifikator", reason="affiliationChanged")
    dewi_api = api("verifikator")
    statement_task = open_task(app, case_id, "ra_statement")
    assert "ra_statement" not in offered(dewi_api, case_id)
    assert dewi_api.post(f"/tasks/{statement_task}/claim").status_code == 403
    body = statement(certificate_serial=serial, chronology="Yang bersangkutan dimutasi ke Pemerintah Kabupaten Batang.")
    assert submit(rahmat, case_id, "ra_statement", {**body, "requested_by": "ra"}).status_code == 200
    verification = open_task(app, case_id, "verification")
    assert "verification" not in offered(dewi_api, case_id)
    response = dewi_api.post(f"/tasks/{verification}/claim")
    assert response.status_code == 403
    assert "pemohon atau subjek kasus ini" in response.get_json()["error"]
    assert submit(rahmat, case_id, "verification", APPROVE).status_code == 200
