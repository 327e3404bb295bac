"""Proof of existence for validation: RFC 3161 tokens and document timestamps, checked before their time counts."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
from collections.abc import Callable
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from asn1crypto import cms, crl, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.decode_limits import DecodePurpose
from pyhanko.sign.general import extract_certificate_info
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter, message_imprint_checker, validate_tst_signed_data
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from pki.signing import RevocationMaterial, RevocationSource
from pki.validation_assess import (
    EXPIRED,
    REVOCATION_UNKNOWN,
    Evidence,
    TimestampCheck,
    assess,
    broken,
    common_name,
    indication_of,
)
from pki.validation_labels import INDETERMINATE, sub_label, wib
from pki.validation_report import SignatureReport

logger = logging.getLogger(__name__)
# A TSA's chain must have known revocation status (CRL or OCSP, embedded or given) for its token to count.
TSA_REVOCATION_MODE = "require"
REVOCATION_UNKNOWN_REASON = (
    "Cap waktu dari '{tsa}' tidak diakui: status pencabutan sertifikat TSA tidak diketahui (tidak ada CRL/OCSP"
    " untuknya di dalam dokumen maupun dari sumber validasi)"
)


def gen_time(signed_data: cms.SignedData) -> datetime | None:
    # Read only to choose when the TSA certificate is checked; the token is verified before it counts.
    value = signed_data["encap_content_info"]["content"].parsed["gen_time"].native
    return value if isinstance(value, datetime) else None


class DssData:
    """What a PDF's Document Security Store holds, parsed once per validation (not once per context).

    Parsed on first use, so a damaged DSS fails where each signature or timestamp is checked (and gets
    its verdict there), not while the file is opened.
    """

    def __init__(self, dss: DocumentSecurityStore) -> None:
        """Keep the DSS; nothing is decoded yet."""
        self._dss = dss

    @cached_property
    def certs(self) -> list[asn1_x509.Certificate]:
        """The DSS's certificates."""
        return list(self._dss.load_certs())

    @cached_property
    def crls(self) -> list[crl.CertificateList]:
        """The DSS's CRLs."""
        return [crl.CertificateList.load(r.get_object().read_data(DecodePurpose.CRL)) for r in self._dss.crls]

    @cached_property
    def ocsps(self) -> list[ocsp.OCSPResponse]:
        """The DSS's OCSP responses."""
        return [ocsp.OCSPResponse.load(r.get_object().read_data(DecodePurpose.OCSP_RESPONSE)) for r in self._dss.ocsps]

    def has_revocation_data(self) -> bool:
        """Tell whether the DSS holds any CRL or OCSP response."""
        return bool(list(self._dss.crls) or list(self._dss.ocsps))


@lru_cache(maxsize=16)
def _parsed_crl(der: bytes) -> crl.CertificateList:
    # The same CRLs come back from a revocation source for every signature and timestamp of a document.
    return crl.CertificateList.load(der)


@lru_cache(maxsize=64)
def _parsed_ocsp(der: bytes) -> ocsp.OCSPResponse:
    return ocsp.OCSPResponse.load(der)


def material_for(
    revocation: RevocationMaterial | RevocationSource | None, *certificates: asn1_x509.Certificate
) -> RevocationMaterial:
    """The revocation material to use for these certificates: as given, or asked of the source for each."""
    if revocation is None:
        return RevocationMaterial()
    if isinstance(revocation, RevocationMaterial):
        return revocation
    crls: list[bytes] = []
    ocsps: list[bytes] = []
    for certificate in certificates:
        found = revocation.revocation_material(x509.load_der_x509_certificate(certificate.dump()))
        crls += [der for der in found.crls if der not in crls]
        ocsps += [der for der in found.ocsps if der not in ocsps]
    return RevocationMaterial(crls=crls, ocsps=ocsps)


def token_signers(signer_info: cms.SignerInfo) -> list[asn1_x509.Certificate]:
    """The TSA certificates of a signature's RFC 3161 tokens (those that can be read)."""
    found = []
    for signed_data in extract_tst_data_iter(signer_info, signed=False):
        try:
            signer = extract_certificate_info(signed_data).signer_cert
        except Exception:  # a malformed token is judged later, where it is verified (BLE001: logged)
            logger.info("timestamp token has no readable signer certificate", exc_info=True)
            continue
        found.append(signer)
    return found


