"""The need-to-know table (UU 27/2022): who may open which kind of case document in which state of the case.

The table below IS the rule: `queries.document_for` asks `grant` before it hands out a document (after the case
itself is visible to the person, `access.may_view_case`), `personal_data.open_document` logs the reason `grant`
gives, the page /privasi shows `rows()` read-only and docs/privacy.md carries a copy; a test walks every cell
through the API and the web download.

PDFS says, for every PDF the SOPs generate, whose NIK/NIP it carries in full and why; with the table it is the rule
that no viewer opens a PDF holding someone else's full NIK/NIP unless they need it (docs/privacy.md).
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
    "formulir": "Formulir bertanda tangan yang memuat NIK/NIP pemohon (pendaftaran, pencabutan, lupa passphrase)",
    "formulir_atasan": "Formulir yang diajukan atasan (rekomendasi, pencabutan oleh atasan; NIK/NIP pemohon tersamar)",
    "surat": "Surat keputusan verifikasi (NIK/NIP pemohon tersamar)",
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
        "formulir_atasan": _ALL,
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
        "formulir_atasan": _ALL,
        "surat": _ALL,
        "arsip": _ALL,
        "bertanda_tangan": _ALL,
    },
    # The agency head recommends from the registration as the task screen shows it (NIK/NIP masked), never from
    # the KTP or the selfie, and opens only the PDFs that carry no one's full NIK/NIP but their own (PDFS below):
    # the forms they filed and the decision letter. Other signed documents may carry anything: refused.
    "Atasan": {
        "identitas": _NEVER,
        "unggahan": _ALL,
        "formulir": _NEVER,
        "formulir_atasan": _ALL,
        "surat": _ALL,
        "arsip": _NEVER,
        "bertanda_tangan": _NEVER,
    },
}

REFUSED = {
    "identitas": "Dokumen identitas (KTP, swafoto) hanya dapat dibuka pemiliknya, Verifikator selama verifikasi, "
    "Admin selama kasus berjalan, dan Auditor.",
    "formulir": "Formulir ini memuat NIK dan NIP pemohon secara lengkap; hanya pemiliknya, Verifikator, Admin, "
    "dan Auditor yang dapat membukanya.",
    "arsip": "Berkas arsip kasus memuat NIK dan NIP secara lengkap; hanya pemiliknya, Verifikator, Admin, "
    "dan Auditor yang dapat membukanya.",
}
REFUSED_DEFAULT = "Anda tidak berwenang atas dokumen ini."


# ---------------------------------------------------------------- the generated PDFs

# Whose NIK/NIP a generated PDF may carry in full, as the table names them.
PERSONS: dict[str, str] = {
    "pemohon": "pemohon / pemilik sertifikat",
    "atasan": "atasan (Kepala Perangkat Daerah)",
    "verifikator": "Verifikator",
    "peminta": "peminta pencabutan",
}


@dataclass(frozen=True)
class Carried:
    """A person's identifiers a PDF carries in full, and why they must be in full there."""

    whose: str  # a key of PERSONS
    identifiers: str  # "NIK, NIP" or "NIP"
    why: str


@dataclass(frozen=True)
class GeneratedPdf:
    """A PDF the SOPs generate (and sign or seal, so it cannot be masked afterwards): what it carries in full.

    Everyone the table above lets open its `kind` reads what it carries in full; the generator masks the rest
    before signing (`masked`). A form PDF's kind is told by its file name (`prefix`).
    """

    name: str
    prefix: str
    kind: str
    full: tuple[Carried, ...]
    masked: str = ""


_OWN_STATEMENT = "pernyataan bertanda tangan pemohon, seperti formulir kertas; Verifikator mencocokkannya dengan KTP"
_SIGNER = "pejabat penanda tangan, dengan nama dan NIP di blok tanda tangan menurut tata naskah dinas"

