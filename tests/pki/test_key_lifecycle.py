"""Tests that server-held keys follow their certificate: suspension, invalidity date, destruction."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pki_builders import FakeClock, make_csr, make_subject, one_page_pdf, openssl

from pki.embedded import EmbeddedPSrE
from pki.errors import SUSPENDED_MESSAGE, InvalidRequest, KeySuspended, NoServerKey
from pki.validation import COMPROMISED, VALID, validate_pdf

PASSPHRASE = "rahasia123"


def _esign(psre: EmbeddedPSrE) -> tuple[str, str]:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    return subject_id, psre.issue_with_server_key(subject_id, PASSPHRASE, "esign-1").serial_hex


def _key_rows(psre: EmbeddedPSrE) -> list[sqlite3.Row]:
    with psre.store.read() as conn:
        return conn.execute("SELECT owner_id, ciphertext FROM esign_keys").fetchall()


def _events(psre: EmbeddedPSrE, subject_id: str) -> list[tuple[str, str]]:
    return [(e.event, e.serial_hex) for e in psre.key_events(subject_id)]


def test_key_compromise_report_suspends_signing_at_once_without_counting_an_attempt(psre: EmbeddedPSrE) -> None:
    subject_id, serial = _esign(psre)
    assert psre.suspend_server_key(serial, "suspend-1") is True
    with pytest.raises(KeySuspended) as refused:
        psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    assert str(refused.value) == SUSPENDED_MESSAGE and "088.11" in SUSPENDED_MESSAGE
    assert psre.keystore.state(subject_id).failed_attempts == 0
    assert _events(psre, subject_id) == [("suspended", serial)]


def test_lifted_suspension_lets_the_owner_sign_again_and_is_logged(psre: EmbeddedPSrE) -> None:
    subject_id, serial = _esign(psre)
    psre.suspend_server_key(serial, "suspend-1")
    assert psre.lift_server_key_suspension(serial, "lift-1") is True
    assert psre.lift_server_key_suspension(serial, "lift-1") is True  # a retry replays the first answer
    assert psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l").startswith(b"%PDF")
    assert _events(psre, subject_id) == [("suspended", serial), ("suspension_lifted", serial)]


def test_certificate_of_an_owner_held_key_has_nothing_to_suspend(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    assert psre.suspend_server_key(issued.serial_hex, "suspend-1") is False
    assert psre.key_events(subject_id) == []


def test_revoking_an_esign_certificate_destroys_its_wrapped_key(psre: EmbeddedPSrE) -> None:
    subject_id, serial = _esign(psre)
    psre.suspend_server_key(serial, "suspend-1")
    psre.revoke(serial, "keyCompromise", "revoke-1")
    assert _key_rows(psre) == []
    with pytest.raises(NoServerKey):
        psre.keystore.unlock(subject_id, PASSPHRASE)  # even the right passphrase opens nothing
    assert psre.certificate_status(serial).key_destroyed is True
    assert _events(psre, subject_id) == [("suspended", serial), ("destroyed", serial)]


def test_renewal_to_an_owner_held_key_destroys_the_old_server_key(psre: EmbeddedPSrE) -> None:
    subject_id, serial = _esign(psre)
    psre.renew(serial, make_csr(), None, "renew-1")
    assert _key_rows(psre) == []
    assert psre.certificate_status(serial).key_destroyed is True
    assert _events(psre, subject_id) == [("destroyed", serial)]


def test_data_change_to_an_owner_held_key_destroys_the_old_server_key(psre: EmbeddedPSrE) -> None:
    subject_id, serial = _esign(psre)
    psre.reissue(subject_id, make_subject(agency="BKPSDM"), make_csr(), None, "reissue-1")
    assert _key_rows(psre) == []
    assert _events(psre, subject_id) == [("destroyed", serial)]


@pytest.mark.parametrize("path", ["renew", "reissue", "reset"])
def test_a_new_server_key_overwrites_the_old_one_and_the_psre_logs_it(psre: EmbeddedPSrE, path: str) -> None:
    subject_id, serial = _esign(psre)
    before = _key_rows(psre)[0]["ciphertext"]
    if path == "renew":
        psre.renew(serial, None, "rahasia456", "renew-1")
    elif path == "reissue":
        psre.reissue(subject_id, make_subject(agency="BKPSDM"), None, "rahasia456", "reissue-1")
    else:
        psre.reset_subject(subject_id, "rahasia456", "reset-1")
    rows = _key_rows(psre)
    assert len(rows) == 1 and rows[0]["ciphertext"] != before
    assert psre.certificate_status(serial).status == "revoked"
    assert psre.certificate_status(serial).key_destroyed is True
    assert _events(psre, subject_id) == [("destroyed", serial)]


def test_invalidity_date_in_the_future_is_refused(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    _, serial = _esign(psre)
    with pytest.raises(InvalidRequest):
        psre.revoke(serial, "keyCompromise", "revoke-1", clock.now + timedelta(hours=1))
    assert psre.certificate_status(serial).status == "good"


def _files(psre: EmbeddedPSrE, directory: Path, serial: str) -> None:
    with psre.store.read() as conn:
        pem = conn.execute("SELECT pem FROM certificates WHERE serial_hex = ?", (serial,)).fetchone()["pem"]
    chain = x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())
    (directory / "leaf.pem").write_text(pem)
    (directory / "issuing.pem").write_text(chain[0].public_bytes(Encoding.PEM).decode())
    (directory / "root.pem").write_text(psre.root_certificate_pem())


def test_crl_and_ocsp_carry_the_invalidity_date_for_openssl(
    psre: EmbeddedPSrE, clock: FakeClock, tmp_path: Path
) -> None:
    _, serial = _esign(psre)
    incident = clock.now.replace(microsecond=0) - timedelta(days=2)
    psre.revoke(serial, "keyCompromise", "revoke-1", incident)
    _files(psre, tmp_path, serial)
    (tmp_path / "crl.der").write_bytes(psre.crl_der())
    crl = openssl("crl", "-inform", "DER", "-in", "crl.der", "-text", "-noout", cwd=tmp_path).stdout
    expected = incident.strftime("%b %e %H:%M:%S %Y GMT")
    assert "Invalidity Date" in crl and expected in crl
    made = openssl("ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-reqout", "req.der", cwd=tmp_path)
    assert made.returncode == 0, made.stdout
    (tmp_path / "resp.der").write_bytes(psre.ocsp_response_der((tmp_path / "req.der").read_bytes()))
    checked = openssl(
        "ocsp", "-respin", "resp.der", "-CAfile", "root.pem", "-no_nonce", "-issuer", "issuing.pem",
        "-cert", "leaf.pem", "-resp_text", cwd=tmp_path,
    ).stdout  # fmt: skip
    assert "Response verify OK" in checked and "leaf.pem: revoked" in checked
    assert "Response Single Extensions" in checked and "Invalidity Date" in checked and expected in checked


def test_signature_made_after_the_reported_compromise_no_longer_validates(
    psre: EmbeddedPSrE, clock: FakeClock
) -> None:
    subject_id, serial = _esign(psre)
    signed = psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    assert validate_pdf(signed, psre.root_certificate_pem(), psre).verdict == VALID
    clock.now += timedelta(hours=2)
    psre.revoke(serial, "keyCompromise", "revoke-1", clock.now - timedelta(hours=3))
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    assert report.verdict == COMPROMISED and not report.valid
    assert report.signatures[0].invalidity_date is not None


def test_signature_made_before_the_reported_compromise_stays_valid(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    subject_id, serial = _esign(psre)
    signed = psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    clock.now += timedelta(hours=2)
    psre.revoke(serial, "keyCompromise", "revoke-1", clock.now - timedelta(hours=1))
    assert validate_pdf(signed, psre.root_certificate_pem(), psre).verdict == VALID
