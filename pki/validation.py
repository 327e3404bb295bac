"""Validation of signed PDFs into a per-signature report with Indonesian verdicts (never an exception)."""

from __future__ import annotations

import dataclasses
import io
import logging
from datetime import datetime
from typing import Any, Literal

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from pki.signing import RevocationMaterial, RevocationSource

VALID = "Sah"
CHANGED = "Tidak sah: dokumen diubah setelah ditandatangani"
REVOKED = "Tidak sah: sertifikat penanda tangan dicabut"
COMPROMISED = "Tidak sah: ditandatangani pada atau setelah tanggal kunci privat penanda tangan dilaporkan bocor"
UNTRUSTED = "Tidak sah: tidak berantai ke akar tepercaya Kota Pekalongan"
REVOCATION_UNKNOWN = "Tidak sah: status pencabutan sertifikat tidak dapat diperiksa"
BROKEN = "Tidak sah: tanda tangan tidak dapat diperiksa"
NO_SIGNATURE = "Tidak ada tanda tangan"
NOT_A_PDF = "Berkas bukan PDF yang valid"

logger = logging.getLogger(__name__)
RevocationState = Literal["good", "revoked", "unknown"]


@dataclasses.dataclass(frozen=True)
class SignatureReport:
    """What a relying party needs to know about one signature."""

    field_name: str
    signer_name: str | None
    signing_time: str | None
    timestamped: bool
    chain_trusted: bool
    chain_reason: str
    revocation_status: RevocationState
    intact: bool
    coverage: str | None
    modification_level: str | None
    docmdp_ok: bool | None
    valid: bool
    verdict: str
    # RFC 5280 invalidity date of the signer's certificate (key reported compromised from then on).
    invalidity_date: str | None = None


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """The report of one uploaded file: a document verdict plus one entry per signature."""

    is_pdf: bool
    valid: bool
    verdict: str
    signatures: list[SignatureReport]

    @property
    def signature_count(self) -> int:
        """Return how many (non-timestamp) signatures the document carries."""
        return len(self.signatures)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (the validation API's body)."""
        data = dataclasses.asdict(self)
        data["signature_count"] = self.signature_count
        return data


def _load_roots(trust_roots_pem: str | list[str]) -> list[asn1_x509.Certificate]:
    texts = [trust_roots_pem] if isinstance(trust_roots_pem, str) else trust_roots_pem
    certs = [c for text in texts for c in x509.load_pem_x509_certificates(text.encode())]
    return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certs]


def _timestamp_time(embedded: EmbeddedPdfSignature) -> datetime | None:
    # Only used to pick the validation moment; the token itself is verified by pyHanko afterwards.
    unsigned = embedded.signer_info["unsigned_attrs"]
    for attribute in unsigned if unsigned.native is not None else []:
        if attribute["type"].native == "signature_time_stamp_token":
            content = attribute["values"][0]["content"]["encap_content_info"]["content"]
            value = content.parsed["gen_time"].native
            return value if isinstance(value, datetime) else None
    return None


def _common_name(cert: asn1_x509.Certificate | None) -> str | None:
    if cert is None:
        return None
    name = cert.subject.native
    return str(name.get("common_name") or cert.subject.human_friendly)


def _material(
    revocation: RevocationMaterial | RevocationSource | None, embedded: EmbeddedPdfSignature
) -> RevocationMaterial:
    if revocation is None:
        return RevocationMaterial()
    if isinstance(revocation, RevocationMaterial):
        return revocation
    signer = x509.load_der_x509_certificate(embedded.signer_cert.dump())
    return revocation.revocation_material(signer)


def _context(
    roots: list[asn1_x509.Certificate],
    dss: DocumentSecurityStore | None,
    material: RevocationMaterial,
    moment: datetime | None,
) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": roots,
        "crls": material.crls,
        "ocsps": material.ocsps,
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
        # Status "at signing time": judge at the (timestamped) signing moment, using revocation info
        # published later, so a revocation after signing does not invalidate the signature.
        "moment": moment,
        "retroactive_revinfo": True,
    }
    if dss is not None:
        return dss.as_validation_context(kwargs)
    return ValidationContext(**kwargs)


def _verdict(report: dict[str, Any]) -> str:
    if not report["intact"] or not report["valid"] or report["docmdp_ok"] is False:
        return CHANGED
    if report["revocation_status"] == "revoked":
        return REVOKED
    if not report["chain_trusted"]:
        return UNTRUSTED
    if report["revocation_status"] != "good":
        return REVOCATION_UNKNOWN
    return VALID


