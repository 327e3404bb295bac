"""SOPs that need a certificate are offered only with one that fits, and refused at start with the reason otherwise."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from engine.models import Certificate, ProcessInstance, User, db
from engine.services.demo_certificates import ensure_esign_certificate
from tests.web.test_html_flow import WebUser, html_of


def case_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(ProcessInstance)) or 0)


def give_certificates(app: Flask) -> tuple[str, str]:
    """'pemohon' gets an eSign certificate from the PSrE; 'pemohon2' an AMS one (same validity): their serials."""
    with app.app_context():
        pemohon = db.session.execute(select(User).where(User.username == "pemohon")).scalar_one()
        assert ensure_esign_certificate(pemohon, "Pranata Komputer")
        db.session.commit()
        esign = db.session.execute(select(Certificate).where(Certificate.user_id == pemohon.id)).scalar_one()
        pemohon2 = db.session.execute(select(User).where(User.username == "pemohon2")).scalar_one()
        ams = Certificate(
            serial="ab" * 10, subject_id="", user_id=pemohon2.id, subject="CN=Pemohon Dua", status="active",
            kind="ams", not_before=esign.not_before, not_after=esign.not_after,
            certificate_pem=esign.certificate_pem, chain_pem=esign.chain_pem,
        )
        db.session.add(ams)
        db.session.commit()
        return esign.serial, ams.serial


def test_starting_a_renewal_without_a_certificate_is_refused_with_the_reason(app: Flask) -> None:
    pemohon2 = WebUser(app, "pemohon2")
    before = case_count(app)
    response = pemohon2.post("/proses/renewal_rekey/mulai")
    assert response.status_code == 422
    text = html_of(response).text_content()
    assert "hanya untuk pemilik Sertifikat Elektronik yang aktif, dan Anda belum memilikinya" in text
    assert "Ajukan penerbitan sertifikat terlebih dahulu" in text
    assert "dibuat" not in text and "end_no_certificate" not in text
    assert case_count(app) == before


def test_forgotten_passphrase_is_offered_and_accepted_only_for_esign(app: Flask) -> None:
    esign_serial, ams_serial = give_certificates(app)

    owner = WebUser(app, "pemohon")
    row = html_of(owner.get("/sertifikat")).xpath(f"//tr[.//code[text()='{esign_serial}']]")[0]
    assert "Lupa passphrase (SOP 088.13)" in row.text_content()
    assert "Perbarui (SOP 088.10)" in row.text_content()

    ams_owner = WebUser(app, "pemohon2")
    row = html_of(ams_owner.get("/sertifikat")).xpath(f"//tr[.//code[text()='{ams_serial}']]")[0]
    assert "Lupa passphrase" not in row.text_content()
    assert {"Perbarui (SOP 088.10)", "Cabut (SOP 088.11)", "Ubah data (SOP 088.12)"} <= {
        (b.text or "").strip() for b in row.xpath(".//button")  # the visible words (a hidden part names the serial)
    }

    # Asked for anyway (an old page, a hand-made request): refused with the reason, no case made.
    before = case_count(app)
    response = ams_owner.post(f"/sertifikat/{ams_serial}/ajukan/passphrase_lock")
    assert response.status_code == 422
    assert "hanya untuk Sertifikat Elektronik eSign yang aktif" in html_of(response).text_content()
    response = ams_owner.post("/proses/passphrase_lock/mulai")
    assert response.status_code == 422
    assert "eSign" in html_of(response).text_content()
    assert case_count(app) == before
