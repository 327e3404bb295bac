"""Proofs over a digest: an RFC 3161 timestamp token and a detached seal signature, made and checked."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki.errors import PkiError
from pki.keywrap import CaPrivateKey


class ProofInvalid(PkiError):
    """A timestamp token or a seal signature does not prove what it claims."""


def timestamp_request(digest: bytes) -> bytes:
    """A DER TimeStampReq over a SHA-256 digest, asking for the TSA certificate."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
            "nonce": secrets.randbits(63),
            "cert_req": True,
        }
    )
    der: bytes = request.dump()
    return der


def token_from_response(response_der: bytes) -> bytes:
    """The DER timestamp token of a granted TimeStampResp; ProofInvalid on a rejection."""
    try:
        response = tsp.TimeStampResp.load(response_der)
        status = response["status"]["status"].native
        token = response["time_stamp_token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProofInvalid("jawaban TSA tidak terbaca") from exc
    if status not in ("granted", "granted_with_mods") or token.native is None:
        raise ProofInvalid(f"TSA menolak permintaan ({status})")
    der: bytes = token.dump()
    return der


def _verify(public_key: object, signature: bytes, data: bytes) -> None:
    """Check a signature over data with an EC or RSA key (SHA-256); ProofInvalid otherwise."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise ProofInvalid("jenis kunci tidak didukung")
    except InvalidSignature as exc:
        raise ProofInvalid("tanda tangan tidak cocok") from exc


def _issued_by_one_of(cert: x509.Certificate, cas: Sequence[x509.Certificate]) -> None:
    """Require that one of the trusted CA certificates issued `cert` directly."""
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
            return
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise ProofInvalid("sertifikat tidak diterbitkan oleh CA kota")


def verify_timestamp(token_der: bytes, digest: bytes, cas: Sequence[x509.Certificate]) -> datetime:
    """Check a timestamp token over `digest` from a TSA our CA certified; return its time."""
    try:
        signed = cms.ContentInfo.load(token_der)["content"]
        tst_bytes = signed["encap_content_info"]["content"].contents
        tst = tsp.TSTInfo.load(tst_bytes)
        signer = signed["signer_infos"][0]
        attrs = {a["type"].native: a["values"][0].native for a in signer["signed_attrs"]}
        serial = signer["sid"].chosen["serial_number"].native
        embedded = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"]]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise ProofInvalid("token stempel waktu tidak terbaca") from exc
    if tst["message_imprint"]["hashed_message"].native != digest:
        raise ProofInvalid("stempel waktu untuk digest lain")
    if attrs.get("message_digest") != hashlib.sha256(tst_bytes).digest():
        raise ProofInvalid("isi token stempel waktu diubah")
    tsa = next((c for c in embedded if c.serial_number == serial), None)
    if tsa is None:
        raise ProofInvalid("sertifikat TSA tidak ada dalam token")
    _issued_by_one_of(tsa, cas)
    usage = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise ProofInvalid("sertifikat penanda tangan bukan sertifikat TSA")
    # Signed attributes are signed as a SET OF, not with their [0] IMPLICIT tag.
    signed_attrs = b"\x31" + signer["signed_attrs"].dump()[1:]
    _verify(tsa.public_key(), signer["signature"].native, signed_attrs)
    moment: datetime = tst["gen_time"].native
    return moment


def seal_digest(private_key: CaPrivateKey, digest: bytes) -> bytes:
    """A detached seal signature (SHA-256) over a digest."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(digest, ec.ECDSA(hashes.SHA256()))
    return private_key.sign(digest, padding.PKCS1v15(), hashes.SHA256())


def verify_seal(
    signature: bytes,
    digest: bytes,
    certificate: x509.Certificate,
    cas: Sequence[x509.Certificate],
    is_seal: Callable[[x509.Certificate], bool],
) -> None:
    """Check a seal signature over `digest` by a certificate our CA issued that `is_seal` accepts."""
    _issued_by_one_of(certificate, cas)
    if not is_seal(certificate):
        raise ProofInvalid("sertifikat penyegel bukan segel Otoritas Pendaftaran")
    _verify(certificate.public_key(), signature, digest)
