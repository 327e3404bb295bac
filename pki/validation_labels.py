"""Indonesian labels of ETSI EN 319 102-1 indications, building blocks and PDF modification levels; WIB times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")

PASSED, FAILED, INDETERMINATE = "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"

# The simple layer: three outcomes a relying party can act on.
SIMPLE = {PASSED: "Sah", FAILED: "Tidak sah", INDETERMINATE: "Tidak dapat ditentukan"}

MAIN_LABELS = {
    PASSED: "Lulus seluruh pemeriksaan",
    FAILED: "Gagal: tanda tangan tidak sah",
    INDETERMINATE: "Belum dapat dipastikan",
}

SUB_LABELS = {
    "FORMAT_FAILURE": "Format tanda tangan tidak sesuai standar atau rusak",
    "HASH_FAILURE": "Isi yang ditandatangani tidak cocok lagi dengan dokumen (dokumen diubah)",
    "SIG_CRYPTO_FAILURE": "Nilai tanda tangan tidak dapat diverifikasi dengan kunci publik penanda tangan",
    "REVOKED": "Sertifikat penanda tangan dicabut sebelum waktu yang terbukti",
    "NOT_YET_VALID": "Sertifikat penanda tangan belum berlaku pada waktu penandatanganan",
    "SIG_CONSTRAINTS_FAILURE": "Tanda tangan tidak memenuhi batasan validasi",
    "CHAIN_CONSTRAINTS_FAILURE": "Rantai sertifikat tidak memenuhi batasan validasi",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "Rantai sertifikat tidak dapat divalidasi",
    "CRYPTO_CONSTRAINTS_FAILURE": "Algoritma kriptografi tidak lagi dianggap aman",
    "EXPIRED": "Sertifikat penanda tangan sudah kedaluwarsa",
    "POLICY_PROCESSING_ERROR": "Kebijakan tanda tangan tidak dapat diproses",
    "SIGNATURE_POLICY_NOT_AVAILABLE": "Kebijakan tanda tangan tidak tersedia",
    "TIMESTAMP_ORDER_FAILURE": "Urutan cap waktu tidak konsisten",
    "NO_SIGNING_CERTIFICATE_FOUND": "Sertifikat penanda tangan tidak ditemukan",
    "NO_CERTIFICATE_CHAIN_FOUND": "Tidak ada rantai sertifikat ke akar tepercaya",
    "REVOKED_NO_POE": "Sertifikat dicabut dan tidak ada bukti tanda tangan dibuat sebelum pencabutan",
    "REVOKED_CA_NO_POE": "Sertifikat CA penerbit dicabut dan tidak ada bukti waktu sebelum pencabutan",
    "OUT_OF_BOUNDS_NO_POE": "Sertifikat di luar masa berlaku dan tidak ada bukti waktu di dalam masa berlaku",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "Data pencabutan di luar masa berlaku dan tidak ada bukti waktu",
    "OUT_OF_BOUNDS_NOT_REVOKED": "Sertifikat di luar masa berlaku, tetapi tidak dicabut",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "Algoritma tidak lagi aman dan tidak ada bukti waktu sebelumnya",
    "NO_POE": "Tidak ada bukti keberadaan (cap waktu tepercaya) pada waktu yang diperlukan",
    "TRY_LATER": "Status pencabutan belum tersedia; coba lagi nanti",
    "SIGNED_DATA_NOT_FOUND": "Data yang ditandatangani tidak ditemukan",
    "GENERIC": "Tidak dapat ditentukan karena alasan lain",
}

BLOCK_LABELS = {
    "format": "Format tanda tangan (PAdES/CMS)",
    "identification": "Identifikasi sertifikat penanda tangan",
    "context": "Konteks validasi (akar tepercaya, data pencabutan, waktu)",
    "chain": "Rantai sertifikat X.509",
    "crypto": "Pemeriksaan kriptografi",
    "timestamps": "Cap waktu",
    "revocation": "Status pencabutan",
    "modifications": "Perubahan setelah ditandatangani",
}

MODIFICATION_LABELS = {
    "NONE": "Tidak ada perubahan setelah ditandatangani",
    "LTA_UPDATES": "Hanya penambahan data validasi dan cap waktu dokumen (diizinkan)",
    "FORM_FILLING": "Hanya pengisian formulir atau tanda tangan tambahan (diizinkan)",
    "ANNOTATIONS": "Penambahan anotasi",
    "OTHER": "Isi dokumen diubah pada revisi setelah ditandatangani",
}

LEVEL_LABELS = {
    "B-B": "PAdES B-B (tanda tangan dasar)",
    "B-T": "PAdES B-T (dengan cap waktu tepercaya)",
    "B-LT": "PAdES B-LT (dengan data validasi tertanam)",
    "B-LTA": "PAdES B-LTA (dengan cap waktu dokumen untuk jangka panjang)",
}


def wib(moment: datetime | None) -> str | None:
    """Return a time as Western Indonesia Time (UTC+7), e.g. '03-12-2026 19:04:05 WIB'."""
    if moment is None:
        return None
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M:%S WIB")


def sub_label(code: str | None) -> str | None:
    """Return the Indonesian label of an ETSI sub-indication (or None when there is none)."""
    return None if code is None else SUB_LABELS.get(code, code.replace("_", " ").lower())
