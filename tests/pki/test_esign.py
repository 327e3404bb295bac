"""Tests of server-held eSign keys in the EmbeddedPSrE: issue, sign, LOCK, reset, renew, re-issue."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pki_builders import make_csr, make_subject, one_page_pdf

from pki.embedded import EmbeddedPSrE
from pki.errors import (
    LOCKED_MESSAGE,
    AlreadyRevoked,
    IdempotencyConflict,
    InvalidRequest,
    InvalidSubject,
    KeyLocked,
    NoServerKey,
    PkiError,
    UnknownSubject,
    WeakPassphrase,
    WrongPassphrase,
)
from pki.psre import PSrE
from pki.validation import VALID, validate_pdf

PASSPHRASE = "rahasia123"


def _spki(pem: str) -> bytes:
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _esign(psre: EmbeddedPSrE) -> tuple[str, str]:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    return subject_id, psre.issue_with_server_key(subject_id, PASSPHRASE, "esign-1").certificate_pem


def _crl_reasons(psre: EmbeddedPSrE) -> dict[str, x509.ReasonFlags | None]:
    crl = x509.load_der_x509_crl(psre.crl_der())
    reasons = {}
    for entry in crl:
        try:
            reasons[format(entry.serial_number, "x")] = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        except x509.ExtensionNotFound:
            reasons[format(entry.serial_number, "x")] = None
    return reasons


def _cert_count(psre: EmbeddedPSrE) -> int:
    with sqlite3.connect(psre.store.path) as conn:
        return int(conn.execute("SELECT count(*) FROM certificates").fetchone()[0])


def test_server_key_issuance_is_idempotent_and_key_matches(psre: EmbeddedPSrE) -> None:
    assert isinstance(psre, PSrE)
    subject_id = psre.register_subject(make_subject(), "reg-1")
    first = psre.issue_with_server_key(subject_id, PASSPHRASE, "esign-1")
    assert psre.issue_with_server_key(subject_id, PASSPHRASE, "esign-1") == first
    assert _cert_count(psre) == 1
    key = psre.keystore.unlock(subject_id, PASSPHRASE)
    own = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert own == _spki(first.certificate_pem)


def test_repeat_with_another_passphrase_is_refused_and_the_key_stays_under_the_first(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    first = psre.issue_with_server_key(subject_id, PASSPHRASE, "esign-1")
    with pytest.raises(IdempotencyConflict):
        psre.issue_with_server_key(subject_id, "lainlagi2026", "esign-1")
    assert _cert_count(psre) == 1
    assert psre.issue_with_server_key(subject_id, PASSPHRASE, "esign-1") == first
    assert psre.keystore.state(subject_id).failed_attempts == 0  # the right passphrase cleared the count


def test_weak_passphrase_issues_nothing(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    with pytest.raises(WeakPassphrase):
        psre.issue_with_server_key(subject_id, "password", "esign-1")
    assert _cert_count(psre) == 0


def test_sign_pdf_by_nik_gives_a_valid_signature(psre: EmbeddedPSrE) -> None:
    _esign(psre)
    signed = psre.sign_pdf(make_subject().nik, PASSPHRASE, one_page_pdf(), "Menyetujui", "Kota Pekalongan")
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    assert report.verdict == VALID
    assert report.signatures[0].signer_name == make_subject().name


def test_signing_errors_for_unknown_subject_and_missing_key(psre: EmbeddedPSrE) -> None:
    with pytest.raises(UnknownSubject):
        psre.sign_pdf("3375010101010001", PASSPHRASE, one_page_pdf(), "r", "l")
    subject_id = psre.register_subject(make_subject(), "reg-1")
    psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    with pytest.raises(NoServerKey):
        psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")


def test_lock_after_five_wrong_passphrases_across_threads(psre: EmbeddedPSrE) -> None:
    subject_id, _ = _esign(psre)
    outcomes: list[type[PkiError]] = []
    guard, start = threading.Lock(), threading.Barrier(10)

    def guess(index: int) -> None:
        start.wait()
        try:
            psre.sign_pdf(subject_id, f"tebakan{index:04d}", b"%PDF-", "r", "l")
        except PkiError as error:
            with guard:
                outcomes.append(type(error))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(WrongPassphrase) == 5 and outcomes.count(KeyLocked) == 5
    with pytest.raises(KeyLocked) as locked:
        psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    assert str(locked.value) == LOCKED_MESSAGE and "SOP 088.13" in str(locked.value)


def test_reset_lifts_the_lock_and_the_old_key_cannot_sign(psre: EmbeddedPSrE) -> None:
    subject_id, old_pem = _esign(psre)
    old_serial = format(x509.load_pem_x509_certificate(old_pem.encode()).serial_number, "x")
    for _ in range(5):
        with pytest.raises(WrongPassphrase):
            psre.sign_pdf(subject_id, "salah12345", one_page_pdf(), "r", "l")
    new = psre.reset_subject(subject_id, "baru98765", "reset-1")
    assert psre.reset_subject(subject_id, "baru98765", "reset-1") == new
    assert psre.certificate_status(old_serial).status == "revoked"
    with pytest.raises(WrongPassphrase):  # the old key (and its passphrase) is gone
        psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    signed = psre.sign_pdf(subject_id, "baru98765", one_page_pdf(), "r", "l")
    report = validate_pdf(signed, psre.root_certificate_pem(), psre)
    assert report.verdict == VALID
    assert _spki(psre.current_certificate(subject_id).certificate_pem) == _spki(new.certificate_pem)
    assert _spki(new.certificate_pem) != _spki(old_pem)


def test_renew_from_csr_revokes_the_old_certificate_as_superseded(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    old = psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    csr = make_csr()
    new = psre.renew(old.serial_hex, csr, None, "renew-1")
    assert psre.renew(old.serial_hex, csr, None, "renew-1") == new
    assert _crl_reasons(psre) == {old.serial_hex: x509.ReasonFlags.superseded}
    assert psre.certificate_status(new.serial_hex).status == "good"
    with pytest.raises(AlreadyRevoked):
        psre.renew(old.serial_hex, make_csr(), None, "renew-2")


def test_renew_with_server_key_moves_signing_to_the_new_key(psre: EmbeddedPSrE) -> None:
    subject_id, old_pem = _esign(psre)
    old_serial = format(x509.load_pem_x509_certificate(old_pem.encode()).serial_number, "x")
    new = psre.renew(old_serial, None, "lagi12345", "renew-1")
    assert psre.certificate_status(old_serial).reason == "superseded"
    assert validate_pdf(
        psre.sign_pdf(subject_id, "lagi12345", one_page_pdf(), "r", "l"), psre.root_certificate_pem(), psre
    ).verdict == VALID
    assert psre.current_certificate(subject_id).serial_hex == new.serial_hex


def test_renew_and_reissue_need_exactly_one_key_source(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    old = psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    with pytest.raises(InvalidRequest):
        psre.renew(old.serial_hex, None, None, "renew-1")
    with pytest.raises(InvalidRequest):
        psre.reissue(subject_id, make_subject(), make_csr(), PASSPHRASE, "reissue-1")


def test_reissue_uses_new_data_and_revokes_old_as_affiliation_changed(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    old = psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    changed = make_subject(agency="BKPSDM", position="Analis Kepegawaian")
    new = psre.reissue(subject_id, changed, make_csr(), None, "reissue-1")
    cert = x509.load_pem_x509_certificate(new.certificate_pem.encode())
    assert "O=BKPSDM" in cert.subject.rfc4514_string()
    assert _crl_reasons(psre)[old.serial_hex] == x509.ReasonFlags.affiliation_changed
    with pytest.raises(InvalidSubject):
        psre.reissue(subject_id, make_subject(nik="3375010101010001"), make_csr(), None, "reissue-2")


def test_signing_with_a_revoked_server_certificate_is_refused(psre: EmbeddedPSrE) -> None:
    subject_id, pem = _esign(psre)
    psre.revoke(format(x509.load_pem_x509_certificate(pem.encode()).serial_number, "x"), "keyCompromise", "rv-1")
    with pytest.raises(NoServerKey):
        psre.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
