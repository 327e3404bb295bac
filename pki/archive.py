"""Archive timestamp renewal (PAdES B-LTA): when a signed PDF's evidence runs out, and adding fresh evidence."""

from __future__ import annotations

import io
import logging
from datetime import datetime

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError, extract_certificate_info
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext

from pki.errors import PkiError
from pki.signing import RevocationMaterial

logger = logging.getLogger(__name__)


class ArchiveRefreshFailed(PkiError):
    """A signed PDF could not get a new archive timestamp (unreadable, or its newest timestamp no longer verifies)."""


def _not_after(cert: asn1_x509.Certificate) -> datetime:
    value = cert["tbs_certificate"]["validity"]["not_after"].native
    assert isinstance(value, datetime)
    return value


def _chain_expiry(signed_data: cms.SignedData) -> datetime:
    """The earliest expiry among the certificates a token carries (its TSA and that TSA's CAs)."""
    return min(_not_after(c.chosen) for c in signed_data["certificates"])


def is_signed_pdf(pdf_bytes: bytes) -> bool:
    """Tell whether the bytes are a readable PDF with at least one signature or document timestamp."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        return bool(reader.embedded_signatures)
    except Exception:  # anything unreadable is simply not an archived signed PDF (logged, so BLE001 allows it)
        logger.info("stored document is not a readable PDF", exc_info=True)
        return False


def evidence_expires(pdf_bytes: bytes) -> datetime | None:
    """Return when the newest timestamp stops proving the document: the earliest expiry in its TSA's chain.

    The newest document timestamp (or, without one, the newest signature's own timestamp) is validated at the
    current time; once a certificate of its chain expires, nothing proves when it was made. None means no
    timestamp proves anything yet (a B-B or B-LT file), so renewal is due at once.
    """
    reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    stamps = list(reader.embedded_timestamp_signatures)
    if stamps:
        newest = max(stamps, key=lambda s: s.signed_revision)
        return _chain_expiry(newest.signed_data)
    signatures = list(reader.embedded_regular_signatures)
    tokens = [
        attribute["values"][0]["content"]
        for signature in signatures
        for attribute in signature.signer_info["unsigned_attrs"] or []
        if attribute["type"].native == "signature_time_stamp_token"
    ]
    if not tokens:
        return None
    return min(_chain_expiry(token) for token in tokens)


def _x509(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def evidence_certificates(pdf_bytes: bytes) -> list[x509.Certificate]:
    """Return the end-entity certificates whose status a renewal's revocation data must show, oldest first.

    Every signer, the TSA of every signature timestamp and the TSA of every document timestamp: with OCSP
    answers for these (and the CAs' own CRLs) an offline validator can judge each signature and timestamp
    at its proven time, without the issuing CA's whole CRL.
    """
    reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    found: list[x509.Certificate] = []

    def add(cert: asn1_x509.Certificate) -> None:
        certificate = _x509(cert)
        if certificate not in found:
            found.append(certificate)

    for signature in reader.embedded_signatures:
        add(signature.signer_cert)
        for attribute in signature.signer_info["unsigned_attrs"] or []:
            if attribute["type"].native == "signature_time_stamp_token":
                for token in attribute["values"]:
                    add(extract_certificate_info(token["content"]).signer_cert)
    return found


def refresh_due(pdf_bytes: bytes, now: datetime, window_days: int) -> bool:
    """Tell whether the PDF needs a new archive timestamp now: its evidence runs out within the window."""
    expires = evidence_expires(pdf_bytes)
    return expires is None or (expires - now).days < window_days


def add_archive_timestamp(
    pdf_bytes: bytes,
    timestamper: TimeStamper,
    trust_roots: list[x509.Certificate],
    material: RevocationMaterial,
) -> bytes:
    """Append, as a new incremental revision, fresh CRLs/OCSP for the newest timestamp and a new document timestamp.

    The earlier revisions are left byte for byte as they were, so every earlier signature still covers them.
    """
    context = ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trust_roots],
        crls=material.crls,
        ocsps=material.ocsps,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        output = PdfTimeStamper(timestamper).update_archival_timestamp_chain(reader, context, in_place=False)
    except (PdfError, SigningError, ValueError) as exc:
        raise ArchiveRefreshFailed(f"Cap waktu arsip tidak dapat diperbarui: {exc}") from exc
    return bytes(output.getvalue())
