"""One Indonesian label for each code the system stores (decisions, statuses, reasons, PSrE and validation codes),
and times as people read them (WIB).

Pure tables with no Flask and no database, so the web layer (engine/web/labels.py) and the handlers (through
engine.handler_api) read the same words. Diagram element ids are never here: an outcome is named by the
diagram's end event itself (ProcessInstance.outcome_label).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pki.validation_labels import MAIN_LABELS, SUB_LABELS

DECISIONS = {
    "approve": "Disetujui",
    "decline": "Tidak direkomendasikan",
    "return": "Dikembalikan untuk perbaikan",
    "reject": "Ditolak",
    "withdraw": "Ditarik pemohon",
}

CERTIFICATE_STATUSES = {
    "active": "Aktif",
    "revoked": "Dicabut",
    "superseded": "Digantikan",
    "expired": "Kedaluwarsa",
}

# The PSrE's word for a subject (BSrE's check/status API) and its answer for one certificate (CRL/OCSP).
PSRE_STATUSES = {
    "ISSUE": "Sertifikat aktif di PSrE",
    "EXPIRED": "Sertifikat kedaluwarsa di PSrE",
    "REVOKE": "Sertifikat dicabut di PSrE",
    "NOT_REGISTERED": "Belum terdaftar di PSrE",
    "NO_CERTIFICATE": "Belum memiliki sertifikat di PSrE",
    "LOCK": "Kunci eSign terkunci (LOCK)",
    "good": "Berlaku (tidak dicabut)",
    "revoked": "Dicabut",
    "unknown": "Tidak dikenal PSrE",
}

# RFC 5280 reasons an owner or the RA may give, as the revocation statement words them.
REVOCATION_REASONS = {
    "keyCompromise": "Kunci privat bocor / dicurigai bocor",
    "affiliationChanged": "Data berubah / pindah instansi",
    "cessationOfOperation": "Tidak lagi ASN / berhenti menggunakan",
    "superseded": "Digantikan oleh sertifikat baru",
    "unspecified": "Alasan lain (tidak disebutkan)",
}

CERTIFICATE_KINDS = {"ams": "AMS (kunci dipegang pemilik)", "esign": "eSign (kunci di server PSrE)"}

VALIDATION_CODES: Mapping[str, str] = {**MAIN_LABELS, **SUB_LABELS}

# Which table a stored value is read from, by the name of the field that holds it.
_BY_FIELD: dict[str, Mapping[str, str]] = {
    "decision": DECISIONS,
    "reason": REVOCATION_REASONS,
    "revocation_reason": REVOCATION_REASONS,
    "kind": CERTIFICATE_KINDS,
    "certificate_kind": CERTIFICATE_KINDS,
    "psre_status": PSRE_STATUSES,
    "indication": VALIDATION_CODES,
    "sub_indication": VALIDATION_CODES,
}
# Tried in order for any other field: a status word, a validation code.
_ANY_FIELD: tuple[Mapping[str, str], ...] = (PSRE_STATUSES, CERTIFICATE_STATUSES, VALIDATION_CODES, DECISIONS)


def code_label(field_name: str, value: Any) -> str | None:
    """The Indonesian label of a stored code held in `field_name`, or None when `value` is no known code."""
    if not isinstance(value, str):
        return None
    table = _BY_FIELD.get(field_name)
    if table is not None and value in table:
        return table[value]
    if field_name.endswith("status") or field_name in ("state", "verdict", "conclusion"):
        for table in _ANY_FIELD:
            if value in table:
                return table[value]
    return None


# Kota Pekalongan keeps Western Indonesian Time (UTC+7, no daylight saving); times are stored in UTC.
WIB = timezone(timedelta(hours=7), "WIB")


def wib(moment: datetime | str | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """Show a stored UTC time (datetime or ISO string) in WIB; '—' when there is none."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return moment
        moment = parsed
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WIB).strftime(fmt) + " WIB"
