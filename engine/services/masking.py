"""Masking NIK and NIP where the full value is not needed (UU 27/2022, docs/privacy.md).

A NIK (16 digits) and a NIP (18 digits) each encode a birth date (the NIK also the sex), so pages, lists, mails
and timelines show them as `3375 •••• •••• 0001`: the first four digits (the NIK's province and city, the NIP's
birth year) and the last four, enough to tell two people apart at a glance. The full value is shown on the
verification screen (the task forms) and to the owner only; `docs/privacy.md` has the table.
"""

from __future__ import annotations

import re
from typing import Any

BULLET = "•"
# Roles whose task forms are work screens that need the full values: the verifikator checks them against the
# KTP (the verification screen), the RA's admin records requests on an owner's behalf. The owner's own forms
# show them too; every other task form (the agency head's recommendation) shows them masked.
FULL_VALUE_TASK_ROLES = frozenset({"Verifikator", "Admin"})
# Where a NIK or NIP is read, and by whom in full ("lengkap") or masked ("tersamar"); "—" where that viewer has
# no such screen. The page /privasi shows it; the task-screen row follows FULL_VALUE_TASK_ROLES.
VIEWERS = ("Pemilik data", "Verifikator", "Admin", "Auditor", "Atasan")


def identifier_views() -> list[tuple[str, dict[str, str]]]:
    """The NIK/NIP part of the need-to-know table: place -> viewer -> lengkap / tersamar / —."""
    masked = {viewer: "tersamar" for viewer in VIEWERS} | {"Pemilik data": "lengkap"}
    task_screen = {
        viewer: "lengkap" if viewer in FULL_VALUE_TASK_ROLES or viewer == "Pemilik data" else "tersamar"
        for viewer in VIEWERS
    } | {"Auditor": "—"}
    return [
        ("Layar kerja tugas (antara lain layar verifikasi)", task_screen),
        ("Kotak masuk, daftar kasus, pencarian", masked),
        ("Halaman kasus dan linimasa", masked),
        ("Surel", masked),
    ]


# Keys of submitted data and events that hold a NIK or NIP (nik, nip, head_nip, requester_nip…).
_IDENTIFIER_KEY = re.compile(r"(^|_)(nik|nip)$")
# A NIK or NIP inside free text: 16 or 18 digits not part of a longer number.
_IDENTIFIER_IN_TEXT = re.compile(r"(?<!\d)(\d{18}|\d{16})(?!\d)")


def mask_identifier(value: Any) -> str:
    """A NIK or NIP with only its first and last four digits: `3375 •••• •••• 0001`, `1990 •••• •••• •• 1001`."""
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) <= 8:
        return BULLET * len(text)
    middle = len(text) - 8
    groups = [BULLET * 4] * (middle // 4) + ([BULLET * (middle % 4)] if middle % 4 else [])
    return " ".join([text[:4], *groups, text[-4:]])


def mask_text(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Free text with every 16- or 18-digit number in it masked (but those in `keep`)."""
    return _IDENTIFIER_IN_TEXT.sub(lambda m: m.group(1) if m.group(1) in keep else mask_identifier(m.group(1)), text)


def mask_personal(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of JSON-like data with every NIK and NIP masked: values under nik/nip keys and numbers in text.

    `keep` holds the values shown in full anyway: the viewer's own NIK and NIP.
    """
    if isinstance(value, dict):
        return {key: _masked_item(key, item, keep) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_personal(item, keep) for item in value]
    if isinstance(value, str):
        return mask_text(value, keep)
    return value


def _masked_item(key: Any, item: Any, keep: frozenset[str]) -> Any:
    if isinstance(key, str) and _IDENTIFIER_KEY.search(key) and isinstance(item, (str, int)) and str(item) != "":
        return item if str(item) in keep else mask_identifier(item)
    return mask_personal(item, keep)


def own_identifiers(nik: str | None, nip: str | None) -> frozenset[str]:
    """The values a person sees in full wherever they appear: their own NIK and NIP."""
    return frozenset(v for v in (nik, nip) if v)
