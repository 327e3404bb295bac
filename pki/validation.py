"""Validation of signed PDFs (EN 319 102-1 style, offline) into a report with Indonesian verdicts, never an exception."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter, message_imprint_checker, validate_tst_signed_data
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from pki.signing import RevocationMaterial, RevocationSource
from pki.validation_assess import (
    BROKEN,
    CHANGED,
    COMPROMISED,
    CRYPTO_FAILED,
    EXPIRED,
    NO_SIGNATURE,
    NOT_A_PDF,
    REVOCATION_UNKNOWN,
    REVOKED,
    UNTRUSTED,
    VALID,
    Evidence,
    TimestampCheck,
    assess,
    broken,
    common_name,
    indication_of,
)
from pki.validation_labels import FAILED, INDETERMINATE, PASSED, sub_label, wib
from pki.validation_report import RevocationState, SignatureReport, ValidationReport

__all__ = [
    "BROKEN",
    "CHANGED",
    "COMPROMISED",
    "CRYPTO_FAILED",
    "EXPIRED",
    "NOT_A_PDF",
    "NO_SIGNATURE",
    "REVOCATION_UNKNOWN",
    "REVOKED",
    "UNTRUSTED",
    "VALID",
    "RevocationState",
    "SignatureReport",
    "ValidationReport",
    "validate_pdf",
]

logger = logging.getLogger(__name__)
PemInput = str | list[str]


def _load_roots(trust_roots_pem: PemInput) -> list[asn1_x509.Certificate]:
    texts = [trust_roots_pem] if isinstance(trust_roots_pem, str) else trust_roots_pem
    certs = [c for text in texts if text.strip() for c in x509.load_pem_x509_certificates(text.encode())]
    return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certs]


def _gen_time(signed_data: cms.SignedData) -> datetime | None:
    # Read only to choose when the TSA certificate is checked; the token is verified before it counts.
    value = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    return value if isinstance(value, datetime) else None


def _material(
    revocation: RevocationMaterial | RevocationSource | None, certificate: asn1_x509.Certificate
) -> RevocationMaterial:
    if revocation is None:
        return RevocationMaterial()
    if isinstance(revocation, RevocationMaterial):
        return revocation
    return revocation.revocation_material(x509.load_der_x509_certificate(certificate.dump()))


def _context(
    roots: list[asn1_x509.Certificate],
    dss: DocumentSecurityStore | None,
    material: RevocationMaterial,
    moment: datetime | None,
    revocation_mode: str = "hard-fail",
) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": roots,
        "crls": material.crls,
        "ocsps": material.ocsps,
        "allow_fetching": False,
        "revocation_mode": revocation_mode,
        # Judge at the proven moment, using revocation info published later, so a revocation after a
        # proven signing time does not invalidate the signature (ETSI "validation in the past").
        "moment": moment,
        "retroactive_revinfo": True,
    }
    if dss is not None:
        return dss.as_validation_context(kwargs)
    return ValidationContext(**kwargs)


def _judge_token(status: TimestampSignatureStatus, claimed: datetime | None) -> TimestampCheck:
    """Say whether a verified token's time counts, and why not when it does not."""
    tsa = common_name(status.signing_cert)
    suffix = "; tanda tangan dinilai pada waktu validasi."
    if not status.intact:
        return TimestampCheck(True, False, claimed, "Cap waktu tidak cocok dengan nilai tanda tangan" + suffix, tsa)
    if not status.valid:
        return TimestampCheck(True, False, claimed, "Tanda tangan pada token cap waktu tidak valid" + suffix, tsa)
    if not status.trusted:
        _, sub = indication_of(status.trust_problem_indic)
        why = sub_label(sub) or "tidak tepercaya"
        reason = f"Cap waktu dari '{tsa}' tidak diakui: TSA tidak tepercaya ({why})" + suffix
        return TimestampCheck(True, False, claimed, reason, tsa)
    return TimestampCheck(True, True, claimed, f"Cap waktu tepercaya dari '{tsa}' pada {wib(claimed)}.", tsa)


