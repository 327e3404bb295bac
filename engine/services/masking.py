"""Masking NIK and NIP where the full value is not needed (UU 27/2022, docs/privacy.md).

A NIK (16 digits) and a NIP (18 digits) each encode a birth date (the NIK also the sex), so pages, lists, mails
and timelines show them as `3375 •••• •••• 0001`: the first four digits (the NIK's province and city, the NIP's
birth year) and the last four, enough to tell two people apart at a glance. The full value is shown on the
verification screen (the task forms) and to the owner only; `docs/privacy.md` has the table.

The other personal fields (phone, e-mail) have their masks here too (`mask_phone`, `mask_email`); which viewer gets
which is the field table's rule (`field_access`), applied with the same walk over JSON-like data (`walk`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
# A NIK or NIP inside free text: 16 or 18 digits not part of a longer number. A run of 32 or more hex digits (a
# certificate serial, a fingerprint, a hash) is left whole: its first 16 may be decimal digits by chance.
_IDENTIFIER_IN_TEXT = re.compile(
    r"(?:(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f]))|(?<!\d)(?P<id>\d{18}|\d{16})(?!\d)"
)


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
    """Free text with every 16- or 18-digit number in it masked (but those in `keep`; hex runs stay whole)."""
    return _IDENTIFIER_IN_TEXT.sub(lambda m: _masked_match(m, keep), text)


def _masked_match(match: re.Match[str], keep: frozenset[str]) -> str:
    found = match.group("id")
    if found is None or found in keep:
        return match.group(0)
    return mask_identifier(found)


def mask_personal(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of JSON-like data with every NIK and NIP masked: values under nik/nip keys and numbers in text.

    `keep` holds the values shown in full anyway: the viewer's own NIK and NIP.
    """
    return walk(value, lambda key, item: _masked_identifier(key, item, keep), lambda text: mask_text(text, keep))


# What a rule does to one keyed item: a replacement, or UNCHANGED to go on walking into it.
UNCHANGED: Any = object()


def walk(value: Any, on_item: Callable[[str, Any], Any], on_text: Callable[[str], str]) -> Any:
    """A copy of JSON-like data rewritten by two rules: `on_item(key, item)` for each keyed item (UNCHANGED to
    walk on into it) and `on_text(text)` for every other string. Every masking here is a pair of such rules."""
    if isinstance(value, dict):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            replaced = on_item(key, item) if isinstance(key, str) else UNCHANGED
            result[key] = walk(item, on_item, on_text) if replaced is UNCHANGED else replaced
        return result
    if isinstance(value, list):
        return [walk(item, on_item, on_text) for item in value]
    if isinstance(value, str):
        return on_text(value)
    return value


def is_identifier_key(key: str) -> bool:
    """Tell whether a data key holds a NIK or NIP (nik, nip, head_nip, requester_nip…)."""
    return bool(_IDENTIFIER_KEY.search(key))


def _masked_identifier(key: str, item: Any, keep: frozenset[str]) -> Any:
    if is_identifier_key(key) and isinstance(item, (str, int)) and str(item) != "":
        return item if str(item) in keep else mask_identifier(item)
    return UNCHANGED


def mask_phone(value: Any) -> str:
    """A phone number with only its first and last four digits: `0812 •••• 5678`."""
    digits = re.sub(r"\D", "", str(value or ""))
    if len(digits) <= 8:
        return BULLET * len(digits)
    return f"{digits[:4]} {BULLET * 4} {digits[-4:]}"


_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def mask_emails_in_text(text: str) -> str:
    """Free text with every e-mail address in it masked."""
    return _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), text)


def mask_email(value: Any) -> str:
    """An e-mail address with only the first two letters of its name and its domain: `bu•••@semarangkota.go.id`."""
    name, at, domain = str(value or "").partition("@")
    if not at:
        return BULLET * 3
    return f"{name[:2]}{BULLET * 3}@{domain}"


def own_identifiers(nik: str | None, nip: str | None) -> frozenset[str]:
    """The values a person sees in full wherever they appear: their own NIK and NIP."""
    return frozenset(v for v in (nik, nip) if v)
