"""Identity is the account's person record: nothing typed in a form makes the RA certify someone else."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import Certificate, User, db
from engine.services import accounts, people
from engine.services.setup import DEMO_PASSWORD
from pki.errors import ActiveKeyExists
from tests.pki.pki_builders import one_page_pdf
from tests.sops.builders import APPROVE, PDF, RECOMMEND, registration
from tests.sops.test_form_pdfs import form_document, text_of
from tests.sops.test_issuance_ams import case_of, only_task, recommend, start_and_register
from tests.sops.test_issuance_esign import PASSPHRASE, activate, activation, verify
from tests.web.test_html_flow import WebUser, html_of

# Siti Aminah (demo user pemohon2), whose identity Budi (pemohon) tries to use.
SITI = {"full_name": "Siti Aminah", "nik": "3375026203920002", "nip": "199203222017012002", "agency_code": "dinkes",
        "email": "pemohon2@pekalongankota.go.id"}


def start(user: Any, process_key: str, **body: Any) -> Any:
    return user.post("/cases", json={"process_key": process_key, **body})


def register(user: Any, case_id: int, **overrides: Any) -> Any:
    task = only_task(user, case_id, "registration_form")
    return user.post(f"/tasks/{task['id']}/complete", data=registration(**overrides), content_type="multipart/form-data")


def test_registration_with_another_persons_identity_is_refused(api: Any, app: Flask) -> None:
    budi = api("pemohon")
    case_id = start(budi, "issuance_ams").get_json()["case"]["id"]
    response = register(budi, case_id, **SITI)
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    for name, label in (("nik", "NIK"), ("nip", "NIP"), ("full_name", "Nama"), ("agency_code", "Perangkat Daerah"),
                        ("email", "E-mail")):
        assert fields[name][0].startswith(f"{label} tidak dapat diubah di formulir"), fields
    # Nothing moved: the registration is still Budi's to fill in, nobody was asked to recommend.
    assert only_task(budi, case_id, "registration_form")
    assert case_of(budi, case_id)["data"].get("registration_form") is None


def test_identity_left_out_of_the_form_is_taken_from_the_person_record(api: Any, app: Flask) -> None:
    budi = api("pemohon")
    case_id = start(budi, "issuance_ams").get_json()["case"]["id"]
    response = register(budi, case_id, full_name=None, nik=None, nip=None, agency_code=None, email=None, position=None)
    assert response.status_code == 200, response.get_json()
    stored = case_of(budi, case_id)["data"]["registration_form"]
    assert (stored["full_name"], stored["nik"], stored["nip"], stored["agency_code"]) == (
        "Budi Santoso", "3375011507900001", "199007152015031001", "diskominfo")
    assert stored["position"] == "Pranata Komputer Ahli Pertama"


def test_registration_page_shows_identity_read_only(app: Flask) -> None:
    budi = WebUser(app, "pemohon")
    budi.post("/proses/issuance_ams/mulai", {})
    page = html_of(budi.get("/"))
    [link] = page.xpath("//a[text()='Buka']/@href")
    form = html_of(budi.get(link))
    for name, value in (("full_name", "Budi Santoso"), ("nik", "3375011507900001"), ("nip", "199007152015031001"),
                        ("email", "pemohon@pekalongankota.go.id")):
        assert form.xpath(f"//input[@name='{name}']/@value") == [value]
        assert form.xpath(f"//input[@name='{name}']/@readonly") == ["readonly"]
    assert form.xpath("//input[@name='phone']/@readonly") == []


def test_esign_case_with_someone_elses_identity_cannot_touch_their_key(api: Any, app: Flask) -> None:
    # Siti holds an eSign certificate; Budi's 088.14 typed with her identity is refused at the form.
    siti = api("pemohon2")
    siti_case = start(siti, "issuance_esign").get_json()["case"]["id"]
    assert register(siti, siti_case, full_name=None, nik=None, nip=None, agency_code=None, email=None,
                    position=None).status_code == 200
    atasan2 = api("atasan2")
    task = only_task(atasan2, siti_case, "recommendation")
    assert atasan2.post(f"/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
    assert verify(api, siti_case, APPROVE).status_code == 200
    assert activate(siti, siti_case, activation()).status_code == 200

    budi = api("pemohon")
    budi_case = start(budi, "issuance_esign").get_json()["case"]["id"]
    assert register(budi, budi_case, **SITI).status_code == 422
    with app.app_context():
        [cert] = db.session.execute(select(Certificate).join(User).where(Certificate.kind == "esign", User.username == "pemohon2")).scalars()
        assert cert.status == "active"
        psre = app.extensions["sertel.psre"]
        assert psre.certificate_status(cert.serial).status == "good"
        signed = psre.sign_pdf("3375026203920002", PASSPHRASE, one_page_pdf(), "Uji", "Pekalongan")
        assert signed.startswith(b"%PDF")


def test_second_esign_issuance_is_refused_up_front_and_the_psre_never_replaces_a_valid_key(api: Any, app: Flask) -> None:
    siti = api("pemohon2")
    case_id = start(siti, "issuance_esign").get_json()["case"]["id"]
    assert register(siti, case_id, **SITI, position=None).status_code == 200
    atasan2 = api("atasan2")
    task = only_task(atasan2, case_id, "recommendation")
    assert atasan2.post(f"/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
    assert verify(api, case_id, APPROVE).status_code == 200
    assert activate(siti, case_id, activation()).status_code == 200

    again = start(siti, "issuance_esign")
    assert again.status_code == 409
    message = again.get_json()["error"]
    assert "088.10" in message and "088.13" in message
    with app.app_context():
        psre = app.extensions["sertel.psre"]
        [cert] = db.session.execute(select(Certificate).join(User).where(Certificate.kind == "esign", User.username == "pemohon2")).scalars()
        try:
            psre.issue_with_server_key(cert.subject_id, "Passphrase-Lain99", "another-request")
        except ActiveKeyExists:
            pass
        else:  # pragma: no cover - the assertion below names the failure
            raise AssertionError("the PSrE replaced a valid server-held key")
        assert psre.certificate_status(cert.serial).status == "good"


def test_staff_apply_on_behalf_only_with_a_reason_shown_on_the_case_and_in_the_log(api: Any, app: Flask) -> None:
    admin = api("verifikator")
    refused = start(admin, "issuance_ams", applicant="walikota")
    assert refused.status_code == 422
    assert "on_behalf_reason" in refused.get_json()["fields"]
    response = start(admin, "issuance_ams", applicant="walikota", on_behalf_reason="Diajukan staf protokol Wali Kota")
    assert response.status_code == 201, response.get_json()
    case = response.get_json()["case"]
    assert case["on_behalf"] == {"by": "verifikator", "by_name": "Dewi Lestari",
                                 "reason": "Diajukan staf protokol Wali Kota"}
    mayor = api("walikota")
    timeline = case_of(mayor, case["id"])["timeline"]
    assert timeline[0]["kind"] == "case_started"
    assert timeline[0]["payload"]["on_behalf"] == {"by": "verifikator", "reason": "Diajukan staf protokol Wali Kota"}
    page = WebUser(app, "walikota").get(f"/kasus/{case['id']}").get_data(as_text=True)
    assert "Diajukan atas nama" in page and "Diajukan staf protokol Wali Kota" in page
    # The applicant's own steps stay with the applicant.
    assert only_task(mayor, case["id"], "registration_form")
    # A Pemohon cannot apply for someone else.
    assert start(api("pemohon"), "issuance_ams", applicant="walikota", on_behalf_reason="x").status_code == 403


def test_on_behalf_page_starts_the_case_for_the_chosen_person(app: Flask) -> None:
    staff = WebUser(app, "verifikator")
    page = staff.get("/atas-nama")
    assert page.status_code == 200 and "walikota" in page.get_data(as_text=True)
    assert staff.post("/atas-nama", {"username": "walikota", "process_key": "issuance_ams",
                                     "on_behalf_reason": ""}).status_code == 422
    response = staff.post("/atas-nama", {"username": "walikota", "process_key": "issuance_ams",
                                         "on_behalf_reason": "Surat Sekda nomor 800/12"})
    assert response.status_code == 302
    assert WebUser(app, "pemohon").get("/atas-nama").status_code == 403


def test_mayor_applies_without_nip_with_the_appointment_decree(api: Any, app: Flask) -> None:
    mayor = api("walikota")
    case_id = start(mayor, "issuance_ams").get_json()["case"]["id"]
    no_proof = register(mayor, case_id, full_name=None, nik=None, nip=None, agency_code=None, email=None,
                        position=None, asn_proof=None)
    assert no_proof.status_code == 422
    assert "SK pelantikan" in no_proof.get_json()["fields"]["appointment_proof"][0]
    response = register(mayor, case_id, full_name=None, nik=None, nip=None, agency_code=None, email=None, position=None,
                        asn_proof=None, appointment_proof=(io.BytesIO(PDF), "sk-pelantikan.pdf"))
    assert response.status_code == 200, response.get_json()
    stored = case_of(mayor, case_id)["data"]["registration_form"]
    assert (stored["nip"], stored["owner_category"]) == ("", "wali_kota")


def test_checks_say_which_owner_rule_applied(api: Any, app: Flask) -> None:
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    items = {i["code"]: i for i in case_of(api("verifikator"), case_id)["data"]["checks"]["items"]}
    assert items["owner_rule"]["message"].startswith("Pemilik ASN")
    assert items["eligibility_proof"]["ok"] is True


def test_recommending_head_is_the_logged_in_account_and_the_pdf_carries_it(api: Any, app: Flask) -> None:
    _pemohon, case_id = start_and_register(api)
    atasan = api("atasan")
    task = only_task(atasan, case_id, "recommendation")
    forged = {**RECOMMEND, "head_name": "Orang Lain", "head_nip": "197001011990031001"}
    response = atasan.post(f"/tasks/{task['id']}/complete", json=forged)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"head_name", "head_nip"}
    response = atasan.post(f"/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert response.status_code == 200, response.get_json()
    text = text_of(form_document(atasan, case_id, "recommendation"))
    for value in ("Dr. Agus Prasetyo, M.Kom.", "197501102000031003", "Kepala Dinas Komunikasi dan Informatika"):
        assert value in text


def test_account_without_a_person_record_cannot_apply(api: Any, app: Flask) -> None:
    with app.app_context():
        accounts.create_user("tamu", DEMO_PASSWORD, "Tamu", "tamu@pekalongankota.go.id", ["Pemohon"], "diskominfo")
    response = start(api("tamu"), "issuance_ams")
    assert response.status_code == 422
    assert "belum terhubung dengan data identitas" in response.get_json()["error"]


def test_admin_sets_the_person_record_and_nobody_else_can(app: Flask) -> None:
    admin = WebUser(app, "admin")
    assert admin.get("/admin/orang").status_code == 200
    response = admin.post("/admin/orang/pemohon", {"nik": "3375011507900001", "full_name": "Budi Santoso, S.Kom.",
                                                   "nip": "199007152015031001", "category": "asn",
                                                   "agency_code": "diskominfo", "position": "Pranata Komputer Ahli Muda"})
    assert response.status_code == 302
    with app.app_context():
        budi = db.session.execute(select(User).where(User.username == "pemohon")).scalar_one()
        assert people.person_record(budi)["position"] == "Pranata Komputer Ahli Muda"
    taken = admin.post("/admin/orang/pemohon2", {"nik": "3375011507900001", "full_name": "Siti", "nip": "",
                                                 "category": "lainnya", "agency_code": "dinkes", "position": ""})
    assert taken.status_code == 422 and "sudah terhubung dengan akun" in taken.get_data(as_text=True)
    assert WebUser(app, "pemohon").post("/admin/orang/pemohon", {"nik": "3375026203920002", "full_name": "X",
                                                                "category": "lainnya"}).status_code == 403


def test_a_second_start_while_the_first_request_runs_is_refused(api: Any, app: Flask) -> None:
    budi = api("pemohon")
    first = start(budi, "issuance_ams").get_json()["case"]["id"]
    again = start(budi, "issuance_ams")
    assert again.status_code == 409
    assert f"#{first}" in again.get_json()["error"]
    assert start(budi, "issuance_esign").status_code == 201  # another kind of certificate is another request
