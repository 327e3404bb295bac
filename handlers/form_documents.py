"""Operator `common.form_pdf`: the signed PDF of one of the four official forms, kept in the case's documents.

Diagram use (a service task directly after the user task whose submission it renders, so the
submitter's optional eSign passphrase of the same run is still available):

    <spiffworkflow:serviceTaskOperator id="common.form_pdf" resultVariable="registration_pdf">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="form" type="str" value="'registration'" />
        <spiffworkflow:parameter id="source" type="str" value="'registration_form'" />
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>

Signing: when the submitter typed `signing_passphrase` (secret field of the form) the PDF is signed with
their own eSign key at the PSrE; a wrong passphrase, a LOCKED key or no eSign key refuses the form
(422, nothing kept). Without a passphrase the RA seals the PDF.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.handler_api import FormRefused, HandlerContext, HandlerError, Param, mask_identifier, service_task
from handlers.common import REGISTRATION_PARAM, now_iso, param, submission
from handlers.form_pdf import FORM_TITLES, SEALED_MARK, SIGNED_MARK, UNSIGNED_MARK, indonesian_date, render_form_pdf
from handlers.revocation import REASONS, REQUESTERS
from handlers.sealing import seal_by_ra
from pki.errors import LOCKED_MESSAGE, KeyLocked, KeySuspended, NoServerKey, PkiError, UnknownSubject, WrongPassphrase

SIGNING_PASSPHRASE = "signing_passphrase"
MEDIA_TYPE = "application/pdf"
DOCUMENT_KIND = "form"
SIGNING_LOCATION = "Kota Pekalongan"
# Who may file a form for someone else (the diagram's `filed_by`): the owner's agency head.
FILERS = ("owner", "agency_head")
# The file name tells a form the agency head filed (the owner's NIK/NIP masked) from the owner's: the
# need-to-know table (engine/services/need_to_know.py, PDFS) lets the head open only the former.
FILER_SUFFIX = {"agency_head": "-atasan"}
SOP_REFERENCES = {
    "issuance_ams": "SOP 088.9",
    "renewal_rekey": "SOP 088.10",
    "revocation": "SOP 088.11",
    "data_change": "SOP 088.12",
    "passphrase_lock": "SOP 088.13",
    "issuance_esign": "SOP 088.14",
}
NO_ESIGN = (
    "Anda belum memiliki sertifikat eSign yang aktif. Kosongkan kolom passphrase: formulir akan disegel "
    "Otoritas Pendaftaran."
)


@dataclass(frozen=True)
class FormContent:
    """What the PDF of one form shows besides the letterhead and title."""

    rows: list[tuple[str, str | None]]
    statement: str
    signer_name: str
    signer_role: str
    signer_id: str = ""


# ---------------------------------------------------------------- values


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def person(ctx: HandlerContext, key: str) -> str:
    """A fact about the case's applicant: the form the diagram passes as `registration` first, then the record."""
    return _text(submission(ctx, "registration").get(key)) or _text(ctx.applicant.get(key))


def agency_label(ctx: HandlerContext) -> str:
    """The applicant's agency by name (the code when the name is unknown)."""
    code = person(ctx, "agency_code")
    name = _text(ctx.applicant.get("agency_name"))
    if name and (not code or code == _text(ctx.applicant.get("agency_code"))):
        return name
    return code or name


def document_label(ctx: HandlerContext, value: Any) -> str:
    """'ktp.png (dokumen no. 5)' for an uploaded document id; '-' when there is none."""
    if value in (None, "", 0):
        return "-"
    try:
        listing = {row["id"]: row for row in ctx.documents()}
    except (HandlerError, TypeError):
        listing = {}
    row = listing.get(int(value)) if str(value).isdigit() else None
    return f"{row['filename']} (dokumen no. {value})" if row else f"Terlampir (dokumen no. {value})"


def date_label(value: Any) -> str:
    """An ISO date (YYYY-MM-DD) written the Indonesian way; anything else as given."""
    text = _text(value)
    try:
        return indonesian_date(date.fromisoformat(text[:10]))
    except ValueError:
        return text or "-"


def applicant_rows(ctx: HandlerContext, heading: str, *, masked: bool = False) -> list[tuple[str, str | None]]:
    """The applicant's identity rows under a heading; `masked`: NIK and NIP as `3375 •••• •••• 0001`.

    Masked in the PDFs whose readers do not need the full values (the agency head's forms, the decision letter:
    need_to_know.PDFS says which), at generation time, before the PDF is signed.
    """
    nik, nip = person(ctx, "nik"), person(ctx, "nip")
    return [
        (heading, None),
        ("Nama lengkap", person(ctx, "full_name")),
        ("NIK", mask_identifier(nik) if masked and nik else nik),
        ("NIP", mask_identifier(nip) if masked and nip else nip),
        ("Jabatan", person(ctx, "position")),
        ("Perangkat Daerah", agency_label(ctx)),
    ]


