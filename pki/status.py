"""Revocation status publication: CRLs (RFC 5280) and OCSP responses (RFC 6960) signed by a CA."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509 import ocsp

from pki.keywrap import CaPrivateKey
from pki.psre import REVOCATION_REASONS, CertificateStatus


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked serial as it goes onto a CRL."""

    serial: int
    revoked_at: datetime
    reason: str
    invalidity_date: datetime | None = None


def _hash(key: CaPrivateKey) -> hashes.SHA256 | hashes.SHA384:
    # Same digest rule as certificate signing, kept local so status does not depend on ca.
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def build_crl(
    issuer_certificate: x509.Certificate,
    issuer_key: CaPrivateKey,
    revoked: Iterable[RevokedEntry],
    crl_number: int,
    this_update: datetime,
    next_update: datetime,
) -> x509.CertificateRevocationList:
    """Sign a full CRL listing every revoked serial with its reason."""
    ski = issuer_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_certificate.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(crl_number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    for entry in revoked:
        revoked_builder = x509.RevokedCertificateBuilder().serial_number(entry.serial).revocation_date(entry.revoked_at)
        # RFC 5280 5.3.1: the reasonCode extension should be absent rather than "unspecified".
        if entry.reason != "unspecified":
            revoked_builder = revoked_builder.add_extension(
                x509.CRLReason(REVOCATION_REASONS[entry.reason]), critical=False
            )
        if entry.invalidity_date is not None:
            # RFC 5280 5.3.2: signatures made from this date on must not be trusted, even if made
            # before the revocation itself.
            revoked_builder = revoked_builder.add_extension(x509.InvalidityDate(entry.invalidity_date), critical=False)
        builder = builder.add_revoked_certificate(revoked_builder.build())
    return builder.sign(issuer_key, _hash(issuer_key))


def _issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    """Return (issuerNameHash, issuerKeyHash) of our CA under the request's digest."""
    name_digest = hashes.Hash(algorithm)
    name_digest.update(issuer.subject.public_bytes())
    # issuerKeyHash covers the key's BIT STRING contents only; a throw-away request lets cryptography
    # compute it exactly as RFC 6960 defines it, without hand-parsing DER here. (Its name hash would
    # be of the probe cert's issuer, hence computed above instead.)
    probe = ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, algorithm).build()
    return name_digest.finalize(), probe.issuer_key_hash


def build_ocsp_response(
    request_der: bytes,
    issuer_certificate: x509.Certificate,
    issuer_key: CaPrivateKey,
    lookup: Callable[[int], CertificateStatus],
    now: datetime,
    validity: timedelta,
) -> bytes:
    """Answer one DER OCSP request: good / revoked / unknown, signed by the issuing CA itself."""
    try:
        request = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        # Also covers requests for several certificates, which cryptography cannot parse.
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    try:
        algorithm = request.hash_algorithm
        expected = _issuer_hashes(issuer_certificate, algorithm)
    except (UnsupportedAlgorithm, ValueError):
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    if (request.issuer_name_hash, request.issuer_key_hash) != expected:
        # RFC 6960 2.3: a responder that is not authoritative for the issuer answers "unauthorized".
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    status = lookup(request.serial_number)
    revocation_time, revocation_reason = None, None
    if status.status == "good":
        cert_status = ocsp.OCSPCertStatus.GOOD
    elif status.status == "revoked":
        cert_status = ocsp.OCSPCertStatus.REVOKED
        revocation_time = status.revoked_at
        revocation_reason = REVOCATION_REASONS[status.reason] if status.reason else None
    else:
        cert_status = ocsp.OCSPCertStatus.UNKNOWN
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number,
            algorithm=algorithm,
            cert_status=cert_status,
            this_update=now,
            next_update=now + validity,
            revocation_time=revocation_time,
            revocation_reason=revocation_reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer_certificate)
        .certificates([issuer_certificate])
    )
    for extension in request.extensions:
        # Echo the nonce so clients that sent one can bind the answer to their request (replay defence).
        if isinstance(extension.value, x509.OCSPNonce):
            builder = builder.add_extension(extension.value, critical=False)
    response = builder.sign(issuer_key, _hash(issuer_key)).public_bytes(serialization.Encoding.DER)
    if cert_status == ocsp.OCSPCertStatus.REVOKED and status.invalidity_date is not None:
        return _with_invalidity_date(response, status.invalidity_date, issuer_key)
    return response


def _with_invalidity_date(response_der: bytes, when: datetime, issuer_key: CaPrivateKey) -> bytes:
    """Add the invalidity date as a singleExtension of the (only) SingleResponse and sign again.

    cryptography's builder cannot write singleExtensions, so the signed response is edited with
    asn1crypto and its tbsResponseData signed anew with the same key and digest.
    """
    outer = asn1_ocsp.OCSPResponse.load(response_der)
    basic = outer["response_bytes"]["response"].parsed
    tbs = basic["tbs_response_data"]
    single = tbs["responses"][0]
    single["single_extensions"] = [{"extn_id": "invalidity_date", "critical": False, "extn_value": when}]
    tbs_der = tbs.dump(force=True)
    algorithm = _hash(issuer_key)
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        signature = issuer_key.sign(tbs_der, ec.ECDSA(algorithm))
    else:
        signature = issuer_key.sign(tbs_der, padding.PKCS1v15(), algorithm)
    basic["signature"] = signature
    outer["response_bytes"]["response"] = asn1_ocsp.BasicOCSPResponse.load(basic.dump(force=True))
    return bytes(outer.dump(force=True))


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)
