"""Revocation status publication: CRLs (RFC 5280) and OCSP responses (RFC 6960) signed by a CA."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import core
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
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


_OCSP_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _cert_status(status: CertificateStatus) -> asn1_ocsp.CertStatus:
    if status.status == "good":
        return asn1_ocsp.CertStatus(name="good", value=core.Null())
    if status.status != "revoked":
        return asn1_ocsp.CertStatus(name="unknown", value=core.Null())
    info: dict[str, object] = {"revocation_time": status.revoked_at}
    # As on the CRL (RFC 5280 5.3.1), "unspecified" is expressed by leaving the reason out.
    if status.reason and status.reason != "unspecified":
        info["revocation_reason"] = REVOCATION_REASONS[status.reason].name
    return asn1_ocsp.CertStatus(name="revoked", value=asn1_ocsp.RevokedInfo(info))


def _single_response(
    cert_id: asn1_ocsp.CertId, status: CertificateStatus, now: datetime, validity: timedelta
) -> asn1_ocsp.SingleResponse:
    single: dict[str, object] = {
        "cert_id": cert_id,
        "cert_status": _cert_status(status),
        "this_update": now,
        "next_update": now + validity,
    }
    if status.status == "revoked" and status.invalidity_date is not None:
        # RFC 6960 4.4.7 / RFC 5280 5.3.2: signatures made from this date on are not to be trusted.
        single["single_extensions"] = [
            {"extn_id": "invalidity_date", "critical": False, "extn_value": status.invalidity_date}
        ]
    return asn1_ocsp.SingleResponse(single)


def build_ocsp_response(
    request_der: bytes,
    issuer_certificate: x509.Certificate,
    issuer_key: CaPrivateKey,
    lookup: Callable[[int], CertificateStatus],
    now: datetime,
    validity: timedelta,
) -> bytes:
    """Answer a DER OCSP request with one SingleResponse per CertID (RFC 6960 4.2.1), signed by the CA.

    Built with asn1crypto: cryptography can neither parse a request for several certificates nor
    write singleExtensions (the invalidity date).
    """
    try:
        request = asn1_ocsp.OCSPRequest.load(request_der)
        tbs = request["tbs_request"]
        entries = list(tbs["request_list"])
        _ = tbs.native  # a full parse now, so malformed input is refused here and not while answering
    except (ValueError, TypeError, KeyError):
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    if not entries:
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    responses, authoritative = [], False
    for entry in entries:
        cert_id = entry["req_cert"]
        digest = _OCSP_DIGESTS.get(cert_id["hash_algorithm"]["algorithm"].native)
        if digest is None:
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        ours = (cert_id["issuer_name_hash"].native, cert_id["issuer_key_hash"].native) == _issuer_hashes(
            issuer_certificate, digest()
        )
        authoritative = authoritative or ours
        serial = cert_id["serial_number"].native
        status = lookup(serial) if ours else CertificateStatus(serial_hex=format(serial, "x"), status="unknown")
        responses.append(_single_response(cert_id, status, now, validity))
    if not authoritative:
        # RFC 6960 2.3: a responder that is not authoritative for the issuer answers "unauthorized".
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    issuer = asn1_x509.Certificate.load(issuer_certificate.public_bytes(serialization.Encoding.DER))
    response_data: dict[str, object] = {
        "responder_id": asn1_ocsp.ResponderId(name="by_key", value=issuer.public_key.sha1),
        "produced_at": now,
        "responses": responses,
    }
    # Echo the nonce so clients that sent one can bind the answer to their request (replay defence).
    nonces = [e for e in tbs["request_extensions"] or [] if e["extn_id"].native == "nonce"]
    if nonces:
        response_data["response_extensions"] = [
            {"extn_id": "nonce", "critical": False, "extn_value": nonces[0]["extn_value"].parsed}
        ]
    tbs_response = asn1_ocsp.ResponseData(response_data)
    algorithm = _hash(issuer_key)
    tbs_der = tbs_response.dump()
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        signature, signature_algorithm = issuer_key.sign(tbs_der, ec.ECDSA(algorithm)), f"{algorithm.name}_ecdsa"
    else:
        signature, signature_algorithm = (
            issuer_key.sign(tbs_der, padding.PKCS1v15(), algorithm),
            f"{algorithm.name}_rsa",
        )
    basic = asn1_ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": tbs_response,
            "signature_algorithm": {"algorithm": signature_algorithm},
            "signature": signature,
            "certs": [issuer],
        }
    )
    outer = asn1_ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }
    )
    return bytes(outer.dump())


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(serialization.Encoding.DER)