def _check_token(
    signed_data: cms.SignedData, imprint: Any, tsa_roots: list[asn1_x509.Certificate], dss: Any, material: Any
) -> TimestampCheck:
    try:
        claimed = _gen_time(signed_data)
        # The TSA certificate must have been valid (and not revoked) at the token's own time.
        context = _context(tsa_roots, dss, material, claimed, revocation_mode="soft-fail")
        kwargs = asyncio.run(validate_tst_signed_data(signed_data, context, imprint))
        return _judge_token(TimestampSignatureStatus(**kwargs), claimed)
    except Exception as exc:  # a malformed token is reported, not raised (logged, so BLE001 allows it)
        logger.info("timestamp token cannot be checked", exc_info=True)
        return TimestampCheck(True, False, None, f"Token cap waktu rusak ({type(exc).__name__}).")


def _signature_timestamp(
    embedded: EmbeddedPdfSignature, tsa_roots: list[asn1_x509.Certificate], dss: Any, material: Any
) -> TimestampCheck:
    """Verify the signature's RFC 3161 tokens: imprint, CMS signature, TSA chain to a TSA anchor, EKU."""
    checks = [
        _check_token(sd, message_imprint_checker(embedded.signer_info), tsa_roots, dss, material)
        for sd in extract_tst_data_iter(embedded.signer_info, signed=False)
    ]
    if not checks:
        return TimestampCheck(False, False, None, "Tidak ada cap waktu pada tanda tangan (PAdES B-B).")
    return next((c for c in checks if c.trusted), checks[0])


@dataclasses.dataclass(frozen=True)
class _DocTimestamp:
    revision: int
    check: TimestampCheck
    report: SignatureReport


def _document_timestamp(
    embedded: EmbeddedPdfSignature, tsa_roots: list[asn1_x509.Certificate], dss: Any, revocation: Any, now: datetime
) -> _DocTimestamp:
    """Validate a B-LTA document timestamp like a signature timestamp, plus the bytes it covers."""
    name = str(embedded.field_name)
    try:
        claimed = _gen_time(embedded.signed_data)
        material = _material(revocation, embedded.signer_cert)
        context = _context(tsa_roots, dss, material, claimed, revocation_mode="soft-fail")
        status = validate_pdf_timestamp(embedded, validation_context=context)
    except Exception as exc:  # a broken timestamp gets a verdict, not a 500 (logged, so BLE001 allows it)
        logger.info("document timestamp %s cannot be checked", name, exc_info=True)
        failed = TimestampCheck(True, False, None, f"Cap waktu dokumen rusak ({type(exc).__name__}).")
        return _DocTimestamp(embedded.signed_revision, failed, broken(name, type(exc).__name__, "document_timestamp"))
    check = _judge_token(status, claimed)
    if not status.intact:
        check = dataclasses.replace(check, reason="Cap waktu dokumen tidak cocok dengan isi dokumen (rusak).")
    evidence = Evidence(check, check.proven_time, "cap waktu dokumen", None, _scope(embedded), now, "jangkar TSA")
    report = dataclasses.replace(assess(status, name, evidence), kind="document_timestamp", timestamped=check.trusted)
    return _DocTimestamp(embedded.signed_revision, check, report)


def _scope(embedded: EmbeddedPdfSignature) -> dict[str, Any]:
    """Which bytes and revision a signature covers."""
    reader = embedded.reader
    byte_range = [int(v) for v in embedded.byte_range]
    covered = byte_range[1] + byte_range[3]
    total = embedded.reader.stream.seek(0, io.SEEK_END)
    revisions = reader.xrefs.total_revisions
    return {
        "byte_range": byte_range,
        "covered_bytes": covered,
        "file_bytes": total,
        "signed_revision": embedded.signed_revision + 1,
        "revisions": revisions,
        "pages": int(reader.root["/Pages"]["/Count"]),
        "later_revisions": revisions - embedded.signed_revision - 1,
    }


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
        return dataclasses.replace(
            report, valid=False, verdict=COMPROMISED, indication=FAILED, sub_indication="REVOKED"
        )
    return report


def _level(check: TimestampCheck, dss: DocumentSecurityStore | None, lta: bool) -> str:
    if not check.trusted:
        return "B-B"
    if dss is None or not (list(dss.crls) or list(dss.ocsps)):
        return "B-T"
    return "B-LTA" if lta else "B-LT"


