"""Tests of EmbeddedPSrE: state at rest, KEK rotation, idempotency, revocation rules, status words."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from pki_builders import FakeClock, make_csr, make_key, make_subject, new_psre

from pki.embedded import EmbeddedPSrE
from pki.errors import (
    AlreadyRevoked,
    IdempotencyConflict,
    KeyDecryptionFailed,
    KeyReused,
    NotInitialised,
    UnknownCertificate,
    UnknownRevocationReason,
    UnknownSubject,
)
from pki.psre import PSrE, SubjectStatus


def _state_bytes(state_dir: Path) -> bytes:
    # The WAL file holds recent pages too, so both files are scanned.
    return b"".join(p.read_bytes() for p in state_dir.iterdir() if p.is_file())


def _cert_count(psre: EmbeddedPSrE) -> int:
    with sqlite3.connect(psre.store.path) as conn:
        return int(conn.execute("SELECT count(*) FROM certificates").fetchone()[0])


def _issue(psre: EmbeddedPSrE, key_suffix: str = "1", **subject: str) -> tuple[str, str]:
    subject_id = psre.register_subject(make_subject(**subject), f"reg-{key_suffix}")
    issued = psre.issue_from_csr(subject_id, make_csr(), f"issue-{key_suffix}")
    return subject_id, issued.serial_hex


def test_embedded_psre_implements_the_adapter_protocol(psre: EmbeddedPSrE) -> None:
    assert isinstance(psre, PSrE)


def test_initialise_is_idempotent(psre: EmbeddedPSrE) -> None:
    root = psre.root_certificate_pem()
    assert psre.initialise() is False
    assert psre.root_certificate_pem() == root


def test_uninitialised_psre_says_so(tmp_path: Path, kek: str) -> None:
    with pytest.raises(NotInitialised):
        new_psre(tmp_path / "empty", [kek]).crl_der()


def test_ca_keys_and_personal_data_are_encrypted_at_rest(psre: EmbeddedPSrE, kek: str) -> None:
    subject = make_subject()
    psre.register_subject(subject, "reg-1")
    stored = _state_bytes(psre.store.path.parent)
    issuing_key = psre._ca().private_key
    pkcs8 = issuing_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert b"PRIVATE KEY" not in stored
    assert pkcs8 not in stored
    assert subject.nik.encode() not in stored
    assert subject.name.encode() not in stored


def test_kek_rotation_lets_the_old_kek_be_retired(tmp_path: Path, kek: str) -> None:
    state = tmp_path / "psre"
    psre = new_psre(state, [kek])
    psre.initialise()
    subject_id = psre.register_subject(make_subject(), "reg-1")
    new_kek = Fernet.generate_key().decode()
    assert new_psre(state, [new_kek, kek]).rotate_keys() == 6  # 3 CA secrets + TSA + RA seal + 1 subject
    rotated = new_psre(state, [new_kek])
    issued = rotated.issue_from_csr(subject_id, make_csr(), "issue-1")
    assert issued.chain_pem == psre.ca_chain_pem()
    with pytest.raises(KeyDecryptionFailed):
        new_psre(state, [kek]).publish_crl()


def test_issued_certificate_comes_with_its_chain(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    cert = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
    cert.verify_directly_issued_by(chain[0])
    assert format(cert.serial_number, "x") == issued.serial_hex
    assert issued.subject_id == subject_id
    assert issued.not_after - issued.not_before == timedelta(days=730, minutes=5)


def test_same_idempotency_key_issues_once(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    csr = make_csr()
    first = psre.issue_from_csr(subject_id, csr, "case-7/task-activate")
    second = psre.issue_from_csr(subject_id, csr, "case-7/task-activate")
    assert first == second
    assert _cert_count(psre) == 1


def test_reusing_an_idempotency_key_with_other_arguments_conflicts(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    psre.issue_from_csr(subject_id, make_csr(), "case-7/task-activate")
    with pytest.raises(IdempotencyConflict):
        psre.issue_from_csr(subject_id, make_csr(), "case-7/task-activate")
    with pytest.raises(IdempotencyConflict):
        psre.register_subject(make_subject(), "case-7/task-activate")
    assert _cert_count(psre) == 1


def test_concurrent_retries_with_one_key_issue_one_certificate(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    csr = make_csr()
    serials: list[str] = []

    def call() -> None:
        serials.append(psre.issue_from_csr(subject_id, csr, "same-key").serial_hex)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(serials)) == 1 and len(serials) == 8
    assert _cert_count(psre) == 1


def _issue_in_child(
    state_dir: Path, kek: str, subject_id: str, csr: str, queue: multiprocessing.Queue[str]
) -> None:
    queue.put(new_psre(state_dir, [kek]).issue_from_csr(subject_id, csr, "same-key").serial_hex)


def test_concurrent_processes_with_one_key_issue_one_certificate(psre: EmbeddedPSrE, kek: str) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    csr = make_csr()
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    args = (psre.store.path.parent, kek, subject_id, csr, queue)
    processes = [context.Process(target=_issue_in_child, args=args) for _ in range(4)]
    for process in processes:
        process.start()
    serials = {queue.get(timeout=30) for _ in processes}
    for process in processes:
        process.join(timeout=30)
    assert len(serials) == 1
    assert _cert_count(psre) == 1


def test_registering_the_same_nik_again_updates_the_subject(psre: EmbeddedPSrE) -> None:
    first = psre.register_subject(make_subject(), "reg-1")
    again = psre.register_subject(make_subject(agency="BKPSDM"), "reg-2")
    assert again == first
    issued = psre.issue_from_csr(first, make_csr(), "issue-1")
    cert = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    assert "O=BKPSDM" in cert.subject.rfc4514_string()


def test_issuing_for_an_unknown_subject_fails(psre: EmbeddedPSrE) -> None:
    with pytest.raises(UnknownSubject):
        psre.issue_from_csr("no-such-subject", make_csr(), "issue-1")


def test_a_public_key_is_certified_only_once(psre: EmbeddedPSrE) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    key = make_key()
    psre.issue_from_csr(subject_id, make_csr(key), "issue-1")
    with pytest.raises(KeyReused):
        psre.issue_from_csr(subject_id, make_csr(key, common_name="renewal"), "issue-2")


def test_revocation_is_recorded_with_reason_and_time(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    _, serial = _issue(psre)
    assert psre.certificate_status(serial).status == "good"
    psre.revoke(serial.upper(), "keyCompromise", "revoke-1")
    status = psre.certificate_status(serial)
    assert status.status == "revoked"
    assert status.reason == "keyCompromise"
    assert status.revoked_at == clock.now.replace(microsecond=0)


def test_revoking_twice_raises_already_revoked(psre: EmbeddedPSrE) -> None:
    _, serial = _issue(psre)
    psre.revoke(serial, "affiliationChanged", "revoke-1")
    psre.revoke(serial, "affiliationChanged", "revoke-1")  # a retry of the same call is fine
    with pytest.raises(AlreadyRevoked):
        psre.revoke(serial, "affiliationChanged", "revoke-2")


def test_unknown_revocation_reason_is_refused(psre: EmbeddedPSrE) -> None:
    _, serial = _issue(psre)
    with pytest.raises(UnknownRevocationReason):
        psre.revoke(serial, "bored", "revoke-1")
    assert psre.certificate_status(serial).status == "good"


def test_revoking_an_unknown_serial_fails(psre: EmbeddedPSrE) -> None:
    with pytest.raises(UnknownCertificate):
        psre.revoke("abc123", "superseded", "revoke-1")


def test_unknown_serial_has_unknown_status(psre: EmbeddedPSrE) -> None:
    assert psre.certificate_status("0badc0de").status == "unknown"
    assert psre.certificate_status("not hex").status == "unknown"


def test_subject_status_words_follow_the_certificate_lifecycle(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    nik = make_subject().nik
    assert psre.subject_status(nik) == SubjectStatus.NOT_REGISTERED
    subject_id = psre.register_subject(make_subject(), "reg-1")
    assert psre.subject_status(nik) == SubjectStatus.NO_CERTIFICATE
    issued = psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    assert psre.subject_status(nik) == SubjectStatus.ISSUE
    assert psre.subject_status(subject_id) == SubjectStatus.ISSUE
    clock.now += timedelta(days=731)
    assert psre.subject_status(nik) == SubjectStatus.EXPIRED
    psre.revoke(issued.serial_hex, "cessationOfOperation", "revoke-1")
    assert psre.subject_status(subject_id) == SubjectStatus.REVOKE


def test_renewed_subject_is_issue_while_old_certificate_is_revoked(psre: EmbeddedPSrE) -> None:
    subject_id, old_serial = _issue(psre, "1")
    psre.issue_from_csr(subject_id, make_csr(), "issue-2")
    psre.revoke(old_serial, "superseded", "revoke-1")
    assert psre.subject_status(subject_id) == SubjectStatus.ISSUE
