"""The RA's decision letters: the verifikator's decision on a case, signed by the verifikator or sealed by the RA."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.handler_api import HandlerContext, HandlerError, Param, service_task
from handlers.common import now_iso, param
from handlers.form_documents import SIGNING_PASSPHRASE, SOP_REFERENCES, applicant_rows, nip_line, sign_as_submitter
from handlers.form_pdf import RA_SEALED_MARK, SIGNED_MARK, UNSIGNED_MARK, render_form_pdf
from handlers.sealing import seal_by_ra

TITLE = "SURAT KEPUTUSAN VERIFIKASI PERMOHONAN SERTIFIKAT ELEKTRONIK"
DECISIONS = {
    "approve": "DISETUJUI: permohonan diteruskan ke PSrE",
    "return": "DIKEMBALIKAN kepada pemohon untuk diperbaiki",
    "reject": "DITOLAK",
}
RA_NAME = "Otoritas Pendaftaran Kota Pekalongan"
# What the letter says about who signed it; it must match the signature actually applied.
SIGNED_BY_TEXT = {
    "verifikator": "{name} (Verifikator), dengan sertifikat eSign miliknya",
    "ra_seal": "disegel Otoritas Pendaftaran (segel elektronik), atas keputusan {name}",
    "unsigned": "tidak ditandatangani: segel Otoritas Pendaftaran tidak tersedia",
}

SIGNER_ROLES = {"verifikator": "Verifikator", "ra_seal": "Disegel", "unsigned": "Tidak ditandatangani"}
SIGNATURE_MARKS = {"verifikator": SIGNED_MARK, "ra_seal": RA_SEALED_MARK, "unsigned": UNSIGNED_MARK}


def basis_statement(has_recommendation: bool) -> str:
    """What the decision rests on: the agency head's recommendation only in SOPs that have one (088.9, 088.14)."""
    checked = "identitas dan berkas permohonan"
    if has_recommendation:
        checked = "identitas, keanggotaan ASN dan rekomendasi atasan"
    return (
        f"Keputusan ini diambil berdasarkan verifikasi {checked} sesuai kewenangan Otoritas Pendaftaran "
        "Kota Pekalongan."
    )


def render_letter(
    ctx: HandlerContext, verdict: Mapping[str, Any], verifikator: str, signed_by: str, has_recommendation: bool = False
) -> bytes:
    """The decision letter as an unsigned PDF that names truthfully who signs it (`signed_by`)."""
    rows: list[tuple[str, str | None]] = [
        # The letter goes to every reader of the case's decision (the agency head too): NIK and NIP masked.
        *applicant_rows(ctx, "Pemohon", masked=True),
        ("Keputusan", None),
        ("Keputusan Verifikator", DECISIONS[str(verdict["decision"])]),
        ("Alasan", str(verdict.get("reasons") or "-")),
        ("Diputuskan oleh", verifikator),
        ("Penandatangan", SIGNED_BY_TEXT[signed_by].format(name=verifikator)),
    ]
    by_verifikator = signed_by == "verifikator"
    return render_form_pdf(
        "decision_letter",
        rows,
        title=TITLE,
        case_id=ctx.case_id,
        signer_name=verifikator if by_verifikator else RA_NAME,
        signer_role=SIGNER_ROLES[signed_by],
        signer_id=nip_line(str(ctx.actor.get("nip") or "")) if by_verifikator else "",
        statement=basis_statement(has_recommendation),
        signature_mark=SIGNATURE_MARKS[signed_by],
        reference=SOP_REFERENCES.get(ctx.process_key, ""),
    )


@service_task(
    "common.decision_letter",
    params={
        "verdict": Param("dict", doc="The verifikator's decision: decision (approve | return | reject), reasons."),
        "has_recommendation": Param(
            "bool",
            required=False,
            doc="Whether the SOP has the agency head's recommendation (the letter cites it only then).",
        ),
    },
    results=("document_id", "filename", "sealed_by", "signed_by", "outcome", "at"),
)
def decision_letter(ctx: HandlerContext) -> dict[str, Any]:
    """Write the verifikator's decision (parameter `verdict`) as a letter and keep it.

    Signed with the verifikator's own eSign key when they typed `signing_passphrase` on the decision
    form (a wrong passphrase refuses the form, 422); otherwise sealed by the RA.
    """
    verdict = param(ctx, "verdict")
    if not isinstance(verdict, Mapping) or verdict.get("decision") not in DECISIONS:
        raise HandlerError("Keputusan verifikasi tidak ditemukan pada data kasus.")
    verifikator = str(ctx.actor.get("full_name") or ctx.actor.get("username") or "Verifikator")
    cites = param(ctx, "has_recommendation") is True
    passphrase = ctx.secrets.get(SIGNING_PASSPHRASE) or ""
    if passphrase:
        pdf = render_letter(ctx, verdict, verifikator, "verifikator", cites)
        signed, signed_by = sign_as_submitter(ctx, pdf, passphrase, "surat keputusan verifikasi"), "verifikator"
    else:
        pdf = render_letter(ctx, verdict, verifikator, "ra_seal", cites)
        signed, signed_by = seal_by_ra(ctx, pdf, f"Keputusan verifikasi kasus {ctx.case_id} oleh {verifikator}")
        if signed_by == "unsigned":
            signed = render_letter(ctx, verdict, verifikator, "unsigned", cites)
    round_number = ctx.idempotency_key.rsplit("/", 1)[-1]
    filename = f"keputusan-verifikasi-kasus-{ctx.case_id}-{round_number}.pdf"
    document_id = ctx.store_document(filename, "application/pdf", signed, "letter")
    # "outcome", not "decision": the dossier lists submissions carrying a "decision" as decisions.
    return {
        "document_id": document_id,
        "filename": filename,
        "sealed_by": signed_by,
        "signed_by": signed_by,
        "outcome": verdict["decision"],
        "at": now_iso(),
    }