def nip_line(nip: str) -> str:
    return f"NIP {nip}" if nip else ""


# ---------------------------------------------------------------- the four forms


def registration_content(ctx: HandlerContext, form: Mapping[str, Any]) -> FormContent:
    """Formulir Pendaftaran Sertifikat Elektronik untuk Individu."""
    rows: list[tuple[str, str | None]] = [
        ("Data pemohon", None),
        ("Nama lengkap (sesuai KTP)", _text(form.get("full_name"))),
        ("NIK", _text(form.get("nik"))),
        ("NIP", _text(form.get("nip"))),
        ("Jabatan", _text(form.get("position"))),
        ("Perangkat Daerah", agency_label(ctx)),
        ("E-mail dinas", _text(form.get("email"))),
        ("Nomor telepon / HP", _text(form.get("phone"))),
        ("Dokumen", None),
        ("Pindaian KTP", document_label(ctx, form.get("ktp_scan"))),
        ("Bukti status ASN", document_label(ctx, form.get("asn_proof"))),
    ]
    statement = (
        "Saya yang bertanda tangan di bawah ini mengajukan pendaftaran Sertifikat Elektronik untuk individu "
        "dan menyatakan bahwa data yang saya berikan benar serta dokumen yang saya unggah sesuai dengan "
        "aslinya. Saya bersedia memenuhi kewajiban pemilik Sertifikat Elektronik sesuai Peraturan Wali Kota "
        "Pekalongan Nomor 33 Tahun 2021."
    )
    return FormContent(rows, statement, _text(form.get("full_name")), "Pemohon", nip_line(_text(form.get("nip"))))


def recommendation_content(ctx: HandlerContext, form: Mapping[str, Any]) -> FormContent:
    """Formulir Rekomendasi Permohonan Penerbitan Sertifikat Elektronik untuk Individu."""
    approve = form.get("decision") == "approve"
    # The head recommends from the registration shown masked; the full values are in the registration form.
    rows = applicant_rows(ctx, "Pegawai yang dimohonkan", masked=True)
    rows += [
        ("E-mail dinas", person(ctx, "email")),
        ("Kepala Perangkat Daerah", None),
        ("Nama", _text(form.get("head_name"))),
        ("NIP", _text(form.get("head_nip"))),
        ("Jabatan", _text(form.get("head_position"))),
        ("Rekomendasi", "Merekomendasikan" if approve else "Tidak merekomendasikan"),
        ("Catatan", _text(form.get("notes"))),
    ]
    if approve:
        statement = (
            "Yang bertanda tangan di bawah ini, selaku Kepala Perangkat Daerah, dengan ini merekomendasikan "
            "pegawai tersebut di atas untuk memperoleh Sertifikat Elektronik untuk individu dan menyatakan "
            "bahwa yang bersangkutan adalah pegawai aktif pada Perangkat Daerah yang saya pimpin."
        )
    else:
        statement = (
            "Yang bertanda tangan di bawah ini, selaku Kepala Perangkat Daerah, dengan ini tidak "
            "merekomendasikan pegawai tersebut di atas untuk memperoleh Sertifikat Elektronik, dengan alasan "
            "sebagaimana tercantum pada catatan."
        )
    return FormContent(
        rows,
        statement,
        _text(form.get("head_name")),
        _text(form.get("head_position")) or "Kepala Perangkat Daerah",
        nip_line(_text(form.get("head_nip"))),
    )


