"""Signing a PDF with an eSign key through the app, validating it (HTML and JSON), and the TSA endpoint."""

from __future__ import annotations

import base64
import io
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from sqlalchemy import select

from engine.models import AuditEvent, db
from pki.psre import SubjectInfo
from tests.pki.pki_builders import one_page_pdf
from tests.web_login import csrf_of, login

PASSPHRASE = "rahasia2026"


def give_esign_key(app: Any) -> None:
    """Register the demo applicant at the PSrE and issue a server-held key under PASSPHRASE."""
    psre = app.extensions["sertel.psre"]
    subject = SubjectInfo(name="Budi Santoso", nik="3375011507900001", email="pemohon@pekalongankota.go.id", agency="Dinas Komunikasi dan Informatika", position="Pranata Komputer")
    subject_id = psre.register_subject(subject, "test/register")
    psre.issue_with_server_key(subject_id, PASSPHRASE, "test/issue")


def sign(pemohon: Any, passphrase: str = PASSPHRASE) -> Any:
    data = {"file": (io.BytesIO(one_page_pdf()), "surat.pdf"), "passphrase": passphrase, "reason": "Menyetujui", "location": "Pekalongan"}
    return pemohon.post("/sign", data=data, content_type="multipart/form-data")


def validate(client: Any, pdf: bytes) -> dict[str, Any]:
    response = client.post("/api/v1/validate", data={"file": (io.BytesIO(pdf), "x.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def test_owner_signs_a_pdf_and_the_validator_says_valid(api: Any, app: Any, client: Any) -> None:
    give_esign_key(app)
    response = sign(api("pemohon"))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    signed = response.get_data()
    report = validate(client, signed)
    assert report["verdict"] == "Sah", report
    assert report["signatures"][0]["signer_name"] == "Budi Santoso"
    assert report["signatures"][0]["timestamped"] is True
    with app.app_context():
        for event in db.session.execute(select(AuditEvent)).scalars():
            assert PASSPHRASE not in event.payload_json


def test_tampered_unsigned_and_non_pdf_files_get_clear_verdicts(api: Any, app: Any, client: Any) -> None:
    give_esign_key(app)
    signed = sign(api("pemohon")).get_data()
    tampered = signed.replace(b"Surat Keputusan uji coba", b"Surat Keputusan uji cobA")
    assert "diubah" in validate(client, tampered)["verdict"]
    assert validate(client, one_page_pdf())["verdict"] == "Tidak ada tanda tangan"
    assert validate(client, b"bukan pdf")["verdict"] == "Berkas bukan PDF yang valid"


def test_validation_page_shows_the_report_in_indonesian(api: Any, app: Any, client: Any) -> None:
    give_esign_key(app)
    signed = sign(api("pemohon")).get_data()
    token = csrf_of(client.get("/validasi").get_data(as_text=True))
    page = client.post("/validasi", data={"csrf_token": token, "file": (io.BytesIO(signed), "surat-ttd.pdf")}, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="verdict"' in html and "Sah" in html and "Budi Santoso" in html


def test_wrong_passphrases_lock_the_key_and_point_to_sop_088_13(api: Any, app: Any) -> None:
    give_esign_key(app)
    pemohon = api("pemohon")
    for remaining in (4, 3, 2, 1, 0):
        response = sign(pemohon, "salah12345")
        assert response.status_code == 422
        assert f"Sisa percobaan sebelum kunci dikunci (LOCK): {remaining}" in response.get_json()["error"]
    locked = sign(pemohon, PASSPHRASE)
    assert locked.status_code == 423
    assert "088.13" in locked.get_json()["error"]


def test_signing_page_keeps_the_passphrase_out_of_the_page_on_error(app: Any, client: Any) -> None:
    give_esign_key(app)
    login(client, "pemohon")
    token = csrf_of(client.get("/tanda-tangan").get_data(as_text=True))
    data = {"csrf_token": token, "file": (io.BytesIO(one_page_pdf()), "surat.pdf"), "passphrase": "salah12345"}
    page = client.post("/tanda-tangan", data=data, content_type="multipart/form-data")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "Passphrase salah" in html and "salah12345" not in html


def test_applicant_without_esign_key_is_told_so(api: Any, app: Any) -> None:
    response = sign(api("pemohon"))
    assert response.status_code == 403
    assert "eSign" in response.get_json()["error"]


def test_timestamp_authority_answers_openssl(client: Any, app: Any, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("dokumen")
    subprocess.run(["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(tmp_path / "q.tsq")], check=True)
    response = client.post("/pki/tsa", data=(tmp_path / "q.tsq").read_bytes(), content_type="application/timestamp-query")
    assert response.status_code == 200
    (tmp_path / "r.tsr").write_bytes(response.get_data())
    chain = client.get("/pki/ca.pem").get_data(as_text=True)
    (tmp_path / "chain.pem").write_text(chain)
    result = subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(data), "-in", str(tmp_path / "r.tsr"), "-CAfile", str(tmp_path / "chain.pem")],
        capture_output=True, text=True,
    )
    assert "Verification: OK" in result.stdout, result.stdout + result.stderr


def test_validation_api_returns_simple_detailed_and_etsi_xml_layers(api: Any, app: Any, client: Any) -> None:
    give_esign_key(app)
    signed = sign(api("pemohon")).get_data()
    report = validate(client, signed)
    sig = report["signatures"][0]
    assert report["simple_verdict"] == "Sah" and report["indication"] == "TOTAL_PASSED"
    assert sig["level"] == "B-LTA" and sig["best_proven_time_wib"].endswith("WIB")
    assert {b["key"] for b in sig["building_blocks"]} >= {"format", "chain", "crypto", "timestamps", "revocation"}
    xml = base64.b64decode(report["etsi_report_xml_base64"])
    assert ElementTree.fromstring(xml).tag == "{http://uri.etsi.org/19102/v1.2.1#}ValidationReport"
    response = client.post("/api/v1/validate/etsi-report", data=signed, content_type="application/pdf")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert b"urn:etsi:019102:mainindication:total-passed" in response.get_data()


def test_validation_api_without_a_file_is_422(client: Any) -> None:
    for path in ("/api/v1/validate", "/api/v1/validate/etsi-report"):
        empty = client.post(path, data={}, content_type="multipart/form-data")
        assert empty.status_code == 422 and "file" in empty.get_json()["fields"]
        assert client.post(path).status_code == 422


def test_validate_and_sign_are_in_openapi(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/validate"]["post"]["security"] == []
    assert "file" in paths["/validate"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["required"]
    assert "application/xml" in paths["/validate/etsi-report"]["post"]["responses"]["200"]["content"]
    assert "passphrase" in paths["/sign"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["required"]
    assert "422" in paths["/validate"]["post"]["responses"]


def test_validation_page_shows_detail_and_xml_download(api: Any, app: Any, client: Any) -> None:
    give_esign_key(app)
    tampered = sign(api("pemohon")).get_data().replace(b"Surat Keputusan uji coba", b"Surat Keputusan uji cobA")
    token = csrf_of(client.get("/validasi").get_data(as_text=True))
    page = client.post("/validasi", data={"csrf_token": token, "file": (io.BytesIO(tampered), "x.pdf")}, content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert "Tidak sah" in html and "<details>" in html and "TIDAK OK" in html
    assert "Isi yang ditandatangani tidak cocok lagi" in html and "HASH_FAILURE" not in html  # the code is in the XML only
    assert 'id="etsi-xml"' in html and "data:application/xml;base64," in html
