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


# Field names of form submissions and step results, as the timeline and the dossier label them (a form field's own
# metadata label comes first where the form has one).
FIELD_LABELS = {
    "full_name": "Nama lengkap",
    "nik": "NIK",
    "nip": "NIP",
    "agency_code": "Perangkat daerah",
    "agency_name": "Perangkat daerah",
    "position": "Jabatan",
    "email": "E-mail",
    "phone": "Telepon",
    "category": "Kategori pemilik",
    "ktp_scan": "Pindaian KTP",
    "ktp_photo": "Foto KTP",
    "selfie": "Swafoto",
    "asn_proof": "Bukti status ASN",
    "appointment_proof": "SK pelantikan",
    "other_proof": "Bukti lain",
    "change_proof": "Bukti perubahan",
    "request_letter": "Surat permintaan",
    "statement_true": "Menyatakan data benar",
    "statement_forgotten": "Menyatakan lupa passphrase",
    "accept_obligations": "Menyetujui kewajiban dan larangan pemilik",
    "accepted_terms_version": "Versi teks kewajiban dan larangan",
    "accepted_terms_sha256": "SHA-256 teks kewajiban dan larangan",
    "received": "Sertifikat diterima",
    "decision": "Keputusan",
    "notes": "Catatan",
    "note": "Catatan",
    "reasons": "Alasan",
    "reason": "Alasan",
    "chronology": "Kronologi",
    "incident_date": "Tanggal kejadian",
    "statement_date": "Tanggal pernyataan",
    "certificate_serial": "Nomor seri sertifikat",
    "serial": "Nomor seri",
    "old_serial": "Nomor seri lama",
    "head_name": "Nama atasan",
    "head_nip": "NIP atasan",
    "head_position": "Jabatan atasan",
    "checked_identity": "Identitas diperiksa",
    "checked_asn": "Status ASN diperiksa",
    "checked_recommendation": "Rekomendasi diperiksa",
    "requested_by": "Diminta oleh",
    "requester_name": "Nama peminta",
    "requester_nip": "NIP peminta",
    "csr_pem": "Permintaan sertifikat (CSR)",
    "status": "Status",
    "psre_status": "Status di PSrE",
    "not_after": "Berlaku sampai",
    "invalid_from": "Tidak berlaku sejak",
    "errors": "Galat",
    "warnings": "Peringatan",
    "all_ok": "Semua sesuai",
    "ok": "Berhasil",
    "problem": "Masalah",
    "message": "Pesan",
    "subject": "Subjek",
    "kind": "Jenis",
    "fast_track": "Jalur cepat",
    "started_by": "Diajukan oleh",
    "document_id": "Dokumen",
    "filename": "Nama berkas",
    "sent": "Terkirim",
    "template": "Templat surel",
    "recipient": "Penerima",
    "locked": "Terkunci",
    "revoked": "Dicabut",
    "outcome_label": "Hasil",
    "changed": "Data yang diubah",
    "new": "Data baru",
    "applied_at": "Diterapkan pada",
    "roster_review": "Perlu ditinjau terhadap data ASN",
    "already_revoked": "Sudah dicabut sebelumnya",
    "applicant": "Pemohon",
    "archived_at": "Diarsipkan pada",
    "at": "Waktu",
    "certificates": "Sertifikat",
    "checked_at": "Diperiksa pada",
    "checks": "Pemeriksaan",
    "cover_document_id": "Sampul berkas arsip",
    "cover_sealed_by": "Sampul disegel oleh",
    "created_at": "Dibuat pada",
    "documents": "Dokumen",
    "form": "Formulir",
    "initiator": "Pengaju",
    "invalidity_date": "Tanggal kunci tidak lagi aman",
    "issued_at": "Diterbitkan pada",
    "items": "Pemeriksaan",
    "key_destroyed": "Kunci dimusnahkan",
    "key_held_by": "Kunci disimpan oleh",
    "keys_destroyed": "Kunci dimusnahkan",
    "lifted": "Kunci dibuka",
    "link_valid_days": "Tautan berlaku (hari)",
    "not_before": "Berlaku sejak",
    "outcome": "Hasil",
    "prefill": "Isian awal",
    "reason_label": "Alasan",
    "registered_at": "Didaftarkan pada",
    "renewed_at": "Diperbarui pada",
    "revoked_at": "Dicabut pada",
    "sealed_by": "Disegel oleh",
    "sent_at": "Dikirim pada",
    "serial_hex": "Nomor seri",
    "sha256": "Sidik SHA-256",
    "sha256_fingerprint": "Sidik jari SHA-256",
    "signed_by": "Ditandatangani oleh",
    "subject_id": "ID subjek di PSrE",
    "suspended": "Ditangguhkan",
    "to": "Kepada",
    "changes": "Perubahan",
    "owner_category": "Kategori pemilik",
}


def field_label(name: str) -> str:
    """The Indonesian label of a submitted or produced field (its name with spaces when it has none)."""
    return FIELD_LABELS.get(name, name.replace("_", " ").strip().capitalize())


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


# Values whose names hold a list of field names ("changed": ["full_name", ...]): read as labels.
FIELD_NAME_LISTS = ("changed", "fields")
# Stored values too long and technical to print (PEM blocks): shown as attached.
_HIDDEN_PREFIXES = ("-----BEGIN",)


def readable_value(
    name: str, value: Any, *, empty: str = "—", max_len: int = 160, names: Mapping[str, str] | None = None
) -> str:
    """One stored value as a person reads it, on a page (timeline) or in the dossier PDF.

    Codes labelled, yes/no, times in WIB, dicts and lists spelled out, PEMs "(terlampir)", long text shortened;
    `names` turns agency codes into names; `empty` is what a missing value prints (the PDF fonts lack "—").
    """
    if value is None or value == "":
        return empty
    if isinstance(value, bool):
        return "Ya" if value else "Tidak"
    label = code_label(name, value)
    if label is not None:
        return label
    if name == "agency_code" and names and isinstance(value, str):
        return names.get(value, value)

    def again(key: str, item: Any) -> str:
        return readable_value(key, item, empty=empty, max_len=max_len, names=names)

    if isinstance(value, Mapping):
        return "; ".join(f"{field_label(str(k))}: {again(str(k), v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if name in FIELD_NAME_LISTS:
            return ", ".join(field_label(str(item)) for item in value) or empty
        return ", ".join(again(name, item) for item in value) or empty
    text = str(value)
    if text.startswith(_HIDDEN_PREFIXES):
        return "(terlampir)"
    if _looks_like_time(text):
        return wib(text)
    return text if len(text) <= max_len else text[: max_len - 1] + "…"


def _looks_like_time(text: str) -> bool:
    if len(text) < 16 or text[4:5] != "-" or "T" not in text[8:12]:
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