def revocation_content(ctx: HandlerContext, form: Mapping[str, Any]) -> FormContent:
    """Formulir Pernyataan Pencabutan Sertifikat Elektronik (by the owner, or by RA staff on their behalf)."""
    reason = _text(form.get("reason"))
    by_head = param(ctx, "filed_by") == "agency_head"
    # The agency head files and opens their own statement: the owner's NIK and NIP are masked there (the
    # certificate's serial number says which certificate is revoked).
    rows = applicant_rows(ctx, "Pemilik sertifikat", masked=by_head)
    rows += [
        ("Sertifikat yang dicabut", None),
        ("Nomor seri sertifikat", _text(form.get("certificate_serial"))),
        ("Alasan pencabutan", REASONS.get(reason, reason)),
        ("Tanggal kejadian", date_label(form.get("incident_date"))),
        ("Kronologi", _text(form.get("chronology"))),
    ]
    if by_head:
        return head_revocation_content(ctx, rows)
    by_staff = "requested_by" in form
    if not by_staff:
        statement = (
            "Saya yang bertanda tangan di bawah ini, pemilik Sertifikat Elektronik tersebut di atas, mengajukan "
            "pencabutan Sertifikat Elektronik saya. Saya menyatakan keterangan ini benar dan memahami bahwa "
            "pencabutan tidak dapat dibatalkan dan sertifikat yang dicabut tidak dapat digunakan lagi."
        )
        return FormContent(
            rows, statement, person(ctx, "full_name"), "Pemilik Sertifikat", nip_line(person(ctx, "nip"))
        )
    requested_by = _text(form.get("requested_by"))
    requester = REQUESTERS.get(requested_by, requested_by)
    rows += [
        ("Permintaan pencabutan", None),
        ("Diajukan oleh", requester),
        ("Nama peminta", _text(form.get("requester_name"))),
        ("NIP peminta", _text(form.get("requester_nip"))),
        ("Surat permintaan", document_label(ctx, form.get("request_letter"))),
        ("Diisi oleh petugas", _text(ctx.actor.get("full_name"))),
    ]
    statement = (
        "Pernyataan ini diisi oleh petugas Otoritas Pendaftaran Dinas Komunikasi dan Informatika Kota "
        f"Pekalongan atas nama pemilik Sertifikat Elektronik tersebut di atas, berdasarkan permintaan: {requester}. "
        "Petugas menyatakan keterangan ini benar dan memahami bahwa pencabutan tidak dapat dibatalkan."
    )
    return FormContent(rows, statement, _text(ctx.actor.get("full_name")), "Petugas Otoritas Pendaftaran")


def head_revocation_content(ctx: HandlerContext, rows: list[tuple[str, str | None]]) -> FormContent:
    """The revocation statement as the owner's agency head files it: the head is the filer and the signer."""
    head = _text(ctx.actor.get("full_name")) or _text(ctx.actor.get("username"))
    owner = person(ctx, "full_name")
    agency = agency_label(ctx)
    rows = [
        *rows,
        ("Pengaju pernyataan", None),
        ("Diajukan oleh", "Kepala Perangkat Daerah"),
        ("Nama", head),
        ("NIP", _text(ctx.actor.get("nip"))),
        ("Atas nama pemilik", owner),
    ]
    statement = (
        f"Saya yang bertanda tangan di bawah ini, selaku Kepala Perangkat Daerah {agency}, mengajukan pencabutan "
        f"Sertifikat Elektronik milik {owner}, pegawai pada Perangkat Daerah yang saya pimpin, atas nama yang "
        "bersangkutan. Saya menyatakan keterangan ini benar dan memahami bahwa pencabutan tidak dapat dibatalkan "
        "dan sertifikat yang dicabut tidak dapat digunakan lagi."
    )
    return FormContent(rows, statement, head, "Kepala Perangkat Daerah", nip_line(_text(ctx.actor.get("nip"))))


def forgotten_passphrase_content(ctx: HandlerContext, form: Mapping[str, Any]) -> FormContent:
    """Formulir Pernyataan Lupa Passphrase."""
    rows = applicant_rows(ctx, "Pemilik sertifikat")
    rows += [
        ("Sertifikat eSign", None),
        ("Nomor seri sertifikat", _text(form.get("certificate_serial"))),
        ("Tanggal pernyataan", date_label(form.get("statement_date"))),
        ("Keterangan", _text(form.get("reason"))),
        ("Pindaian KTP", document_label(ctx, form.get("ktp_scan"))),
    ]
    statement = (
        "Saya yang bertanda tangan di bawah ini menyatakan lupa passphrase Sertifikat Elektronik eSign saya "
        "atau kunci saya terkunci (LOCK) karena passphrase salah berulang kali. Saya memohon penerbitan kunci "
        "dan sertifikat baru dengan passphrase baru dan memahami bahwa sertifikat lama akan dicabut. Saya "
        "menyatakan data yang saya berikan benar dan dokumen yang saya unggah sesuai dengan aslinya."
    )
    return FormContent(rows, statement, person(ctx, "full_name"), "Pemilik Sertifikat", nip_line(person(ctx, "nip")))


BUILDERS: dict[str, Callable[[HandlerContext, Mapping[str, Any]], FormContent]] = {
    "registration": registration_content,
    "recommendation": recommendation_content,
    "revocation_statement": revocation_content,
    "forgotten_passphrase": forgotten_passphrase_content,
}


# ---------------------------------------------------------------- signing


def refused(message: str, field_message: str | None = None) -> FormRefused:
    return FormRefused(message, {SIGNING_PASSPHRASE: [field_message or message]})


