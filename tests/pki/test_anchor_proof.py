"""Timestamp tokens and seal signatures over a digest: accepted from our CA's TSA and seal, refused otherwise."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from pki_builders import FakeClock, new_psre

from pki import anchor_proof
from pki.anchor_proof import ProofInvalid
from pki.embedded import EmbeddedPSrE

DIGEST = hashlib.sha256(b"kepala rantai").digest()


def cas_of(psre: EmbeddedPSrE) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())


def token_from(psre: EmbeddedPSrE, digest: bytes = DIGEST) -> bytes:
    return anchor_proof.token_from_response(psre.tsa_response_der(anchor_proof.timestamp_request(digest)))


def seal_certificate(psre: EmbeddedPSrE) -> x509.Certificate:
    return x509.load_pem_x509_certificate(psre.ra_seal_certificate_pem().encode())


def test_token_of_our_tsa_over_the_digest_verifies_and_gives_its_time(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    moment = anchor_proof.verify_timestamp(token_from(psre), DIGEST, cas_of(psre))
    assert moment.replace(tzinfo=None) == clock().replace(microsecond=0, tzinfo=None)


def test_token_over_another_digest_or_from_a_foreign_tsa_is_refused(
    psre: EmbeddedPSrE, tmp_path: Path, kek: str, clock: FakeClock
) -> None:
    with pytest.raises(ProofInvalid, match="digest lain"):
        anchor_proof.verify_timestamp(token_from(psre, bytes(32)), DIGEST, cas_of(psre))
    foreign = new_psre(tmp_path / "lain", [kek], clock)
    foreign.initialise()
    with pytest.raises(ProofInvalid, match="tidak diterbitkan oleh CA kota"):
        anchor_proof.verify_timestamp(token_from(foreign), DIGEST, cas_of(psre))


def test_seal_verifies_only_over_its_digest_and_by_the_ra_seal(psre: EmbeddedPSrE) -> None:
    signature, certificate = psre.seal_digest(DIGEST), seal_certificate(psre)
    anchor_proof.verify_seal(signature, DIGEST, certificate, cas_of(psre), lambda c: c == certificate)
    with pytest.raises(ProofInvalid, match="tanda tangan tidak cocok"):
        anchor_proof.verify_seal(signature, bytes(32), certificate, cas_of(psre), lambda c: c == certificate)
    with pytest.raises(ProofInvalid, match="bukan segel"):
        anchor_proof.verify_seal(signature, DIGEST, certificate, cas_of(psre), lambda c: False)
