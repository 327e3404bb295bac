"""Which personal fields each viewer reads where: in full, masked, or not at all (UU 27/2022, docs/privacy.md).

The table below IS the rule for the applicant's personal fields (the person a case is about): `queries.case_view`
(case page, timeline, GET /api/v1/cases/<id>, the summaries on task forms), the task forms' data (web and
GET /api/v1/tasks/<id>/form), the mails a case sends and the outbox list pass their data through `shown`; the
page /privasi shows it per SOP step (`field_steps`) and docs/privacy.md carries a copy (`markdown`).

A place is where the data is read. On a task screen the viewer is the role of the step (the task's lane: the
Pemohon lane is the owner's own step), so the rule of a step follows from its form's role, never from a
diagram's element ids. Elsewhere the viewer is the person: the case's applicant reads as "Pemilik data",
anyone else through their roles (the most open of them).

NIK and NIP keep the rule of `masking` (the "identitas" row mirrors `masking.identifier_views`); birth date
and sex are not held as fields of their own: they are encoded in the NIK and NIP and protected with them.
The persons hold no address; the forms ask none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.models import HumanTask, OutboxMail, ProcessInstance, User
from engine.services import masking
from engine.services.masking import UNCHANGED, is_identifier_key, mask_email, mask_identifier, mask_phone

LENGKAP, TERSAMAR, TERSEMBUNYI = "lengkap", "tersamar", "tidak ditampilkan"
VALUES = (LENGKAP, TERSAMAR, TERSEMBUNYI)  # from most to least open
# What a hidden field shows instead of its value, on pages, in the API and in mails.
HIDDEN = "— disembunyikan (perlu-tahu)"


@dataclass(frozen=True)
class Category:
    """A kind of personal field: its label and the data keys that hold it (NIK/NIP: `masking.is_identifier_key`)."""

    label: str
    keys: frozenset[str]


CATEGORIES: dict[str, Category] = {
    "identitas": Category("NIK dan NIP (memuat tanggal lahir dan jenis kelamin)", frozenset()),
    "nama_jabatan": Category(
        "Nama, jabatan, perangkat daerah", frozenset({"full_name", "position", "agency_code", "agency_name"})
    ),
    "email": Category("E-mail dinas", frozenset({"email"})),
    "telepon": Category("Nomor telepon / HP", frozenset({"phone"})),
}

PLACES: dict[str, str] = {
    "tugas": "Layar tugas (formulir langkah SOP, web dan API)",
    "kasus": "Halaman kasus, linimasa, API kasus",
    "daftar": "Kotak masuk, daftar kasus, pencarian, kotak keluar surel",
    "surel": "Surel",
}

OWNER = "Pemilik data"
VIEWERS: tuple[str, ...] = masking.VIEWERS  # "Pemilik data", "Verifikator", "Admin", "Auditor", "Atasan"
L, T, H = LENGKAP, TERSAMAR, TERSEMBUNYI


def _row(identitas: str, nama_jabatan: str, email: str, telepon: str) -> dict[str, str]:
    return {"identitas": identitas, "nama_jabatan": nama_jabatan, "email": email, "telepon": telepon}


_ALL = _row(L, L, L, L)

# place -> viewer -> category -> lengkap / tersamar / tidak ditampilkan. The owner always reads all of their own.
TABLE: dict[str, dict[str, dict[str, str]]] = {
    "tugas": {
        OWNER: _ALL,
        # The verifikator checks every field against the KTP and the roster and calls the applicant when unsure.
        "Verifikator": _ALL,
        # The RA's admin registers and files requests on an owner's behalf: a work screen like the verification.
        "Admin": _ALL,
        # Auditors do no step of a SOP: they read cases (below), never a task screen.
        "Auditor": _row(H, H, H, H),
        # The agency head recommends a member of staff: who they are and where they work (name, position, agency),
        # the NIP and e-mail only masked to tell two people apart; how to reach them privately (phone) is not
        # needed to recommend, and the full NIK/NIP are not either.
        "Atasan": _row(T, L, T, H),
    },
    "kasus": {
        OWNER: _ALL,
        # Outside the verification step the verifikator follows the case: the office e-mail to write to, the
        # phone only masked (the full number is on the verification screen).
        "Verifikator": _row(T, L, L, T),
        # The admin is the RA's contact point for a stuck case: reaches the applicant by mail or phone.
        "Admin": _row(T, L, L, L),
        # Auditors read the record masked; the full values only through the documents on the audit path.
        "Auditor": _row(T, L, T, T),
        "Atasan": _row(T, L, T, H),
    },
    "daftar": {
        OWNER: _ALL,
        # Lists tell cases apart by name; contact data is never needed in a list.
        "Verifikator": _row(T, L, T, H),
        # The admin runs the outbox: checks delivery to the recipient's address.
        "Admin": _row(T, L, L, H),
        "Auditor": _row(T, L, T, H),
        "Atasan": _row(T, L, T, H),
    },
    "surel": {
        OWNER: _ALL,
        # A mail leaves the RA's systems: one to anyone but the owner (a team mailbox) names the person, no more.
        "Verifikator": _row(T, L, T, H),
        "Admin": _row(T, L, T, H),
        "Auditor": _row(T, L, T, H),
        "Atasan": _row(T, L, T, H),
    },
}


def rules(place: str, viewers: Iterable[str]) -> dict[str, str]:
    """Per category, the most open value the viewers get at the place (none of them: nothing is shown)."""
    columns = [TABLE[place][viewer] for viewer in viewers if viewer in TABLE[place]]
    return {
        category: min((column[category] for column in columns), key=VALUES.index, default=TERSEMBUNYI)
        for category in CATEGORIES
    }


def strictest(place: str) -> dict[str, str]:
    """Per category, the least any viewer but the owner gets at the place (a mail to a team mailbox)."""
    return {
        category: max((TABLE[place][v][category] for v in VIEWERS if v != OWNER), key=VALUES.index)
        for category in CATEGORIES
    }


def case_viewers(user: User, case: ProcessInstance) -> list[str]:
    """The table columns a person reads a case under: the owner, or their roles."""
    if case.applicant_id == user.id:
        return [OWNER]
    return role_viewers(user)


def role_viewers(user: User) -> list[str]:
    """The table columns of a person reading a list of many people's cases or mails: their roles."""
    return [viewer for viewer in VIEWERS if viewer != OWNER and user.has_role(viewer)]


