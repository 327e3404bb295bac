"""The embedded PSrE with its store on PostgreSQL: issuance, revocation, CRL, OCSP, sealing, two processes.

Runs when SERTEL_DATABASE_URL names a PostgreSQL database; each test gets its own schema in it.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pki_builders import FakeClock, make_csr, make_subject, new_psre, one_page_pdf

from pki.embedded import EmbeddedPSrE
from pki.errors import WrongPassphrase
from pki.store import _conninfo
from pki.validation import validate_pdf

URL = os.environ.get("SERTEL_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not URL.startswith("postgresql"), reason="needs SERTEL_DATABASE_URL on PostgreSQL")


@pytest.fixture
def store_url() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    schema = f"psre_test_{secrets.token_hex(4)}"
    yield f"{URL}{'&' if '?' in URL else '?'}schema={schema}"
    with psycopg.connect(_conninfo(URL)[0], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _psre(tmp_path: Path, kek: str, url: str, clock: FakeClock | None = None) -> EmbeddedPSrE:
    psre = new_psre(tmp_path / "psre", [kek], clock)
    return EmbeddedPSrE(tmp_path / "psre", [kek], psre.base_url, clock=psre.clock, scrypt_n=2**10, database_url=url)


def test_issuance_revocation_crl_ocsp_and_sealing_on_postgresql(
    tmp_path: Path, kek: str, store_url: str, clock: FakeClock
) -> None:
    psre = _psre(tmp_path, kek, store_url, clock)
    assert psre.initialise() is True and psre.initialise() is False
    assert not (tmp_path / "psre" / "psre.sqlite3").exists()  # nothing went to the SQLite file
    subject_id = psre.register_subject(make_subject(), "reg-1")
    csr = make_csr()
    issued = psre.issue_from_csr(subject_id, csr, "issue-1")
    assert psre.issue_from_csr(subject_id, csr, "issue-1") == issued  # idempotent replay
    second = psre.issue_from_csr(subject_id, make_csr(), "issue-2")
    assert psre.current_certificate(subject_id).serial_hex == second.serial_hex
    psre.revoke(issued.serial_hex, "keyCompromise", "revoke-1")
    assert psre.certificate_status(issued.serial_hex).status == "revoked"
    crl = x509.load_der_x509_crl(psre.crl_der())
    assert crl.get_revoked_certificate_by_serial_number(int(issued.serial_hex, 16)) is not None
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    issuer = x509.load_pem_x509_certificates(issued.chain_pem.encode())[0]
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
    answer = ocsp.load_der_ocsp_response(psre.ocsp_response_der(request.public_bytes(serialization.Encoding.DER)))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert [c.status for c in psre.list_certificates()] == ["revoked", "good"]
    sealed = psre.ra_seal().seal_pdf(one_page_pdf())
    assert validate_pdf(sealed, psre.root_certificate_pem()).simple_verdict == "Sah"
    # Another instance (another app server) reads the same state.
    other = _psre(tmp_path / "other", kek, store_url, clock)
    assert other.root_certificate_pem() == psre.root_certificate_pem()
    assert other.certificate_status(second.serial_hex).status == "good"


def test_server_held_key_and_lock_on_postgresql(tmp_path: Path, kek: str, store_url: str) -> None:
    psre = _psre(tmp_path, kek, store_url)
    psre.initialise()
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_with_server_key(subject_id, "rahasia-panjang-1", "esign-1")
    signed = psre.sign_pdf(subject_id, "rahasia-panjang-1", one_page_pdf(), "Menyetujui", "Pekalongan")
    assert validate_pdf(signed, psre.root_certificate_pem(), psre).simple_verdict == "Sah"
    with pytest.raises(WrongPassphrase):
        psre.sign_pdf(subject_id, "salah-sekali-1", one_page_pdf(), "Menyetujui", "Pekalongan")
    assert [c.locked for c in psre.list_certificates()] == [False]
    psre.revoke(issued.serial_hex, "keyCompromise", "revoke-esign")
    assert psre.certificate_status(issued.serial_hex).key_destroyed  # overwritten with zeros, then deleted
    assert [e.event for e in psre.key_events(subject_id)] == ["destroyed"]


def _issue_and_revoke(args: tuple[Path, str, str, int]) -> list[str]:
    state, kek, url, worker = args
    psre = EmbeddedPSrE(state, [kek], "http://127.0.0.1:5000/pki", scrypt_n=2**10, database_url=url)
    serials = []
    for i in range(6):
        subject_id = psre.register_subject(make_subject(nik=f"33750145079{worker}{i:04d}"), f"reg-{worker}-{i}")
        issued = psre.issue_from_csr(subject_id, make_csr(), f"issue-{worker}-{i}")
        psre.revoke(issued.serial_hex, "superseded", f"revoke-{worker}-{i}")
        serials.append(issued.serial_hex)
    return serials


def test_two_processes_issue_and_revoke_with_distinct_crl_numbers(tmp_path: Path, kek: str, store_url: str) -> None:
    psre = _psre(tmp_path, kek, store_url)
    psre.initialise()
    first = x509.load_der_x509_crl(psre.crl_der()).extensions.get_extension_for_class(x509.CRLNumber).value
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.map(_issue_and_revoke, [(tmp_path / "psre", kek, store_url, w) for w in (1, 2)])
    serials = [s for batch in results for s in batch]
    assert len(set(serials)) == 12
    crl = x509.load_der_x509_crl(psre.crl_der())
    # Every revocation published its own CRL under the write lock: 12 more numbers, all listed.
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == first.crl_number + 12
    assert all(crl.get_revoked_certificate_by_serial_number(int(s, 16)) is not None for s in serials)
