"""SOP 088.12 (change of applicant data) end to end through the JSON API: re-issue with the new subject."""

from __future__ import annotations

import io
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from engine.models import Certificate, RosterEntry, User, db
from engine.services import people
from tests.sops.builders import APPROVE, PDF, csr_pem
from tests.sops.test_issuance_ams import case_of, only_task, recommend, start_and_register, verify
from tests.web.test_html_flow import WebUser, html_of

NEW_POSITION = "Analis Keuangan Ahli Muda"
NEW_NAME = "Budi Santoso Wibowo"
NIP = "199007152015031001"


def issue_certificate(api: Any) -> str:
    """Run SOP 088.9 for the demo applicant to its end; return the serial of the delivered certificate."""
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    verify(api, case_id, APPROVE)
    csr, _key = csr_pem()
    activation = only_task(pemohon, case_id, "activation")
    assert pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr}).status_code == 200
    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    return str(case_of(pemohon, case_id)["certificates"][0]["serial"])


def change_form(serial: str, **overrides: Any) -> dict[str, Any]:
    """The change form (multipart): new name, moved to BPKAD with a new position, SK mutasi as proof."""
    fields: dict[str, Any] = {
        "certificate_serial": serial, "change_full_name": "true", "change_position": "true", "change_agency": "true",
        "full_name": NEW_NAME, "position": NEW_POSITION, "agency_code": "bpkad", "email": "pemohon@pekalongankota.go.id",
        "reason": "Mutasi ke BPKAD dan perbaikan nama sesuai akta.", "statement_true": "true",
        "change_proof": (io.BytesIO(PDF), "sk-mutasi.pdf"),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def start_change(api: Any, serial: str) -> tuple[Any, int]:
    pemohon = api("pemohon")
    response = pemohon.post("/cases", json={"process_key": "data_change", "data": {"certificate_serial": serial}})
    assert response.status_code == 201, response.get_json()
    return pemohon, response.get_json()["case"]["id"]


def submit_change(api: Any, serial: str, **overrides: Any) -> tuple[Any, int, Any]:
    pemohon, case_id = start_change(api, serial)
    task = only_task(pemohon, case_id, "change_form")
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=change_form(serial, **overrides), content_type="multipart/form-data")
    return pemohon, case_id, response


def revoked_serials_in_crl(client: Any) -> dict[int, Any]:
    response = client.get("/pki/crl")
    assert response.status_code == 200
    crl = x509.load_der_x509_crl(response.data)
    return {entry.serial_number: entry for entry in crl}


def test_form_is_prefilled_with_the_current_data_and_the_certificate(api: Any, app: Any) -> None:
    serial = issue_certificate(api)
    pemohon, case_id = start_change(api, serial)
    task = only_task(pemohon, case_id, "change_form")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    current = form["data"]["current"]
    assert current["applicant"]["position"] == "Pranata Komputer Ahli Pertama"
    assert current["applicant"]["agency_code"] == "diskominfo"
    assert [c["serial"] for c in current["certificates"]] == [serial]
    assert form["data"]["certificate_serial"] == serial
    page = html_of(WebUser(app, "pemohon").get(f"/tugas/{task['id']}"))
    assert page.xpath("//select[@name='certificate_serial']/option[@selected]/@value") == [serial]
    assert page.xpath("//input[@name='position']/@value") == ["Pranata Komputer Ahli Pertama"]
    assert page.xpath("//select[@name='agency_code']/option[@selected]/@value") == ["diskominfo"]


