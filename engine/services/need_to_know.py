"""The need-to-know table (UU 27/2022): who may open which kind of case document in which state of the case.

The table below IS the rule: `queries.document_for` asks `grant` before it hands out a document (after the case
itself is visible to the person, `access.may_view_case`), `personal_data.open_document` logs the reason `grant`
gives, the page /privasi shows `rows()` read-only and docs/privacy.md carries a copy; a test walks every cell
through the API and the web download.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.models import Document, HumanTask, ProcessInstance, User, db
from engine.services import documents

# Document kinds, in the order the table shows them.
KINDS: dict[str, str] = {
    "identitas": "Dokumen identitas (pindaian/foto KTP, swafoto)",
    "unggahan": "Unggahan lain (SK, bukti ASN, surat permintaan)",
    "formulir": "Formulir bertanda tangan (pendaftaran, rekomendasi)",
    "surat": "Surat keputusan verifikasi",
    "arsip": "Berkas arsip kasus",
    "bertanda_tangan": "Dokumen bertanda tangan lain",
}

# Case states: running and waiting for a verifikator, running otherwise, ended (any outcome).
STATES: dict[str, str] = {
    "berjalan": "Berjalan (sebelum atau sesudah verifikasi)",
    "verifikasi": "Dalam verifikasi (tugas Verifikator terbuka)",
    "selesai": "Selesai (disetujui, ditolak, ditarik, kedaluwarsa)",
}

# Who reads a case document, with the purpose a download is logged under. "pemilik" is the case's applicant
# (a relation, not a role); the others are roles, used only when the person may see the case at all.
VIEWERS: dict[str, tuple[str, str]] = {
    "pemilik": ("Pemilik data (pemohon kasus)", "pemilik data"),
    "Verifikator": ("Verifikator", "verifikasi"),
    "Auditor": ("Auditor", "audit"),
    "Admin": ("Admin Otoritas Pendaftaran", "administrasi"),
    "Atasan": ("Atasan (Kepala Perangkat Daerah)", "rekomendasi atasan"),
}

_ALL = frozenset(STATES)
_RUNNING = frozenset({"berjalan", "verifikasi"})
_NEVER: frozenset[str] = frozenset()

# viewer -> document kind -> the case states in which that viewer may open it. Everything not listed is refused.
TABLE: dict[str, dict[str, frozenset[str]]] = {
    "pemilik": {kind: _ALL for kind in KINDS},
    # The verifikator checks the KTP and selfie while verifying; afterwards only the auditor's path opens them.
    "Verifikator": {
        "identitas": frozenset({"verifikasi"}),
        "unggahan": _ALL,
        "formulir": _ALL,
        "surat": _ALL,
        "arsip": _ALL,
        "bertanda_tangan": _ALL,
    },
    "Auditor": {kind: _ALL for kind in KINDS},
    # The RA's admin registers on someone's behalf and handles their requests while the case runs.
    "Admin": {
        "identitas": _RUNNING,
        "unggahan": _ALL,
        "formulir": _ALL,
        "surat": _ALL,
        "arsip": _ALL,
        "bertanda_tangan": _ALL,
    },
    # The agency head recommends from the registration, never from the KTP or the selfie.
    "Atasan": {
        "identitas": _NEVER,
        "unggahan": _ALL,
        "formulir": _ALL,
        "surat": _ALL,
        "arsip": _NEVER,
        "bertanda_tangan": _ALL,
    },
}

REFUSED = {
    "identitas": "Dokumen identitas (KTP, swafoto) hanya dapat dibuka pemiliknya, Verifikator selama verifikasi, "
    "Admin selama kasus berjalan, dan Auditor.",
}
REFUSED_DEFAULT = "Anda tidak berwenang atas dokumen ini."


def kind_of(document: Document) -> str:
    """The table's kind of a case document."""
    if documents.is_identity_document(document):
        return "identitas"
    return {"form": "formulir", "letter": "surat", "dossier": "arsip", "signed": "bertanda_tangan"}.get(
        document.kind, "unggahan"
    )


def state_of(case: ProcessInstance) -> str:
    """The table's state of a case."""
    if case.status != "running":
        return "selesai"
    waiting = db.session.execute(
        select(HumanTask.id)
        .where(HumanTask.instance_id == case.id, HumanTask.status == "open", HumanTask.role == "Verifikator")
        .limit(1)
    ).first()
    return "verifikasi" if waiting is not None else "berjalan"


def viewers_of(user: User, case: ProcessInstance) -> list[str]:
    """The table rows that apply to the user for this case, in the order a download is attributed to."""
    found = ["pemilik"] if case.applicant_id == user.id else []
    return found + [role for role in VIEWERS if role != "pemilik" and user.has_role(role)]


def grant(user: User, case: ProcessInstance, document: Document) -> str | None:
    """The purpose under which the table lets the user open the document now, or None."""
    kind, state = kind_of(document), state_of(case)
    for viewer in viewers_of(user, case):
        if state in TABLE[viewer].get(kind, _NEVER):
            return VIEWERS[viewer][1]
    return None


def refusal(document: Document) -> str:
    """Why a document is refused, in Indonesian."""
    return REFUSED.get(kind_of(document), REFUSED_DEFAULT)


@dataclass(frozen=True)
class Row:
    """One row of the table as shown: a viewer and, per kind, the states in which they may open it."""

    viewer: str
    label: str
    cells: list[list[str]]


def rows() -> list[Row]:
    """The table, for the page and the docs: per viewer and kind, the states (in STATES order) allowed."""
    return [
        Row(viewer, label, [[s for s in STATES if s in TABLE[viewer].get(kind, _NEVER)] for kind in KINDS])
        for viewer, (label, _why) in VIEWERS.items()
    ]


def markdown() -> str:
    """The table as Markdown (docs/privacy.md carries this; a test keeps the two equal)."""
    short = {"berjalan": "berjalan", "verifikasi": "verifikasi", "selesai": "selesai"}
    lines = ["| | " + " | ".join(KINDS) + " |", "|---|" + "---|" * len(KINDS)]
    for row in rows():
        cells = [
            "semua" if len(cell) == len(STATES) else (", ".join(short[s] for s in cell) if cell else "—")
            for cell in row.cells
        ]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
