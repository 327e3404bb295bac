"""Indonesian labels for what the UI shows: event kinds, case status and outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

# Kota Pekalongan keeps Western Indonesian Time (UTC+7, no daylight saving); times are stored in UTC.
WIB = timezone(timedelta(hours=7), "WIB")

EVENT_LABELS = {
    "case_started": "Permohonan dibuat",
    "task_claimed": "Tugas diklaim",
    "task_released": "Tugas dilepas",
    "task_completed": "Formulir dikirim",
    "step_completed": "Langkah otomatis selesai",
    "document_stored": "Dokumen disimpan",
    "certificate_recorded": "Sertifikat dicatat",
    "certificate_downloaded": "Sertifikat diunduh",
    "mail_sent": "Surel dikirim",
    "case_completed": "Kasus selesai",
    "document_sealed": "Dokumen disegel Otoritas Pendaftaran",
    "certificate_status_changed": "Status sertifikat diubah",
    "applicant_updated": "Data pemohon diperbarui",
    "roster_updated": "Data ASN diperbarui",
    "expiry_reminder_sent": "Pengingat masa berlaku dikirim",
    "psre_outcome_adopted": "Hasil PSrE dari percobaan sebelumnya dipakai",
    "psre_outcome_superseded": "Hasil PSrE dari percobaan sebelumnya dicabut dan diganti",
    "reconciliation_repaired": "Rekonsiliasi PSrE: catatan RA diperbaiki",
    "reconciliation_open": "Rekonsiliasi PSrE: perbedaan untuk Admin",
    "reconciliation_resolved": "Rekonsiliasi PSrE: perbedaan sudah hilang",
    "case_migrated": "Kasus dipindahkan ke versi proses lain",
    "process_deployed": "Versi proses diterbitkan",
    "process_draft_saved": "Draf proses disimpan",
    "process_publish_unchanged": "Penerbitan proses tanpa perubahan",
}

# What each difference the reconciliation finds means, for the Admin page and the CLI.
FINDING_LABELS = {
    "status_followed_psre": "PSrE mencabut sertifikat yang di RA masih aktif; status RA mengikuti PSrE",
    "lock_followed_psre": "Status LOCK kunci eSign di RA disamakan dengan PSrE",
    "revoked_at_ra_only": "Di RA dicabut, di PSrE masih berlaku (RA tidak membatalkan pencabutan sendiri)",
    "key_mismatch": "Kunci publik sertifikat di RA berbeda dengan di PSrE",
    "unknown_at_ra": "PSrE menerbitkan sertifikat berlaku yang tidak dikenal RA",
    "unknown_at_psre": "RA mencatat sertifikat yang tidak dikenal PSrE",
}

STATUS_LABELS = {"running": "Berjalan", "completed": "Selesai", "error": "Galat"}


def finding_label(kind: str) -> str:
    """The Indonesian description of a reconciliation finding."""
    return FINDING_LABELS.get(kind, kind)


CERTIFICATE_STATUS_LABELS = {
    "active": "Aktif",
    "revoked": "Dicabut",
    "superseded": "Digantikan",
    "expired": "Kedaluwarsa",
}

DECISION_LABELS = {
    "approve": "Disetujui",
    "decline": "Tidak direkomendasikan",
    "return": "Dikembalikan untuk perbaikan",
    "reject": "Ditolak",
}


def event_label(kind: str) -> str:
    """The Indonesian label of an event kind."""
    return EVENT_LABELS.get(kind, kind)


def status_label(status: str, outcome_label: str | None = None) -> str:
    """The Indonesian label of a case's status, with its outcome as the diagram's end event names it.

    Outcomes are never looked up here by end-event id (no Python names a diagram element): the caller passes
    the end event's name (ProcessInstance.outcome_label, or the diagram's labels for older cases).
    """
    text = STATUS_LABELS.get(status, status)
    return f"{text} ({outcome_label})" if outcome_label else text


def duration(span: timedelta) -> str:
    """A waiting time in Indonesian words: "2 hari 3 jam", "5 jam 10 menit", "kurang dari 1 menit"."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} hari {hours} jam" if hours else f"{days} hari"
    if hours:
        return f"{hours} jam {mins} menit" if mins else f"{hours} jam"
    return f"{mins} menit" if mins else "kurang dari 1 menit"


def certificate_status_label(status: str) -> str:
    """The Indonesian label of a certificate's status in the inventory."""
    return CERTIFICATE_STATUS_LABELS.get(status, status)


def decision_label(decision: str | None) -> str:
    """The Indonesian label of a decision value."""
    return DECISION_LABELS.get(decision or "", decision or "—")


def wib(moment: datetime | str | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """Show a stored UTC time (datetime or ISO string) in WIB."""
    if moment is None or moment == "":
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WIB).strftime(fmt) + " WIB"


# The SOP number of each process key, as the Dinas's SOP documents number them.
SOP_NUMBERS = {
    "issuance_ams": "088.9",
    "renewal_rekey": "088.10",
    "revocation": "088.11",
    "data_change": "088.12",
    "passphrase_lock": "088.13",
    "issuance_esign": "088.14",
}


def sop_number(key: str) -> str:
    """The SOP number of a process key ('' for processes outside the SOP list)."""
    return SOP_NUMBERS.get(key, "")


def sop_order(key: str) -> tuple[int, str]:
    """Sort key: SOP 088.9 first, then by number; other processes last."""
    number = SOP_NUMBERS.get(key)
    return (int(number.split(".")[1]), key) if number else (999, key)