def sign_as_submitter(ctx: HandlerContext, pdf: bytes, passphrase: str, title: str) -> bytes:
    """Sign with the submitter's own eSign key; a refusal by the PSrE refuses the form (422)."""
    nik = _text(ctx.actor.get("nik"))
    if not nik:
        raise refused("Akun Anda tidak memiliki NIK, sehingga tidak dapat menandatangani dengan eSign. " + NO_ESIGN)
    reason = f"Menandatangani {title.capitalize()} (kasus {ctx.case_id})"
    try:
        return bytes(ctx.psre.sign_pdf(nik, passphrase, pdf, reason, SIGNING_LOCATION, visible=True))
    except WrongPassphrase as err:
        raise refused(
            "Passphrase eSign salah; formulir belum dikirim.",
            f"Passphrase eSign salah. Sisa percobaan sebelum kunci terkunci (LOCK): {err.remaining_attempts}. "
            "Kosongkan kolom ini bila Anda tidak ingin menandatangani dengan eSign.",
        ) from None
    except KeyLocked:
        raise refused(LOCKED_MESSAGE) from None
    except KeySuspended as err:
        raise refused(str(err)) from None
    except (NoServerKey, UnknownSubject):
        raise refused(NO_ESIGN) from None
    except PkiError as err:
        raise HandlerError(f"PSrE gagal menandatangani formulir: {err}") from err


# ---------------------------------------------------------------- operator


@service_task(
    "common.form_pdf",
    params={
        "form": Param("str", doc="The official form to render.", choices=tuple(BUILDERS)),
        "submission": Param("dict", doc="The submission to render (e.g. registration_form)."),
        "registration": REGISTRATION_PARAM,
        "filed_by": Param(
            "str",
            required=False,
            doc="Who files the form when it is not the person it concerns (agency_head: the owner's agency head).",
            choices=FILERS,
        ),
    },
    results=("document_id", "signed_by", "form", "filename", "sha256", "created_at"),
)
def form_pdf(ctx: HandlerContext) -> dict[str, Any]:
    """Render the submission passed as `submission` as the official form `form`, sign it and keep it.

    Params: `form` (registration | recommendation | revocation_statement | forgotten_passphrase),
    `submission` (what was submitted), `registration` (optional: the applicant's registration form, whose
    declared data the PDF shows before the person record's). Signed with the submitter's eSign key
    when they typed `signing_passphrase`, otherwise sealed by the RA. Stored as the case document
    '<form>-kasus-<case>.pdf' ('<form>-atasan-kasus-<case>.pdf' when the agency head files it) of kind
    'form'. Result: document_id, signed_by ('owner' | 'ra_seal', or 'unsigned' when the engine has no RA
    seal, i.e. with a remote PSrE), form, filename, sha256, created_at.
    """
    form = _text(param(ctx, "form"))
    if form not in BUILDERS:
        raise HandlerError(f"Parameter 'form' tidak dikenal: '{form}' (pilihan: {', '.join(BUILDERS)}).")
    submitted = param(ctx, "submission")
    if not isinstance(submitted, Mapping):
        raise HandlerError(f"Isian formulir '{form}' tidak ditemukan pada data kasus (parameter 'submission').")
    content = BUILDERS[form](ctx, submitted)
    title = FORM_TITLES[form]

    def render(mark: str) -> bytes:
        return render_form_pdf(
            form,
            content.rows,
            statement=content.statement,
            signer_name=content.signer_name,
            signer_role=content.signer_role,
            signer_id=content.signer_id,
            case_id=ctx.case_id,
            reference=SOP_REFERENCES.get(ctx.process_key, ""),
            signature_mark=mark,
        )

    passphrase = ctx.secrets.get(SIGNING_PASSPHRASE) or ""
    if passphrase:
        # The signer named on the form is the submitter, who signs it here with their own key.
        signed, signed_by = sign_as_submitter(ctx, render(SIGNED_MARK), passphrase, title), "owner"
    else:
        submitter = _text(ctx.actor.get("full_name")) or _text(ctx.actor.get("username")) or "pengguna"
        signed, signed_by = seal_by_ra(
            ctx, render(SEALED_MARK), f"Disegel Otoritas Pendaftaran atas formulir yang dikirim oleh {submitter}"
        )
        if signed_by == "unsigned":
            signed = render(UNSIGNED_MARK)
    filename = f"{form}{FILER_SUFFIX.get(_text(param(ctx, 'filed_by')), '')}-kasus-{ctx.case_id}.pdf"
    document_id = ctx.store_document(filename, MEDIA_TYPE, signed, DOCUMENT_KIND)
    return {
        "document_id": document_id,
        "signed_by": signed_by,
        "form": form,
        "filename": filename,
        "sha256": hashlib.sha256(signed).hexdigest(),
        "created_at": now_iso(),
    }