def _validate_signature(
    embedded: EmbeddedPdfSignature,
    roots: list[asn1_x509.Certificate],
    tsa_roots: list[asn1_x509.Certificate],
    dss: DocumentSecurityStore | None,
    revocation: RevocationMaterial | RevocationSource | None,
    stamps: list[_DocTimestamp],
    now: datetime,
) -> SignatureReport:
    material = _material(revocation, embedded.signer_cert)
    check = _signature_timestamp(embedded, tsa_roots, dss, material)
    # Proof of existence: the trusted signature timestamp, or a later trusted document timestamp.
    covering = [s for s in stamps if s.revision > embedded.signed_revision and s.check.trusted]
    candidates = [(t, "cap waktu tanda tangan") for t in [check.proven_time] if t is not None]
    candidates += [(s.check.proven_time, "cap waktu dokumen") for s in covering if s.check.proven_time]
    proven, proven_by = min(candidates, key=lambda c: c[0]) if candidates else (None, "")
    status = validate_pdf_signature(
        embedded,
        signer_validation_context=_context(roots, dss, material, proven),
        ts_validation_context=_context(tsa_roots, dss, material, check.claimed_time, revocation_mode="soft-fail"),
    )
    evidence = Evidence(check, proven, proven_by, _level(check, dss, bool(covering)), _scope(embedded), now, "")
    evidence = dataclasses.replace(evidence, roots_label="akar Kota Pekalongan")
    report = assess(status, str(embedded.field_name), evidence, modification=status)
    return _after_compromise(report, material, embedded, proven)


def _document_outcome(reports: list[SignatureReport]) -> tuple[str, str | None, str]:
    for main in (FAILED, INDETERMINATE):
        failing = [r for r in reports if r.indication == main]
        if failing:
            return main, failing[0].sub_indication, failing[0].verdict
    return PASSED, None, VALID


def _read(pdf_bytes: bytes) -> tuple[PdfFileReader, list[EmbeddedPdfSignature], list[EmbeddedPdfSignature], Any]:
    reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    dss = DocumentSecurityStore.read_dss(reader) if "/DSS" in reader.root else None
    return reader, list(reader.embedded_regular_signatures), list(reader.embedded_timestamp_signatures), dss


def validate_pdf(
    pdf_bytes: bytes,
    trust_roots_pem: PemInput,
    revocation: RevocationMaterial | RevocationSource | None = None,
    tsa_roots_pem: PemInput | None = None,
) -> ValidationReport:
    """Validate every signature and document timestamp of a PDF against our trust anchors, offline.

    `revocation` adds current CRLs / OCSP responses (or a source of them, e.g. the EmbeddedPSrE) to what
    the PDF itself embeds (DSS). A timestamp counts only if its TSA chains to `tsa_roots_pem` (by default
    the signers' roots: our own TSA's root). Nothing is fetched from the network.
    """
    roots = _load_roots(trust_roots_pem)
    tsa_roots = _load_roots(tsa_roots_pem) if tsa_roots_pem else roots
    now = datetime.now(UTC)
    meta: dict[str, Any] = {"validation_time": now.isoformat(), "validation_time_wib": wib(now)}
    try:
        reader, signatures, timestamps, dss = _read(pdf_bytes)
        meta.update(revisions=reader.xrefs.total_revisions, pages=int(reader.root["/Pages"]["/Count"]))
    except Exception:  # any parse failure of an uploaded file is "not a PDF" (logged, so BLE001 allows it)
        logger.info("uploaded file is not a readable PDF", exc_info=True)
        return ValidationReport(
            is_pdf=False, valid=False, verdict=NOT_A_PDF, signatures=[], sub_indication="FORMAT_FAILURE", **meta
        )
    if not signatures:
        return ValidationReport(
            is_pdf=True,
            valid=False,
            verdict=NO_SIGNATURE,
            signatures=[],
            sub_indication="SIGNED_DATA_NOT_FOUND",
            **meta,
        )
    stamps = [_document_timestamp(t, tsa_roots, dss, revocation, now) for t in timestamps]
    reports = []
    for embedded in signatures:
        try:
            reports.append(_validate_signature(embedded, roots, tsa_roots, dss, revocation, stamps, now))
        except Exception as exc:  # a malformed signature gets a verdict, not a 500 (logged, so BLE001 allows it)
            logger.info("signature %s cannot be checked", embedded.field_name, exc_info=True)
            reports.append(broken(str(embedded.field_name), type(exc).__name__))
    main, sub, verdict = _document_outcome(reports)
    return ValidationReport(
        is_pdf=True,
        valid=main == PASSED,
        verdict=verdict,
        signatures=reports,
        document_timestamps=[s.report for s in stamps],
        indication=main,
        sub_indication=sub,
        **meta,
    )