# Every PDF the handlers generate (handlers/form_documents.py, letters.py, common.py's dossier cover). The
# Atasan opens none that carries the applicant's full NIK/NIP (a test checks the two tables agree).
PDFS: tuple[GeneratedPdf, ...] = (
    GeneratedPdf(
        "Formulir pendaftaran (SOP 088.9, 088.14)",
        "registration-kasus-",
        "formulir",
        (Carried("pemohon", "NIK, NIP", _OWN_STATEMENT),),
    ),
    GeneratedPdf(
        "Pernyataan lupa passphrase (SOP 088.13)",
        "forgotten_passphrase-kasus-",
        "formulir",
        (Carried("pemohon", "NIK, NIP", _OWN_STATEMENT),),
    ),
    GeneratedPdf(
        "Pernyataan pencabutan oleh pemilik atau petugas (SOP 088.11)",
        "revocation_statement-kasus-",
        "formulir",
        (
            Carried("pemohon", "NIK, NIP", "pernyataan pemilik sertifikat atau petugas atas namanya"),
            Carried("peminta", "NIP", "pejabat yang meminta pencabutan, dicocokkan dengan surat permintaannya"),
        ),
    ),
    GeneratedPdf(
        "Formulir rekomendasi (SOP 088.9, 088.14)",
        "recommendation-kasus-",
        "formulir_atasan",
        (Carried("atasan", "NIP", _SIGNER),),
        "NIK dan NIP pegawai; nilai lengkapnya ada di formulir pendaftaran",
    ),
    GeneratedPdf(
        "Pernyataan pencabutan oleh atasan (SOP 088.11)",
        "revocation_statement-atasan-kasus-",
        "formulir_atasan",
        (Carried("atasan", "NIP", _SIGNER),),
        "NIK dan NIP pemilik; nomor seri menunjuk sertifikatnya",
    ),
    GeneratedPdf(
        "Surat keputusan verifikasi",
        "keputusan-verifikasi-kasus-",
        "surat",
        (Carried("verifikator", "NIP", _SIGNER + ", bila Verifikator menandatanganinya sendiri"),),
        "NIK dan NIP pemohon",
    ),
    GeneratedPdf(
        "Sampul berkas arsip, juga manifes JSON-nya",
        "berkas-kasus-",
        "arsip",
        (
            Carried("pemohon", "NIK", "menunjuk pemohon yang diputus dalam arsip kasus"),
            Carried("atasan", "NIP", "keputusan rekomendasi sebagaimana diambil"),
            Carried("peminta", "NIP", "permintaan pencabutan sebagaimana diajukan"),
        ),
    ),
)


def pdf_readers(pdf: GeneratedPdf) -> list[str]:
    """The viewers (VIEWERS keys) who may open the PDF in some state of its case: they read what it carries."""
    return [viewer for viewer in VIEWERS if TABLE[viewer].get(pdf.kind, _NEVER)]


def pdf_markdown() -> str:
    """The PDF table as Markdown (docs/privacy.md carries it; a test keeps the two equal)."""
    lines = ["| PDF | jenis | lengkap di dalamnya: mengapa | tersamar | dibuka oleh |", "|---|---|---|---|---|"]
    for pdf in PDFS:
        full = "; ".join(f"{c.identifiers} {PERSONS[c.whose]}: {c.why}" for c in pdf.full) or "—"
        readers = ", ".join(VIEWERS[v][0] for v in pdf_readers(pdf))
        lines.append(f"| {pdf.name} | {pdf.kind} | {full} | {pdf.masked or '—'} | {readers} |")
    return "\n".join(lines)


def kind_of(document: Document) -> str:
    """The table's kind of a case document (a form PDF by its file name, PDFS: unknown names are "formulir")."""
    if documents.is_identity_document(document):
        return "identitas"
    if document.unmasked_identifiers:  # generated before the masking (migration 0006_pdfs): full NIK/NIP
        return "formulir"
    if document.kind == "form":
        return next((pdf.kind for pdf in PDFS if document.filename.startswith(pdf.prefix)), "formulir")
    return {"letter": "surat", "dossier": "arsip", "signed": "bertanda_tangan"}.get(document.kind, "unggahan")


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
