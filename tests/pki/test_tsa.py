"""Tests of the PSrE's RFC 3161 timestamp authority, checked with `openssl ts -verify`."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from pki_builders import new_psre, openssl

from pki.embedded import EmbeddedPSrE
from pki.tsa import TSA_POLICY_OID, TimeStampStatusOnly


def _request(digest: bytes, nonce: int = 4242) -> bytes:
    return tsp.TimeStampReq(
        {
            "version": 1,
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


def test_tsa_certificate_is_issued_by_the_issuing_ca_for_time_stamping_only(psre: EmbeddedPSrE) -> None:
    cert = x509.load_pem_x509_certificate(psre.tsa_certificate_pem().encode())
    issuing = x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())[0]
    cert.verify_directly_issued_by(issuing)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_tsa_answers_a_der_request_with_a_token_openssl_verifies(psre: EmbeddedPSrE, tmp_path: Path) -> None:
    digest = hashlib.sha256(b"dokumen").digest()
    response_der = psre.tsa_response_der(_request(digest))
    response = tsp.TimeStampResp.load(response_der)
    assert response["status"]["status"].native == "granted"
    info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 4242
    assert info["policy"].native == TSA_POLICY_OID
    (tmp_path / "resp.der").write_bytes(response_der)
    (tmp_path / "root.pem").write_text(psre.root_certificate_pem())
    issuing = x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())[0]
    (tmp_path / "untrusted.pem").write_text(issuing.public_bytes(Encoding.PEM).decode() + psre.tsa_certificate_pem())
    result = openssl(
        "ts", "-verify", "-digest", digest.hex(), "-in", "resp.der", "-CAfile", "root.pem",
        "-untrusted", "untrusted.pem", cwd=tmp_path,
    )
    assert "Verification: OK" in result.stdout, result.stdout


def test_tsa_rejects_malformed_and_weak_requests(psre: EmbeddedPSrE) -> None:
    garbage = TimeStampStatusOnly.load(psre.tsa_response_der(b"not a request"))
    assert garbage["status"]["status"].native == "rejection"
    sha1 = tsp.TimeStampReq(
        {"version": 1, "message_imprint": {"hash_algorithm": {"algorithm": "sha1"}, "hashed_message": bytes(20)}}
    ).dump()
    weak = TimeStampStatusOnly.load(psre.tsa_response_der(sha1))
    assert weak["status"]["status"].native == "rejection"
    assert "bad_alg" in weak["status"]["fail_info"].native


def test_states_created_before_the_tsa_get_one_lazily(psre: EmbeddedPSrE, kek: str) -> None:
    with sqlite3.connect(psre.store.path) as conn:
        conn.execute("DELETE FROM meta WHERE name IN ('tsa_pem', 'tsa_key', 'ra_seal_pem', 'ra_seal_key')")
    older = new_psre(psre.store.path.parent, [kek])
    response = tsp.TimeStampResp.load(older.tsa_response_der(_request(bytes(32))))
    assert response["status"]["status"].native == "granted"
    assert older.ra_seal().certificate is not None
    assert new_psre(psre.store.path.parent, [kek]).tsa_certificate_pem() == older.tsa_certificate_pem()
