"""Tests of the PKCS#11 key backend on SoftHSM2: the CA, CRL, OCSP, TSA and RA seal sign with token keys."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import algos, tsp
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from pki_builders import BASE_URL, FakeClock, make_csr, make_subject, one_page_pdf, openssl

from pki.embedded import EmbeddedPSrE
from pki.errors import UnsupportedKey
from pki.key_backend import Pkcs11Keys
from pki.validation import VALID, validate_pdf


@pytest.fixture
def psre(tmp_path: Path, softhsm_token: dict[str, str]) -> EmbeddedPSrE:
    keys = Pkcs11Keys(softhsm_token["module"], softhsm_token["label"], softhsm_token["pin"])
    psre = EmbeddedPSrE(
        tmp_path / "psre", [Fernet.generate_key().decode()], BASE_URL, clock=FakeClock(), scrypt_n=2**10, key_backend=keys
    )
    psre.initialise()
    return psre


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _issuing(psre: EmbeddedPSrE) -> x509.Certificate:
    return x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())[0]


def test_the_store_holds_only_token_references_for_the_psre_keys(psre: EmbeddedPSrE) -> None:
    conn = sqlite3.connect(psre.store.path)
    rows = dict(conn.execute("SELECT name, value FROM meta WHERE name LIKE '%_key'").fetchall())
    conn.close()
    assert set(rows) >= {"root_key", "issuing_key", "tsa_key", "ra_seal_key"}
    assert all(bytes(value).startswith(b"pkcs11:sertel-") for value in rows.values())


def test_token_keys_cannot_be_exported(psre: EmbeddedPSrE) -> None:
    key = psre._ca().private_key
    with pytest.raises(UnsupportedKey):
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def test_a_certificate_issued_with_the_token_key_verifies_with_openssl(psre: EmbeddedPSrE, tmp_path: Path) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_from_csr(subject_id, make_csr(), "iss-1")
    (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
    (tmp_path / "issuing.pem").write_text(_pem(_issuing(psre)))
    (tmp_path / "leaf.pem").write_text(issued.certificate_pem)
    result = openssl("verify", "-CAfile", "root.pem", "-untrusted", "issuing.pem", "leaf.pem", cwd=tmp_path)
    assert "leaf.pem: OK" in result.stdout, result.stdout


def test_a_crl_signed_on_the_token_verifies_with_openssl(psre: EmbeddedPSrE, tmp_path: Path) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_from_csr(subject_id, make_csr(), "iss-1")
    psre.revoke(issued.serial_hex, "keyCompromise", "rev-1")
    (tmp_path / "crl.der").write_bytes(psre.crl_der())
    (tmp_path / "issuing.pem").write_text(_pem(_issuing(psre)))
    result = openssl("crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "issuing.pem", "-noout", "-text", cwd=tmp_path)
    assert "verify OK" in result.stdout, result.stdout
    assert issued.serial_hex.upper() in result.stdout.upper()
    (tmp_path / "root-crl.der").write_bytes(psre.root_crl_der())
    (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
    result = openssl("crl", "-inform", "DER", "-in", "root-crl.der", "-CAfile", "root.pem", "-noout", cwd=tmp_path)
    assert "verify OK" in result.stdout, result.stdout


def test_an_ocsp_response_signed_on_the_token_verifies_with_openssl(psre: EmbeddedPSrE, tmp_path: Path) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_from_csr(subject_id, make_csr(), "iss-1")
    leaf = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, _issuing(psre), hashes.SHA256()).build()
    (tmp_path / "resp.der").write_bytes(psre.ocsp_response_der(request.public_bytes(serialization.Encoding.DER)))
    (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
    (tmp_path / "issuing.pem").write_text(_pem(_issuing(psre)))
    (tmp_path / "leaf.pem").write_text(issued.certificate_pem)
    result = openssl(
        "ocsp", "-respin", "resp.der", "-CAfile", "root.pem", "-verify_other", "issuing.pem",
        "-issuer", "issuing.pem", "-sha256", "-cert", "leaf.pem", cwd=tmp_path,
    )  # fmt: skip
    assert "Response verify OK" in result.stdout and "leaf.pem: good" in result.stdout, result.stdout


def test_a_timestamp_signed_on_the_token_verifies_with_openssl(psre: EmbeddedPSrE, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"dokumen").digest()
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": digest},
            "cert_req": True,
        }
    )
    (tmp_path / "resp.der").write_bytes(psre.tsa_response_der(request.dump()))
    (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
    (tmp_path / "untrusted.pem").write_text(_pem(_issuing(psre)) + psre.tsa_certificate_pem())
    result = openssl(
        "ts", "-verify", "-digest", digest.hex(), "-in", "resp.der", "-CAfile", "root.pem",
        "-untrusted", "untrusted.pem", cwd=tmp_path,
    )  # fmt: skip
    assert "Verification: OK" in result.stdout, result.stdout


def test_an_ra_seal_made_with_the_token_key_is_valid(psre: EmbeddedPSrE) -> None:
    sealed = psre.ra_seal().seal_pdf(one_page_pdf())
    report = validate_pdf(sealed, psre.root_certificate_pem(), psre)
    assert report.verdict == VALID and report.signature_count == 1
    seal_key = psre._service("ra_seal").private_key
    assert isinstance(seal_key, ec.EllipticCurvePrivateKey)
    with pytest.raises(UnsupportedKey):
        seal_key.private_numbers()
    # The detached seal over an audit anchor comes from the token too.
    digest = hashlib.sha256(b"anchor").digest()
    seal_key.public_key().verify(psre.seal_digest(digest), digest, ec.ECDSA(hashes.SHA256()))


def _stored_reference(psre: EmbeddedPSrE, name: str) -> bytes:
    conn = sqlite3.connect(psre.store.path)
    (value,) = conn.execute("SELECT value FROM meta WHERE name = ?", (f"{name}_key",)).fetchone()
    conn.close()
    return bytes(value)


def _on_token(keys: Pkcs11Keys, reference: bytes) -> bool:
    try:
        keys.load(reference)
    except pkcs11.NoSuchKey:
        return False
    return True


def _verify_timestamp(psre: EmbeddedPSrE, tmp_path: Path) -> str:
    digest = hashlib.sha256(b"dokumen").digest()
    request = tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": digest},
            "cert_req": True,
        }
    )
    (tmp_path / "resp.der").write_bytes(psre.tsa_response_der(request.dump()))
    (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
    (tmp_path / "untrusted.pem").write_text(_pem(_issuing(psre)) + psre.tsa_certificate_pem())
    return openssl(
        "ts", "-verify", "-digest", digest.hex(), "-in", "resp.der", "-CAfile", "root.pem",
        "-untrusted", "untrusted.pem", cwd=tmp_path,
    ).stdout  # fmt: skip


def test_service_renewal_rotates_token_key_labels_and_retires_old_keys_once_their_certificates_expire(
    tmp_path: Path, softhsm_token: dict[str, str]
) -> None:
    keys = Pkcs11Keys(softhsm_token["module"], softhsm_token["label"], softhsm_token["pin"])
    kek, clock = Fernet.generate_key().decode(), FakeClock()

    def open_psre() -> EmbeddedPSrE:
        return EmbeddedPSrE(tmp_path / "psre", [kek], BASE_URL, clock=clock, scrypt_n=2**10, key_backend=keys)

    psre = open_psre()
    psre.initialise()
    before = {name: _stored_reference(psre, name) for name in ("tsa", "ra_seal")}
    old_tsa = x509.load_pem_x509_certificate(psre.tsa_certificate_pem().encode())
    sealed_before = psre.ra_seal().seal_pdf(one_page_pdf())
    clock.now += timedelta(minutes=2)  # later than the first certificates, within openssl's view of "now"
    assert sorted(psre.renew_service_certificates(timedelta.max)) == ["ra_seal", "tsa"]
    after = {name: _stored_reference(psre, name) for name in ("tsa", "ra_seal")}
    for name in ("tsa", "ra_seal"):
        # A new key pair under a new label on the token; the store names only the label.
        assert after[name] != before[name] and after[name].startswith(f"pkcs11:sertel-{name}-".encode())
        assert _on_token(keys, after[name])
    new_tsa = x509.load_pem_x509_certificate(psre.tsa_certificate_pem().encode())
    assert new_tsa.public_key() == keys.load(after["tsa"]).public_key() != old_tsa.public_key()
    assert "Verification: OK" in _verify_timestamp(psre, tmp_path)
    # Another process (a web worker) opening the same state signs with the renewed token keys.
    worker = open_psre()
    sealed_after = worker.ra_seal().seal_pdf(one_page_pdf())
    root = psre.root_certificate_pem()
    assert validate_pdf(sealed_after, root, psre).verdict == VALID
    assert validate_pdf(sealed_before, root, psre).verdict == VALID
    # Old keys stay on the token while their certificates are valid (a worker may still hold them)...
    assert all(_on_token(keys, reference) for reference in before.values())
    psre.renew_service_certificates(timedelta(days=1))
    assert all(_on_token(keys, reference) for reference in before.values())
    # ...and are destroyed by the first renewal run after those certificates expired.
    clock.now = old_tsa.not_valid_after_utc + timedelta(seconds=30)
    assert psre.renew_service_certificates(timedelta(seconds=1)) == []
    assert not any(_on_token(keys, reference) for reference in before.values())
    assert all(_on_token(keys, reference) for reference in after.values())


def test_a_rollover_on_the_token_keeps_the_retired_ca_signing_crls_and_ocsp(
    psre: EmbeddedPSrE, tmp_path: Path
) -> None:
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_from_csr(subject_id, make_csr(), "iss-1")
    old_ca = _issuing(psre)
    new_ca = psre.rollover_issuing_ca()
    assert _stored_reference(psre, "issuing").startswith(b"pkcs11:sertel-issuing-g2-")
    psre.revoke(issued.serial_hex, "keyCompromise", "rev-1")
    (tmp_path / "crl.der").write_bytes(psre.crl_der_of(1))
    (tmp_path / "issuing.pem").write_text(_pem(old_ca))
    result = openssl("crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "issuing.pem", "-noout", "-text", cwd=tmp_path)
    assert "verify OK" in result.stdout and issued.serial_hex.upper() in result.stdout.upper(), result.stdout
    leaf = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, old_ca, hashes.SHA256()).build()
    (tmp_path / "resp.der").write_bytes(psre.ocsp_response_der(request.public_bytes(serialization.Encoding.DER)))
    (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
    (tmp_path / "leaf.pem").write_text(issued.certificate_pem)
    result = openssl(
        "ocsp", "-respin", "resp.der", "-CAfile", "root.pem", "-verify_other", "issuing.pem",
        "-issuer", "issuing.pem", "-sha256", "-cert", "leaf.pem", cwd=tmp_path,
    )  # fmt: skip
    assert "Response verify OK" in result.stdout and "leaf.pem: revoked" in result.stdout, result.stdout
    assert new_ca.subject != old_ca.subject
