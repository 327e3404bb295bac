"""The RA's decision letters: the verifikator's decision on a case, as a PDF sealed by the RA."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.handler_api import HandlerContext, HandlerError, service_task
from handlers.common import now_iso
from handlers.form_documents import SOP_REFERENCES, applicant_rows
from handlers.form_pdf import render_form_pdf
from handlers.sealing import seal_by_ra

TITLE = "SURAT KEPUTUSAN VERIFIKASI PERMOHONAN SERTIFIKAT ELEKTRONIK"
DECISIONS = {
    "approve": "DISETUJUI: permohonan diteruskan ke PSrE",
    "return": "DIKEMBALIKAN kepada pemohon untuk diperbaiki",
    "reject": "DITOLAK",
}


@service_task("common.decision_letter")
def decision_letter(ctx: HandlerContext) -> dict[str, Any]:
    """Write the verifikator's decision (task data `verification`) as a letter sealed by the RA and keep it."""
    verdict = ctx.data.get("verification")
    if not isinstance(verdict, Mapping) or verdict.get("decision") not in DECISIONS:
        raise HandlerError("Keputusan verifikasi tidak ditemukan pada data kasus.")
    verifikator = str(ctx.actor.get("full_name") or ctx.actor.get("username") or "Verifikator")
    rows: list[tuple[str, str | None]] = [
        *applicant_rows(ctx, "Pemohon"),
        ("Keputusan", None),
        ("Keputusan Verifikator", DECISIONS[str(verdict["decision"])]),
        ("Alasan", str(verdict.get("reasons") or "-")),
        ("Diputuskan oleh", verifikator),
    ]
    pdf = render_form_pdf(
        "decision_letter",
        rows,
        title=TITLE,
        case_id=ctx.case_id,
        signer_name=verifikator,
        signer_role="Verifikator",
        statement="Keputusan ini diambil berdasarkan verifikasi identitas, keanggotaan ASN dan rekomendasi atasan "
        "sesuai kewenangan Otoritas Pendaftaran Kota Pekalongan.",
        reference=SOP_REFERENCES.get(ctx.process_key, ""),
    )
    sealed, sealed_by = seal_by_ra(ctx, pdf, f"Keputusan verifikasi kasus {ctx.case_id} oleh {verifikator}")
    round_number = ctx.idempotency_key.rsplit("/", 1)[-1]
    filename = f"keputusan-verifikasi-kasus-{ctx.case_id}-{round_number}.pdf"
    document_id = ctx.store_document(filename, "application/pdf", sealed, "letter")
    # "outcome", not "decision": the dossier lists submissions carrying a "decision" as decisions.
    return {
        "document_id": document_id,
        "filename": filename,
        "sealed_by": sealed_by,
        "outcome": verdict["decision"],
        "at": now_iso(),
    }