def step_viewer(role: str) -> str:
    """The table column of a SOP step done by `role` (the Pemohon lane is the owner's own step)."""
    return OWNER if role == "Pemohon" else role


def task_viewers(user: User, task: HumanTask, case: ProcessInstance) -> list[str]:
    """The table columns of a task screen: the step's role, and the owner when it is their case."""
    return [OWNER] if case.applicant_id == user.id else [step_viewer(task.role)]


def own_identifiers(user: User) -> frozenset[str]:
    """The user's own NIK and NIP, shown in full wherever they appear."""
    return masking.own_identifiers(user.person.nik, user.person.nip) if user.person else frozenset()


def shown(data: Any, place: str, seen: Mapping[str, str], subject: Mapping[str, Any], own: frozenset[str]) -> Any:
    """A copy of JSON-like data as a viewer with the rules `seen` may read it at `place`.

    Fields are found by their key (`CATEGORIES`) and, in free text, by the subject's values (the case's
    applicant: their e-mail in a mail's recipient, their name in a note). NIK and NIP follow `masking`: a task
    screen that shows them in full shows every one (the verification screen), elsewhere only the viewer's own
    and, where the table says lengkap, the subject's.
    """
    if place == "tugas" and seen["identitas"] == LENGKAP:
        keep_ids: frozenset[str] | None = None
    else:
        subject_ids = frozenset(str(subject.get(k) or "") for k in ("nik", "nip")) - {""}
        keep_ids = own | (subject_ids if seen["identitas"] == LENGKAP else frozenset())
    known = _known_values(seen, subject)

    def on_item(key: str, item: Any) -> Any:
        if not isinstance(item, (str, int)) or str(item) == "":
            return UNCHANGED
        if is_identifier_key(key):
            if keep_ids is None or str(item) in keep_ids:
                return item
            return HIDDEN if seen["identitas"] == TERSEMBUNYI else mask_identifier(item)
        for category, spec in CATEGORIES.items():
            if key in spec.keys and seen[category] != LENGKAP:
                return _hidden_or_masked(category, seen[category], item)
        return UNCHANGED

    def on_text(text: str) -> str:
        if keep_ids is not None:
            text = masking.mask_text(text, keep_ids)
        for value, replacement in known:
            text = text.replace(value, replacement)
        return text

    return masking.walk(data, on_item, on_text)


@dataclass(frozen=True)
class ListedMail:
    """A mail of the outbox as a list shows it."""

    created_at: datetime
    recipient: str
    subject: str
    body: str
    instance_id: int | None
    sent_at: datetime | None
    # Set once the retention job erased the content (retention.erase_expired_mails): the hash stays.
    erased_at: datetime | None = None
    content_sha256: str | None = None


def listed_mails(mails: Iterable[OutboxMail], user: User) -> list[ListedMail]:
    """Outbox rows with the addresses in them masked where the list rule masks e-mail for the user's roles.

    Phone numbers and NIK/NIP never reach a mail to anyone but their owner (place "surel"), and mails to the
    owner are masked when rendered (`mail.render`), so the e-mail addresses are what is left to mask here.
    """
    full = rules("daftar", role_viewers(user))["email"] == LENGKAP
    shown_text = (lambda text: text) if full else masking.mask_emails_in_text
    return [
        ListedMail(
            m.created_at,
            shown_text(m.recipient),
            shown_text(m.subject),
            shown_text(m.body),
            m.instance_id,
            m.sent_at,
            m.erased_at,
            m.content_sha256,
        )
        for m in mails
    ]


def _hidden_or_masked(category: str, value: str, item: Any) -> str:
    if value == TERSEMBUNYI:
        return HIDDEN
    if category == "email":
        return mask_email(item)
    if category == "telepon":
        return mask_phone(item)
    return str(item)  # names and positions have no masked form: tersamar is never their rule


def _known_values(seen: Mapping[str, str], subject: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The subject's values to find in free text, with what replaces them; longest first."""
    found = {}
    for category, spec in CATEGORIES.items():
        if category == "identitas" or seen[category] == LENGKAP:
            continue
        for key in spec.keys:
            value = str(subject.get(key) or "").strip()
            if len(value) >= 5:  # a short value (a code) would match inside unrelated words
                found[value] = _hidden_or_masked(category, seen[category], value)
    return sorted(found.items(), key=lambda pair: -len(pair[0]))


def markdown() -> str:
    """The table as Markdown (docs/privacy.md carries this; a test keeps the two equal)."""
    lines = ["| place | category | " + " | ".join(VIEWERS) + " |", "|---|---|" + "---|" * len(VIEWERS)]
    for place, place_label in PLACES.items():
        for category, spec in CATEGORIES.items():
            cells = " | ".join(TABLE[place][viewer][category] for viewer in VIEWERS)
            lines.append(f"| {place_label} | {spec.label} | {cells} |")
    return "\n".join(lines)
