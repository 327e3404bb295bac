"""Turn pyHanko's findings about one signature into ETSI indications, building blocks and an Indonesian verdict."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESPassed
from pyhanko.sign.validation.status import SignatureStatus

from pki.validation_labels import (
    BLOCK_LABELS,
    FAILED,
    INDETERMINATE,
    LEVEL_LABELS,
    MODIFICATION_LABELS,
    PASSED,
    sub_label,
    wib,
)
from pki.validation_report import BuildingBlock, RevocationState, SignatureReport

VALID = "Sah"
CHANGED = "Tidak sah: dokumen diubah setelah ditandatangani"
CRYPTO_FAILED = "Tidak sah: nilai tanda tangan tidak cocok dengan sertifikat penanda tangan"
REVOKED = "Tidak sah: sertifikat penanda tangan dicabut"
COMPROMISED = "Tidak sah: ditandatangani pada atau setelah tanggal kunci privat penanda tangan dilaporkan bocor"
UNTRUSTED = "Tidak dapat ditentukan: tidak berantai ke akar tepercaya Kota Pekalongan"
EXPIRED = "Tidak dapat ditentukan: sertifikat penanda tangan di luar masa berlaku pada waktu yang terbukti"
REVOCATION_UNKNOWN = "Tidak dapat ditentukan: status pencabutan sertifikat tidak dapat diperiksa"
LTA_BROKEN = "Tidak dapat ditentukan: cap waktu dokumen (B-LTA) yang melindungi tanda tangan rusak"
LTA_BROKEN_REASON = "Cap waktu dokumen sesudahnya rusak, sehingga bukti jangka panjang terputus."
DAMAGED = "Tidak dapat ditentukan: struktur berkas PDF rusak atau terpotong"
BROKEN = "Tidak dapat ditentukan: tanda tangan rusak atau tidak dapat dibaca"
NO_SIGNATURE = "Tidak ada tanda tangan"
NOT_A_PDF = "Berkas bukan PDF yang valid"


@dataclasses.dataclass(frozen=True)
class TimestampCheck:
    """The outcome of checking one RFC 3161 token: does its time count as proof of existence?"""

    present: bool
    trusted: bool
    claimed_time: datetime | None
    reason: str
    tsa_name: str | None = None

    @property
    def proven_time(self) -> datetime | None:
        """Return the token's time only when the token counts."""
        return self.claimed_time if self.trusted else None


def common_name(cert: asn1_x509.Certificate | None) -> str | None:
    """Return a certificate's common name (or its whole subject when it has none)."""
    if cert is None:
        return None
    name = cert.subject.native
    return str(name.get("common_name") or cert.subject.human_friendly)


def indication_of(subindic: Any) -> tuple[str, str | None]:
    """Map a pyHanko AdES sub-indication to the ETSI (main, sub) pair."""
    if isinstance(subindic, AdESFailure):
        return FAILED, subindic.name
    if isinstance(subindic, AdESIndeterminate):
        return INDETERMINATE, subindic.name
    if isinstance(subindic, AdESPassed):
        return PASSED, None
    return INDETERMINATE, "GENERIC"


def _block(key: str, ok: bool, reason: str) -> BuildingBlock:
    return BuildingBlock(key=key, label=BLOCK_LABELS[key], ok=ok, reason=reason)


def _chain_reason(status: SignatureStatus, trusted_roots: str) -> tuple[bool, str]:
    if status.trusted or status.revoked:
        path = status.validation_path
        anchor = path.trust_anchor.authority.name.human_friendly if path is not None else trusted_roots
        return True, f"Berantai ke akar tepercaya: {anchor}."
    _, sub = indication_of(status.trust_problem_indic)
    if sub in {"REVOCATION_OUT_OF_BOUNDS_NO_POE", "TRY_LATER"} and status.validation_path is not None:
        return True, "Rantai sertifikat ditemukan; status pencabutan yang diperlukan tidak tersedia."
    return False, f"{sub_label(sub)}."


def _revocation(status: SignatureStatus, chain_ok: bool) -> tuple[RevocationState, str]:
    if status.revoked:
        details = status.revocation_details
        when = wib(details.revocation_date) if details is not None else None
        return "revoked", f"Sertifikat dicabut{' pada ' + when if when else ''}."
    if status.trusted:
        return "good", "Sertifikat tidak dicabut pada waktu validasi (CRL/OCSP diperiksa)."
    if chain_ok:
        return "unknown", "Status pencabutan tidak dapat dipastikan dari CRL/OCSP yang tersedia."
    return "unknown", "Tidak diperiksa karena rantai sertifikat tidak valid."