def validation_context(
    roots: list[asn1_x509.Certificate],
    dss: DssData | None,
    material: RevocationMaterial,
    moment: datetime | None,
    revocation_mode: str = "hard-fail",
) -> ValidationContext:
    """An offline context: the anchors, the DSS's data (parsed once) and the given revocation material."""
    crls = [_parsed_crl(der) for der in material.crls] + (dss.crls if dss is not None else [])
    ocsps = [_parsed_ocsp(der) for der in material.ocsps] + (dss.ocsps if dss is not None else [])
    kwargs: dict[str, Any] = {
        "trust_roots": roots,
        "other_certs": dss.certs if dss is not None else [],
        "crls": crls,
        "ocsps": ocsps,
        "allow_fetching": False,
        "revocation_mode": revocation_mode,
        # Judge at the proven moment, using revocation info published later, so a revocation after a
        # proven signing time does not invalidate the signature (ETSI "validation in the past").
        "moment": moment,
        "retroactive_revinfo": True,
    }
    return ValidationContext(**kwargs)


def _tsa_status(
    validate: Callable[[str], TimestampSignatureStatus],
) -> tuple[TimestampSignatureStatus, bool]:
    """Validate a token with revocation data required for its TSA chain; say whether only that was missing.

    pyHanko reports missing revocation data as a general chain failure, so a token that fails that way is
    checked once more without the requirement: if it passes then, its TSA's revocation status is unknown.
    """
    status = validate(TSA_REVOCATION_MODE)
    if status.trusted or status.revoked or not (status.intact and status.valid) or status.validation_path is None:
        return status, False
    _, sub = indication_of(status.trust_problem_indic)
    if sub not in {"CERTIFICATE_CHAIN_GENERAL_FAILURE", "TRY_LATER"}:
        return status, False
    return status, validate("soft-fail").trusted


def _judge_token(
    status: TimestampSignatureStatus, claimed: datetime | None, revocation_unknown: bool = False
) -> TimestampCheck:
    """Say whether a verified token's time counts, and why not when it does not."""
    tsa = common_name(status.signing_cert)
    suffix = "; tanda tangan dinilai pada waktu validasi."
    if revocation_unknown:
        # ETSI EN 319 102-1: a token is proof of existence only if its TSA certificate's status is known.
        return TimestampCheck(True, False, claimed, REVOCATION_UNKNOWN_REASON.format(tsa=tsa) + suffix, tsa)
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


def _outlived(check: TimestampCheck, status: TimestampSignatureStatus, judged_at: datetime) -> TimestampCheck:
    """Withdraw a token's time when its TSA certificate expired before anything later proves the token existed.

    A token cannot vouch for its own time: once the TSA certificate has expired, a leaked TSA key could
    backdate anything. Only a newer archive timestamp (made while it was valid) keeps it provable.
    """
    if not check.trusted or status.signing_cert is None:
        return check
    expiry = status.signing_cert["tbs_certificate"]["validity"]["not_after"].native
    if expiry >= judged_at:
        return check
    reason = (
        f"Sertifikat TSA '{check.tsa_name}' kedaluwarsa pada {wib(expiry)} dan tidak ada cap waktu arsip yang lebih"
        " baru sebelum itu; cap waktu ini tidak lagi membuktikan waktunya."
    )
    return dataclasses.replace(check, trusted=False, reason=reason)


def _check_token(
    signed_data: cms.SignedData,
    imprint: Any,
    tsa_roots: list[asn1_x509.Certificate],
    dss: Any,
    material: Any,
    judged_at: datetime,
) -> tuple[TimestampCheck, TimestampSignatureStatus | None]:
    try:
        claimed = gen_time(signed_data)
        # The TSA certificate must have been valid (and not revoked) at the token's own time.

        def validate(mode: str) -> TimestampSignatureStatus:
            context = validation_context(tsa_roots, dss, material, claimed, revocation_mode=mode)
            return TimestampSignatureStatus(**asyncio.run(validate_tst_signed_data(signed_data, context, imprint)))

        status, revocation_unknown = _tsa_status(validate)
        return _outlived(_judge_token(status, claimed, revocation_unknown), status, judged_at), status
    except Exception as exc:  # a malformed token is reported, not raised (logged, so BLE001 allows it)
        logger.info("timestamp token cannot be checked", exc_info=True)
        return TimestampCheck(True, False, None, f"Token cap waktu rusak ({type(exc).__name__})."), None