def test_happy_path_reissues_with_the_new_subject_revokes_the_old_and_updates_records(api: Any, app: Any, client: Any) -> None:
    old_serial = issue_certificate(api)
    pemohon, case_id, response = submit_change(api, old_serial)
    assert response.status_code == 200, response.get_json()
    checks = case_of(api("verifikator"), case_id)["data"]["checks"]
    assert checks["errors"] == 0, checks
    assert checks["new"] == {"full_name": NEW_NAME, "position": NEW_POSITION, "agency_code": "bpkad", "email": "pemohon@pekalongankota.go.id",
                             "agency_name": "Badan Pengelolaan Keuangan dan Aset Daerah"}
    verifikator_page = WebUser(app, "verifikator").get(f"/tugas/{only_task(api('verifikator'), case_id, 'verification')['id']}")
    assert verifikator_page.status_code == 200
    summary = html_of(verifikator_page).xpath("//section[@id='data-change-summary']")
    assert summary and NEW_POSITION in summary[0].text_content()
    # Nothing changes before the verifikator approves.
    assert case_of(pemohon, case_id)["applicant"]["agency_code"] == "diskominfo"
    assert verify(api, case_id, APPROVE).status_code == 200

    csr, key = csr_pem(NEW_NAME)
    activation = only_task(pemohon, case_id, "activation")
    activation_page = html_of(WebUser(app, "pemohon").get(f"/tugas/{activation['id']}"))
    assert activation_page.xpath("//button[@id='generate-csr']/@data-common-name") == [NEW_NAME]
    response = pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    assert response.status_code == 200, response.get_json()

    case = case_of(pemohon, case_id)
    [new] = case["certificates"]
    assert new["serial"] != old_serial and new["subject"] == NEW_NAME
    leaf = x509.load_pem_x509_certificates(pemohon.get(f"/certificates/{new['serial']}").data)[0]
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == NEW_NAME
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Badan Pengelolaan Keuangan dan Aset Daerah"
    assert leaf.subject.get_attributes_for_oid(NameOID.TITLE)[0].value == NEW_POSITION

    revoked = revoked_serials_in_crl(client)
    assert int(old_serial, 16) in revoked and int(new["serial"], 16) not in revoked
    assert revoked[int(old_serial, 16)].extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.affiliation_changed

    applicant = case["applicant"]
    assert (applicant["full_name"], applicant["position"], applicant["agency_code"]) == (NEW_NAME, NEW_POSITION, "bpkad")
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == "pemohon")).scalar_one()
        assert (user.full_name, user.agency.code) == (NEW_NAME, "bpkad")
        assert (user.person.full_name, user.person.position, user.person.agency.code) == (NEW_NAME, NEW_POSITION, "bpkad")
        # The roster is the independent source: untouched, the difference listed for the Dinas to review.
        row = db.session.get(RosterEntry, NIP)
        assert (row.full_name, row.position, row.agency.code) == ("Budi Santoso", "Pranata Komputer Ahli Pertama", "diskominfo")
        [difference] = [d for d in people.roster_differences() if d["person"].nip == NIP]
        assert difference["fields"] == ["nama", "perangkat daerah", "jabatan"]
        statuses = {c.serial: c.status for c in db.session.execute(select(Certificate).where(Certificate.instance_id.is_not(None))).scalars()}
    assert statuses == {old_serial: "revoked", new["serial"]: "active"}

    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_completed")
    kinds = {e["kind"] for e in case["timeline"]}
    assert {"applicant_updated", "certificate_recorded", "certificate_status_changed", "mail_sent"} <= kinds
    assert "roster_updated" not in kinds
    assert any(d["kind"] == "dossier" for d in case["documents"])


def test_rejection_ends_the_case_and_changes_nothing(api: Any, app: Any, client: Any) -> None:
    old_serial = issue_certificate(api)
    pemohon, case_id, response = submit_change(api, old_serial)
    assert response.status_code == 200
    assert verify(api, case_id, {"decision": "reject", "reasons": "SK mutasi tidak sah."}).status_code == 200
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_rejected")
    assert case["certificates"] == [] and case["applicant"]["agency_code"] == "diskominfo"
    assert int(old_serial, 16) not in revoked_serials_in_crl(client)
    with app.app_context():
        row = db.session.get(RosterEntry, NIP)
        assert (row.full_name, row.agency.code) == ("Budi Santoso", "diskominfo")
        assert db.session.execute(select(Certificate.status).where(Certificate.serial == old_serial)).scalar_one() == "active"


def test_return_for_correction_loops_back_to_the_change_form(api: Any, app: Any) -> None:
    old_serial = issue_certificate(api)
    pemohon, case_id, _response = submit_change(api, old_serial)
    assert verify(api, case_id, {"decision": "return", "reasons": "Lampirkan SK mutasi yang ditandatangani."}).status_code == 200
    task = only_task(pemohon, case_id, "change_form")
    form = pemohon.get(f"/tasks/{task['id']}/form").get_json()
    assert form["prefill"]["position"] == NEW_POSITION
    assert form["data"]["verification"]["reasons"] == "Lampirkan SK mutasi yang ditandatangani."
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=change_form(old_serial), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert only_task(api("verifikator"), case_id, "verification")


def test_missing_proof_is_refused_with_422(api: Any, app: Any) -> None:
    serial = issue_certificate(api)
    pemohon, case_id, response = submit_change(api, serial, change_proof=None)
    assert response.status_code == 422
    assert response.get_json()["fields"]["change_proof"] == ["Dokumen wajib diunggah."]
    assert only_task(pemohon, case_id, "change_form")["status"] == "open"


def test_nothing_ticked_is_refused_with_422(api: Any, app: Any) -> None:
    serial = issue_certificate(api)
    _pemohon, _case_id, response = submit_change(api, serial, change_full_name=None, change_position=None, change_agency=None)
    assert response.status_code == 422
    assert "change_full_name" in response.get_json()["fields"]


def test_certificate_of_someone_else_cannot_be_named_at_start(api: Any, app: Any) -> None:
    serial = issue_certificate(api)
    response = api("pemohon2").post("/cases", json={"process_key": "data_change", "data": {"certificate_serial": serial}})
    assert response.status_code == 422


def test_a_ticked_field_with_the_current_value_is_refused_at_submit(api: Any, app: Any) -> None:
    serial = issue_certificate(api)
    current = "Pranata Komputer Ahli Pertama"
    pemohon, case_id, response = submit_change(
        api, serial, change_full_name=None, change_agency=None, full_name="Budi Santoso", agency_code="diskominfo",
        position=current,
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["fields"]["position"] == [
        f"Jabatan baru sama dengan data saat ini ({current}); isi data yang baru atau hapus centang 'Jabatan berubah'."
    ]
    assert only_task(pemohon, case_id, "change_form")["status"] == "open"