def _outcome(status: SignatureStatus, modified: bool, proven: datetime | None) -> tuple[str, str | None, str]:
    """Decide (main indication, sub-indication, verdict) in the order of EN 319 102-1's building blocks."""
    if not status.intact:
        return FAILED, "HASH_FAILURE", CHANGED
    if not status.valid:
        return FAILED, "SIG_CRYPTO_FAILURE", CRYPTO_FAILED
    if modified:
        return FAILED, "HASH_FAILURE", CHANGED
    if status.revoked:
        # Judged at a proven time and still revoked then: the signature was made after revocation.
        return (FAILED, "REVOKED", REVOKED) if proven is not None else (INDETERMINATE, "REVOKED_NO_POE", REVOKED)
    if status.trusted:
        return PASSED, None, VALID
    main, sub = indication_of(status.trust_problem_indic)
    if main == PASSED:
        main, sub = INDETERMINATE, "GENERIC"
    if sub in {"NO_CERTIFICATE_CHAIN_FOUND", "CERTIFICATE_CHAIN_GENERAL_FAILURE", "CHAIN_CONSTRAINTS_FAILURE"}:
        return main, sub, UNTRUSTED
    if sub in {"EXPIRED", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "NOT_YET_VALID"}:
        return main, sub, EXPIRED
    return main, sub, REVOCATION_UNKNOWN


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What the validator found around one signature besides pyHanko's status."""

    timestamp: TimestampCheck
    proven: datetime | None
    proven_by: str
    level: str | None
    scope: dict[str, Any]
    validation_time: datetime
    roots_label: str


def assess(
    status: SignatureStatus, field_name: str, evidence: Evidence, *, modification: Any = None
) -> SignatureReport:
    """Build the report of one signature from pyHanko's status and the evidence we gathered."""
    level_name = modification.modification_level.name if modification and modification.modification_level else None
    docmdp_ok = modification.docmdp_ok if modification is not None else None
    modified = docmdp_ok is False or level_name == "OTHER"
    main, sub, verdict = _outcome(status, modified, evidence.proven)
    chain_ok, chain_reason = _chain_reason(status, evidence.roots_label)
    revocation, revocation_reason = _revocation(status, chain_ok)
    ts = evidence.timestamp
    at = (
        f"dinilai pada waktu terbukti {wib(evidence.proven)} ({evidence.proven_by})"
        if evidence.proven
        else f"dinilai pada waktu validasi {wib(evidence.validation_time)} karena tidak ada cap waktu tepercaya"
    )
    blocks = [
        _block("format", True, "Struktur PAdES/CMS dapat dibaca."),
        _block(
            "identification", status.signing_cert is not None, "Sertifikat penanda tangan ada di dalam tanda tangan."
        ),
        _block("context", True, f"Akar tepercaya: {evidence.roots_label}; {at}."),
        _block("chain", chain_ok, chain_reason),
        _block(
            "crypto",
            bool(status.intact and status.valid),
            "Cakupan byte dan nilai tanda tangan cocok."
            if status.intact and status.valid
            else ("Hash isi tidak cocok." if not status.intact else "Nilai tanda tangan tidak valid."),
        ),
        # No timestamp at all is a B-B signature, not a fault; a token that does not count is.
        _block("timestamps", ts.trusted or not ts.present, ts.reason),
        _block("revocation", revocation == "good", revocation_reason),
    ]
    if modification is not None:
        blocks.append(_block("modifications", not modified, MODIFICATION_LABELS.get(level_name or "NONE", "")))
    claimed = getattr(status, "signer_reported_dt", None)
    signing_time = evidence.proven or claimed
    scope = dict(evidence.scope, modification_label=MODIFICATION_LABELS.get(level_name or "NONE"))
    if evidence.level:
        scope["level_label"] = LEVEL_LABELS[evidence.level]
    return SignatureReport(
        field_name=field_name,
        signer_name=common_name(status.signing_cert),
        signing_time=signing_time.isoformat() if signing_time else None,
        timestamped=ts.trusted,
        chain_trusted=chain_ok,
        chain_reason="ok" if status.trusted else (sub or "unknown"),
        revocation_status=revocation,
        intact=bool(status.intact),
        coverage=modification.coverage.name if modification is not None and modification.coverage else None,
        modification_level=level_name,
        docmdp_ok=docmdp_ok,
        valid=main == PASSED,
        verdict=verdict,
        indication=main,
        sub_indication=sub,
        timestamp_reason=ts.reason,
        timestamp_time=ts.claimed_time.isoformat() if ts.claimed_time else None,
        best_proven_time=evidence.proven.isoformat() if evidence.proven else None,
        signing_time_wib=wib(signing_time),
        best_proven_time_wib=wib(evidence.proven),
        claimed_signing_time=wib(claimed),
        claimed_signing_time_iso=claimed.isoformat() if claimed else None,
        level=evidence.level if status.intact and status.valid else None,
        scope=scope,
        building_blocks=blocks,
        signer_subject=status.signing_cert.subject.human_friendly if status.signing_cert is not None else None,
        signer_issuer=status.signing_cert.issuer.human_friendly if status.signing_cert is not None else None,
        signer_certificate_digest=(
            base64.b64encode(hashlib.sha256(status.signing_cert.dump()).digest()).decode("ascii")
            if status.signing_cert is not None
            else None
        ),
    )


def broken(field_name: str, reason: str, kind: str = "signature") -> SignatureReport:
    """The report of a signature that cannot even be parsed: INDETERMINATE / FORMAT_FAILURE."""
    blocks = [_block("format", False, f"Tanda tangan tidak dapat dibaca ({reason}).")]
    return SignatureReport(
        field_name=field_name,
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
        indication=INDETERMINATE,
        sub_indication="FORMAT_FAILURE",
        timestamp_reason="Tidak diperiksa.",
        building_blocks=blocks,
        kind=kind,  # type: ignore[arg-type]
    )