def signature_timestamp(
    embedded: EmbeddedPdfSignature,
    tsa_roots: list[asn1_x509.Certificate],
    dss: Any,
    material: Any,
    judged_at: datetime,
) -> tuple[TimestampCheck, TimestampSignatureStatus | None]:
    """Verify the signature's RFC 3161 tokens: imprint, CMS signature, TSA chain to a TSA anchor, EKU.

    `judged_at` is when the tokens are proven to exist (a later document timestamp), else now. Returns the
    check that decides and the token's pyHanko status (None without a token or when it cannot be read).
    """
    checks = []
    for signed_data in extract_tst_data_iter(embedded.signer_info, signed=False):
        checks.append(
            _check_token(
                signed_data, message_imprint_checker(embedded.signer_info), tsa_roots, dss, material, judged_at
            )
        )
        if checks[-1][0].trusted:
            return checks[-1]
    if not checks:
        return TimestampCheck(False, False, None, "Tidak ada cap waktu pada tanda tangan (PAdES B-B)."), None
    return checks[0]


@dataclasses.dataclass(frozen=True)
class DocTimestamp:
    revision: int
    check: TimestampCheck
    report: SignatureReport


def document_timestamp(
    embedded: EmbeddedPdfSignature,
    tsa_roots: list[asn1_x509.Certificate],
    dss: Any,
    revocation: Any,
    now: datetime,
    judged_at: datetime,
) -> DocTimestamp:
    """Validate a B-LTA document timestamp like a signature timestamp, plus the bytes it covers.

    `judged_at` is when it is proven to exist (the next trusted document timestamp), else now: the newest
    archive timestamp proves nothing once its TSA certificate has expired, which is why archives are renewed.
    """
    name = str(embedded.field_name)
    try:
        claimed = gen_time(embedded.signed_data)
        material = material_for(revocation, embedded.signer_cert)

        def validate(mode: str) -> TimestampSignatureStatus:
            context = validation_context(tsa_roots, dss, material, claimed, revocation_mode=mode)
            return validate_pdf_timestamp(embedded, validation_context=context)

        status, revocation_unknown = _tsa_status(validate)
    except Exception as exc:  # a broken timestamp gets a verdict, not a 500 (logged, so BLE001 allows it)
        logger.info("document timestamp %s cannot be checked", name, exc_info=True)
        failed = TimestampCheck(True, False, None, f"Cap waktu dokumen rusak ({type(exc).__name__}).")
        return DocTimestamp(embedded.signed_revision, failed, broken(name, type(exc).__name__, "document_timestamp"))
    judged = _judge_token(status, claimed, revocation_unknown)
    check = _outlived(judged, status, judged_at)
    if not status.intact:
        check = dataclasses.replace(check, reason="Cap waktu dokumen tidak cocok dengan isi dokumen (rusak).")
    anchors = ", ".join(filter(None, (common_name(r) for r in tsa_roots)))
    evidence = Evidence(check, check.proven_time, "cap waktu dokumen", None, signature_scope(embedded), now, anchors)
    report = dataclasses.replace(assess(status, name, evidence), kind="document_timestamp", timestamped=check.trusted)
    if revocation_unknown:
        report = dataclasses.replace(
            report, valid=False, verdict=REVOCATION_UNKNOWN, indication=INDETERMINATE, sub_indication="TRY_LATER"
        )
    if judged.trusted and not check.trusted and report.valid:
        report = dataclasses.replace(
            report, valid=False, verdict=EXPIRED, indication=INDETERMINATE, sub_indication="OUT_OF_BOUNDS_NO_POE"
        )
    return DocTimestamp(embedded.signed_revision, check, report)


def signature_scope(embedded: EmbeddedPdfSignature) -> dict[str, Any]:
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
