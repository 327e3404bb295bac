"""Validation of signed PDFs (EN 319 102-1 style, offline) into a report with Indonesian verdicts, never an exception."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import logging
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from pki import validation_timestamps
from pki.signing import RevocationMaterial, RevocationSource
from pki.validation_assess import (
    BROKEN,
    CHANGED,
    COMPROMISED,
    CRYPTO_FAILED,
    DAMAGED,
    EXPIRED,
    LTA_BROKEN,
    LTA_BROKEN_REASON,
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
)
from pki.validation_labels import FAILED, INDETERMINATE, PASSED, wib
from pki.validation_report import RevocationState, SignatureReport, ValidationReport
from pki.validation_status import pdf_signature_status

__all__ = [
    "BROKEN",
    "CHANGED",
    "COMPROMISED",
    "CRYPTO_FAILED",
    "DAMAGED",
    "EXPIRED",
    "LTA_BROKEN",
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


class _AskedOnce:
    """A revocation source asked once per certificate during one validation (its answers are signed fresh)."""

    def __init__(self, source: RevocationSource) -> None:
        self.source = source
        self.answers: dict[bytes, RevocationMaterial] = {}

    def revocation_material(self, certificate: x509.Certificate) -> RevocationMaterial:
        key = certificate.fingerprint(hashes.SHA256())
        if key not in self.answers:
            self.answers[key] = self.source.revocation_material(certificate)
        return self.answers[key]


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
    # A proven signing time in the same second as the revocation reads as "revoked": the compromise is the
    # more precise reason then.
    made_after = when is None or when >= invalid_from
    if made_after and (report.verdict == VALID or (report.verdict == REVOKED and when is not None)):
        return dataclasses.replace(
            report, valid=False, verdict=COMPROMISED, indication=FAILED, sub_indication="REVOKED"
        )
    return report


def _level(check: TimestampCheck, dss: validation_timestamps.DssData | None, lta: bool) -> str:
    if not check.trusted:
        return "B-B"
    if dss is None or not dss.has_revocation_data():
        return "B-T"
    return "B-LTA" if lta else "B-LT"


def _validate_signature(
    embedded: EmbeddedPdfSignature,
    roots: list[asn1_x509.Certificate],
    tsa_roots: list[asn1_x509.Certificate],
    dss: validation_timestamps.DssData | None,
    revocation: RevocationMaterial | RevocationSource | None,
    stamps: list[validation_timestamps.DocTimestamp],
    now: datetime,
) -> SignatureReport:
    # The signer's and the signature timestamps' TSA certificates: a source answers for each (OCSP).
    tsa_certs = validation_timestamps.token_signers(embedded.signer_info) if revocation is not None else []
    material = validation_timestamps.material_for(revocation, embedded.signer_cert, *tsa_certs)
    # Proof of existence: the trusted signature timestamp, or a later trusted document timestamp.
    covering = [s for s in stamps if s.revision > embedded.signed_revision and s.check.trusted and s.report.valid]
    poe = min((s.check.proven_time for s in covering if s.check.proven_time), default=None)
    check, token_status = validation_timestamps.signature_timestamp(embedded, tsa_roots, dss, material, poe or now)
    candidates = [(t, "cap waktu tanda tangan") for t in [check.proven_time] if t is not None]
    candidates += [(s.check.proven_time, "cap waktu dokumen") for s in covering if s.check.proven_time]
    proven, proven_by = min(candidates, key=lambda c: c[0]) if candidates else (None, "")
    # pyHanko's signature validation, with the token status we already have (not verified a second time).
    status = pdf_signature_status(
        embedded,
        validation_timestamps.validation_context(roots, dss, material, proven),
        validation_timestamps.validation_context(
            tsa_roots, dss, material, check.claimed_time, revocation_mode="soft-fail"
        ),
        token_status,
    )
    level = _level(check, dss, bool(covering))
    scope = validation_timestamps.signature_scope(embedded)
    anchors = ", ".join(filter(None, (common_name(r) for r in roots)))
    evidence = Evidence(check, proven, proven_by, level, scope, now, anchors)
    report = assess(status, str(embedded.field_name), evidence, modification=status)
    digest = hashlib.sha256(embedded.signer_info["signature"].native).digest()
    report = dataclasses.replace(report, signature_digest=base64.b64encode(digest).decode("ascii"))
    broken_stamps = [s for s in stamps if s.revision > embedded.signed_revision and s.report.indication == FAILED]
    if broken_stamps and report.indication == PASSED:
        # A corrupt link in the B-LTA evidence chain: the long-term proof cannot be completed (as pyHanko's
        # LTA validation decides too), even though the signature itself checks out today.
        report = dataclasses.replace(
            report,
            valid=False,
            verdict=LTA_BROKEN,
            indication=INDETERMINATE,
            sub_indication="NO_POE",
            level=_level(check, dss, False),
            building_blocks=[
                dataclasses.replace(b, ok=False, reason=f"{b.reason} {LTA_BROKEN_REASON}")
                if b.key == "timestamps"
                else b
                for b in report.building_blocks
            ],
        )
    return _after_compromise(report, material, embedded, proven)


def _document_timestamps(
    timestamps: list[EmbeddedPdfSignature],
    tsa_roots: list[asn1_x509.Certificate],
    dss: validation_timestamps.DssData | None,
    revocation: RevocationMaterial | RevocationSource | None,
    now: datetime,
) -> list[validation_timestamps.DocTimestamp]:
    """Check the archive timestamp chain newest first: each one is judged at the time the next one proves."""
    checked: list[validation_timestamps.DocTimestamp] = []
    judged_at = now  # nothing later proves when the newest existed: judge it now
    for embedded in sorted(timestamps, key=lambda t: t.signed_revision, reverse=True):
        stamp = validation_timestamps.document_timestamp(embedded, tsa_roots, dss, revocation, now, judged_at)
        if stamp.check.trusted and stamp.report.valid and stamp.check.proven_time is not None:
            judged_at = stamp.check.proven_time
        checked.append(stamp)
    return checked[::-1]


def _document_outcome(reports: list[SignatureReport]) -> tuple[str, str | None, str]:
    for main in (FAILED, INDETERMINATE):
        failing = [r for r in reports if r.indication == main]
        if failing:
            return main, failing[0].sub_indication, failing[0].verdict
    return PASSED, None, VALID


def _damaged(pdf_bytes: bytes) -> bool:
    """Say whether the file's structure is broken (e.g. truncated), though a lenient reader still opens it."""
    try:
        PdfFileReader(io.BytesIO(pdf_bytes), strict=True)
    except Exception:  # the strict reader's failure is the answer (logged, so BLE001 allows it)
        logger.info("PDF structure is damaged", exc_info=True)
        return True
    return False


def _read(pdf_bytes: bytes) -> tuple[PdfFileReader, list[EmbeddedPdfSignature], list[EmbeddedPdfSignature], Any]:
    reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    dss = validation_timestamps.DssData(DocumentSecurityStore.read_dss(reader)) if "/DSS" in reader.root else None
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
    if revocation is not None and not isinstance(revocation, RevocationMaterial):
        revocation = _AskedOnce(revocation)
    stamps = _document_timestamps(timestamps, tsa_roots, dss, revocation, now)
    reports = []
    for embedded in signatures:
        try:
            reports.append(_validate_signature(embedded, roots, tsa_roots, dss, revocation, stamps, now))
        except Exception as exc:  # a malformed signature gets a verdict, not a 500 (logged, so BLE001 allows it)
            logger.info("signature %s cannot be checked", embedded.field_name, exc_info=True)
            reports.append(broken(str(embedded.field_name), type(exc).__name__))
    main, sub, verdict = _document_outcome(reports)
    if main != FAILED and _damaged(pdf_bytes):
        main, sub, verdict = INDETERMINATE, "FORMAT_FAILURE", DAMAGED
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
