"""Indonesian labels for what the UI shows: event kinds, case status and outcomes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from engine.vocabulary import (
    CERTIFICATE_STATUSES,
    DECISIONS,
    readable_value,
)
from engine.vocabulary import FIELD_LABELS as FIELD_LABELS  # the one table of field names, shared with the dossier
from engine.vocabulary import field_label as field_label
from engine.vocabulary import wib as wib  # the pages' `wib` filter: one formatting of times, shared with mails

EVENT_LABELS = {
    "case_started": "Permohonan dibuat",
    "task_claimed": "Tugas diklaim",
    "task_released": "Tugas dilepas",
    "task_completed": "Formulir dikirim",
    "step_completed": "Langkah otomatis selesai",
    "document_stored": "Dokumen disimpan",
    "document_viewed": "Dokumen dibuka",
    "document_erased": "Isi dokumen dihapus (masa retensi berakhir)",
    "certificate_recorded": "Sertifikat dicatat",
    "certificate_downloaded": "Sertifikat diunduh",
    "mail_sent": "Surel dikirim",
    "case_completed": "Kasus selesai",
    "case_withdrawn": "Permohonan ditarik pemohon",
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
    "regression_fixture_saved": "Uji regresi proses disimpan dari kasus selesai",
    "regression_fixture_deleted": "Uji regresi proses dihapus",
    "timer_fired": "Pewaktu berbunyi",
    "message_received": "Pesan diterima",
    "case_replayed": "Kasus dijalankan ulang dan diperiksa",
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

STATUS_LABELS = {"running": "Berjalan", "completed": "Selesai", "error": "Galat", "withdrawn": "Ditarik pemohon"}


def finding_label(kind: str) -> str:
    """The Indonesian description of a reconciliation finding."""
    return FINDING_LABELS.get(kind, kind)


CERTIFICATE_STATUS_LABELS = CERTIFICATE_STATUSES
DECISION_LABELS = DECISIONS


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


def value_text(name: str, value: Any, names: Mapping[str, str] | None = None) -> str:
    """One stored value as a person reads it on a page (the timeline): `vocabulary.readable_value`."""
    return readable_value(name, value, names=names)


def _is_check_list(value: Any) -> bool:
    items = value.get("items") if isinstance(value, Mapping) else None
    return isinstance(items, list) and all(isinstance(i, Mapping) and "label" in i for i in items)


def payload_rows(payload: Any, names: Mapping[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """(label, text) lines of a step's submission or result, for the timeline; never a Python dict.

    A check list (items with label, ok, message) becomes one line per check; a nested record one line per field.
    """
    if not isinstance(payload, Mapping):
        if payload not in (None, ""):
            yield ("Hasil", value_text("", payload, names))
        return
    for key, value in payload.items():
        name = str(key)
        if _is_check_list(value):
            for item in value["items"]:
                mark = (
                    "sesuai"
                    if item.get("ok")
                    else ("peringatan" if item.get("severity") == "warning" else "tidak sesuai")
                )
                yield (
                    str(item.get("label") or field_label(str(item.get("code") or ""))),
                    f"{mark}: {item.get('message') or '—'}",
                )
            continue
        if isinstance(value, Mapping) and value:
            for sub_key, sub_value in value.items():
                if _is_check_list(sub_value):
                    yield from payload_rows({sub_key: sub_value}, names)
                else:
                    yield (field_label(str(sub_key)), value_text(str(sub_key), sub_value, names))
            continue
        yield (field_label(name), value_text(name, value, names))