def _report(status: PdfSignatureStatus, embedded: EmbeddedPdfSignature, moment: datetime | None) -> SignatureReport:
    ts = status.timestamp_validity
    when = ts.timestamp if ts is not None else (moment or status.signer_reported_dt)
    indication = status.trust_problem_indic
    # Typed as the AdESSubIndic base; its only concrete kinds are these three enums.
    indication_name = indication.name if isinstance(indication, (AdESPassed, AdESFailure, AdESIndeterminate)) else None
    # A revoked signer still chains to our root: the path was found, only its status is bad.
    chained = status.trusted or status.revoked
    data: dict[str, Any] = {
        "field_name": str(embedded.field_name),
        "signer_name": _common_name(status.signing_cert),
        "signing_time": when.isoformat() if when else None,
        "timestamped": ts is not None and ts.valid and ts.intact,
        "chain_trusted": chained,
        "chain_reason": "ok" if status.trusted else (indication_name or "unknown"),
        "revocation_status": "revoked" if status.revoked else ("good" if status.trusted else "unknown"),
        "intact": bool(status.intact),
        "coverage": status.coverage.name if status.coverage is not None else None,
        "modification_level": status.modification_level.name if status.modification_level else None,
        "docmdp_ok": status.docmdp_ok,
        "valid": bool(status.valid),
    }
    if not chained and indication_name is not None and "CHAIN" not in indication_name:
        # Revocation could not be checked, but is the chain itself ours? Say so separately.
        data["chain_trusted"] = status.validation_path is not None
    return SignatureReport(**data, verdict=_verdict(data))


def _invalidity_date(material: RevocationMaterial, signer: asn1_x509.Certificate) -> datetime | None:
    """Return the invalidity date our CRLs or OCSP answers give for the signer's certificate, if any."""
    serial, issuer = signer.serial_number, signer.issuer.dump()
    found: list[datetime] = []
    for der in material.crls:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            continue
        entry = crl.get_revoked_certificate_by_serial_number(serial) if crl.issuer.public_bytes() == issuer else None
        if entry is not None:
            found += [e.value.invalidity_date_utc for e in entry.extensions if isinstance(e.value, x509.InvalidityDate)]
    for der in material.ocsps:
        try:
            response = ocsp.load_der_ocsp_response(der)
        except ValueError:
            continue
        if response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL and response.serial_number == serial:
            found += [
                e.value.invalidity_date_utc
                for e in response.single_extensions
                if isinstance(e.value, x509.InvalidityDate)
            ]
    return min(found, default=None)


def _after_compromise(
    report: SignatureReport, material: RevocationMaterial, embedded: EmbeddedPdfSignature, when: datetime | None
) -> SignatureReport:
    """Judge a signature made at or after its key's reported compromise invalid, even if made before revocation."""
    invalid_from = _invalidity_date(material, embedded.signer_cert)
    if invalid_from is None:
        return report
    report = dataclasses.replace(report, invalidity_date=invalid_from.isoformat())
    # Without a trustworthy signing time the signature cannot be shown to predate the compromise.
    if report.verdict == VALID and (when is None or when >= invalid_from):
        return dataclasses.replace(report, valid=False, verdict=COMPROMISED)
    return report


def _broken(embedded: EmbeddedPdfSignature, reason: str) -> SignatureReport:
    return SignatureReport(
        field_name=str(embedded.field_name),
        signer_name=None,
        signing_time=None,
        timestamped=False,
        chain_trusted=False,
        chain_reason=reason,
        revocation_status="unknown",
        intact=False,
        coverage=None,
        modification_level=None,
        docmdp_ok=None,
        valid=False,
        verdict=BROKEN,
    )


def validate_pdf(
    pdf_bytes: bytes,
    trust_roots_pem: str | list[str],
    revocation: RevocationMaterial | RevocationSource | None = None,
) -> ValidationReport:
    """Validate every signature of a PDF against our trust roots, offline, and give verdicts.

    `revocation` adds current CRLs / OCSP responses (or a source of them, e.g. the EmbeddedPSrE) to
    what the PDF itself embeds (DSS). Nothing is fetched from the network.
    """
    roots = _load_roots(trust_roots_pem)
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        embedded_signatures = list(reader.embedded_regular_signatures)
        dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    except Exception:  # any parse failure of an uploaded file is "not a PDF" (logged, so BLE001 allows it)
        logger.info("uploaded file is not a readable PDF", exc_info=True)
        return ValidationReport(is_pdf=False, valid=False, verdict=NOT_A_PDF, signatures=[])
    if not embedded_signatures:
        return ValidationReport(is_pdf=True, valid=False, verdict=NO_SIGNATURE, signatures=[])
    reports = []
    for embedded in embedded_signatures:
        try:
            moment = _timestamp_time(embedded)
            material = _material(revocation, embedded)
            status = validate_pdf_signature(
                embedded,
                signer_validation_context=_context(roots, dss, material, moment),
                ts_validation_context=_context(roots, dss, material, None),
            )
            report = _report(status, embedded, moment)
            reports.append(_after_compromise(report, material, embedded, moment or status.signer_reported_dt))
        except Exception as exc:  # a malformed signature gets a verdict, not a 500 (logged, so BLE001 allows it)
            logger.info("signature %s cannot be checked", embedded.field_name, exc_info=True)
            reports.append(_broken(embedded, type(exc).__name__))
    failing = [r for r in reports if r.verdict != VALID]
    verdict = failing[0].verdict if failing else VALID
    return ValidationReport(is_pdf=True, valid=not failing, verdict=verdict, signatures=reports)
