"""Service-task operators shared by every SOP: notices, PSrE registration and issuance, archiving."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from engine.handler_api import (
    HandlerContext,
    HandlerError,
    Param,
    code_label,
    field_label,
    readable_value,
    service_task,
)
from handlers.form_pdf import RA_SEALED_MARK, render_form_pdf
from handlers.psre_retry import issue_once
from handlers.sealing import seal_by_ra
from pki.errors import (
    ActiveKeyExists,
    IdempotencyConflict,
    InvalidCsr,
    KeyReused,
    PkiError,
    UnknownSubject,
    UnsupportedKey,
    WeakPassphrase,
)
from pki.psre import IssuedCertificate, SubjectInfo
from pki.validation_labels import wib

PKI_MESSAGES: dict[type[PkiError], str] = {
    InvalidCsr: "CSR tidak dapat dibaca atau tanda tangannya tidak valid.",
    UnsupportedKey: "Kunci publik pada CSR terlalu lemah atau jenisnya tidak didukung PSrE.",
    KeyReused: "Kunci publik pada CSR sudah pernah disertifikasi; buat pasangan kunci baru.",
    IdempotencyConflict: "Permintaan ke PSrE untuk langkah ini sudah pernah dikirim dengan data berbeda.",
    UnknownSubject: "Pemilik sertifikat belum terdaftar di PSrE.",
    ActiveKeyExists: "Pemilik sudah memiliki kunci eSign yang berlaku di PSrE; gunakan SOP 088.10 (pembaruan)"
    " atau SOP 088.13 (lupa passphrase), bukan penerbitan baru.",
    WeakPassphrase: "Passphrase tidak memenuhi aturan PSrE: minimal 8 karakter dan memuat huruf dan angka.",
}


def now_iso() -> str:
    """Return the current UTC time as an ISO 8601 string (seconds precision)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def param(ctx: HandlerContext, name: str, default: Any = None) -> Any:
    """Return an evaluated diagram parameter, unwrapping SpiffWorkflow's {"value", "type"} form if present."""
    value = ctx.params.get(name, default)
    if isinstance(value, Mapping) and "value" in value and set(value) <= {"value", "type"}:
        return value["value"]
    return value


def submission(ctx: HandlerContext, name: str) -> Mapping[str, Any]:
    """The mapping (a form submission, an earlier step's result) the diagram passes as parameter `name`; {} if none."""
    value = param(ctx, name)
    return value if isinstance(value, Mapping) else {}


def applicant_field(ctx: HandlerContext, key: str) -> str:
    """Return an applicant attribute, falling back to the form the diagram passes as `registration`."""
    value = ctx.applicant.get(key)
    if not value:
        value = submission(ctx, "registration").get(key)
    return str(value).strip() if value else ""


# Optional parameter of the operators that describe the applicant: the form in which they declared their data.
REGISTRATION_PARAM = Param(
    "dict", required=False, doc="The submission in which the applicant declared their data (e.g. registration_form)."
)


def pki_failure(err: PkiError) -> HandlerError:
    """Translate a PSrE error into the Indonesian message shown to staff."""
    for kind, message in PKI_MESSAGES.items():
        if isinstance(err, kind):
            return HandlerError(message)
    return HandlerError(f"PSrE menolak permintaan: {err}")


# Team mailboxes a diagram may name as recipients, and the setting holding each address.
TEAM_RECIPIENTS = {"verifikator_team": "verifikator_email", "dinas": "dinas_email"}


def resolve_recipient(ctx: HandlerContext, recipient: str) -> str:
    """Return the e-mail address a notice goes to: 'applicant', a team ('verifikator_team', 'dinas') or an address."""
    if recipient == "applicant":
        address = applicant_field(ctx, "email")
        if not address:
            raise HandlerError("Alamat e-mail pemohon belum diketahui; pemberitahuan tidak dapat dikirim.")
        return address
    if recipient in TEAM_RECIPIENTS:
        address = str(ctx.settings.get(TEAM_RECIPIENTS[recipient]) or "")
        if not address:
            raise HandlerError(f"Alamat e-mail '{recipient}' belum diatur.")
        return address
    if "@" in recipient:
        return recipient
    raise HandlerError(f"Penerima pemberitahuan '{recipient}' tidak dikenal.")


@service_task(
    "common.notify",
    params={
        "template": Param("str", doc="The mail template (engine/templates/mail/<template>.txt)."),
        "recipient": Param(
            "str", required=False, doc="'applicant' (default), a team ('verifikator_team', 'dinas') or an address."
        ),
        "context": Param(
            "dict",
            required=False,
            doc="The values the template shows, by the names it uses (e.g. {'revoked': revoked}).",
        ),
    },
    results=("template", "to", "sent_at"),
)
def notify(ctx: HandlerContext) -> dict[str, Any]:
    """Send the e-mail template `template` to `recipient` with the values the diagram passes as `context`."""
    template = param(ctx, "template")
    if not template:
        raise HandlerError("Parameter 'template' wajib diisi pada tugas pemberitahuan.")
    to = resolve_recipient(ctx, str(param(ctx, "recipient") or "applicant"))
    context = {
        **submission(ctx, "context"),
        "case_id": ctx.case_id,
        "applicant": dict(ctx.applicant),
        "settings": dict(ctx.settings),
    }
    ctx.notify(str(template), to, context)
    return {"template": str(template), "to": to, "sent_at": now_iso()}


@service_task(
    "common.register_subject",
    params={"registration": REGISTRATION_PARAM},
    results=("subject_id", "registered_at"),
)
def register_subject(ctx: HandlerContext) -> dict[str, Any]:
    """Register the applicant, as verified by the RA, as a subject at the PSrE; return its subject id."""
    values = {key: applicant_field(ctx, key) for key in ("full_name", "nik", "email", "agency_name", "position", "nip")}
    if not values["agency_name"]:
        values["agency_name"] = applicant_field(ctx, "agency_code")
    missing = [key for key in ("full_name", "nik", "email", "agency_name", "position") if not values[key]]
    if missing:
        raise HandlerError(f"Data pemohon belum lengkap untuk didaftarkan ke PSrE: {', '.join(missing)}.")
    subject = SubjectInfo(
        name=values["full_name"],
        nik=values["nik"],
        email=values["email"],
        agency=values["agency_name"],
        position=values["position"],
        nip=values["nip"] or None,
    )
    try:
        subject_id = ctx.psre.register_subject(subject, ctx.idempotency_key)
    except PkiError as err:
        raise pki_failure(err) from err
    return {"subject_id": subject_id, "registered_at": now_iso()}


def certificate_summary(issued: IssuedCertificate) -> dict[str, Any]:
    """Return the JSON-safe facts about an issued certificate that later steps and notices show."""
    cert = x509.load_pem_x509_certificate(issued.certificate_pem.encode("ascii"))
    return {
        "serial_hex": issued.serial_hex,
        "subject_id": issued.subject_id,
        "subject": cert.subject.rfc4514_string(),
        "not_before": issued.not_before.isoformat(),
        "not_after": issued.not_after.isoformat(),
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(),
    }


CERTIFICATE_RESULTS = ("serial_hex", "subject_id", "subject", "not_before", "not_after", "sha256_fingerprint")


@service_task(
    "common.issue_from_csr",
    params={
        "csr": Param("str", doc="The applicant's CSR (PEM), e.g. activation['csr_pem']."),
        "subject_id": Param("str", doc="The applicant's subject id at the PSrE, e.g. psre_subject['subject_id']."),
    },
    results=(*CERTIFICATE_RESULTS, "issued_at"),
)
def issue_from_csr(ctx: HandlerContext) -> dict[str, Any]:
    """Have the PSrE issue a certificate for the applicant's CSR (`csr`) and record it with the case."""
    csr_pem = param(ctx, "csr")
    if not csr_pem:
        raise HandlerError("CSR pemohon tidak ditemukan pada data kasus.")
    subject_id = param(ctx, "subject_id")
    if not subject_id:
        raise HandlerError("Pemohon belum terdaftar di PSrE (subject_id tidak ditemukan).")
    try:
        issued = issue_once(
            ctx, lambda key, _orphan: ctx.psre.issue_from_csr(str(subject_id), str(csr_pem), key), str(csr_pem)
        )
    except PkiError as err:
        raise pki_failure(err) from err
    ctx.record_certificate(issued)
    return {**certificate_summary(issued), "issued_at": now_iso()}


DOSSIER_MEDIA_TYPE = "application/json"


def _is_document_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def case_documents(ctx: HandlerContext, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The case's documents with their sha256: from the engine's document port, else from the case record.

    Without the port, a document is an integer field of a submission that the case's document store
    knows (the store refuses ids of other cases); each is hashed from its bytes.
    """
    listing = getattr(ctx, "documents", None)
    if callable(listing):
        try:
            return [dict(row) for row in listing()]
        except HandlerError:
            pass
    found: dict[int, dict[str, Any]] = {}
    for step, submitted in record.items():
        if not isinstance(submitted, Mapping):
            continue
        for name, value in submitted.items():
            if not _is_document_id(value) or value in found:
                continue
            try:
                content = ctx.document_bytes(value)
            except HandlerError:
                continue
            found[value] = {"id": value, "step": step, "field": name, "sha256": hashlib.sha256(content).hexdigest()}
    return [found[key] for key in sorted(found)]


def case_decisions(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every decision taken in the case: the submissions that carry a `decision`, by step."""
    return [
        {"step": step, **{k: v for k, v in value.items() if not _is_document_id(v)}}
        for step, value in data.items()
        if isinstance(value, Mapping) and "decision" in value
    ]


# Fields by which a person declared or accepted something (statement of truth, owner obligations, receipt),
# and the version of the accepted obligations-and-prohibitions text (engine/terms.py).
DECLARATION_PREFIXES = ("accept_", "accepted_terms_", "statement_", "received")


def case_declarations(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every declaration a person ticked in the case's forms, by step and field."""
    return [
        {"step": step, "field": name, "value": value}
        for step, submission in data.items()
        if isinstance(submission, Mapping)
        for name, value in submission.items()
        if name.startswith(DECLARATION_PREFIXES)
    ]


def case_certificates(ctx: HandlerContext, record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The certificates this case produced: the inventory's rows for this case, else the case record."""
    try:
        rows = [row for row in ctx.certificates() if row.get("case_id") == ctx.case_id]
    except HandlerError:
        rows = []
    if rows:
        return [
            {"serial": row["serial"], "status": row.get("status"), "not_after": row.get("not_after")} for row in rows
        ]
    return [
        {"serial": value["serial_hex"], "step": step, "not_after": value.get("not_after")}
        for step, value in record.items()
        if isinstance(value, Mapping) and value.get("serial_hex")
    ]


def dossier_manifest(ctx: HandlerContext) -> dict[str, Any]:
    """The case dossier as data: who applied, every document with its hash, every decision, certificates.

    The dossier is the one operator that reads the whole case record (the context's `case_record` port):
    it lists every submission, whatever the diagram names its steps.
    """
    record = dict(ctx.case_record())
    decisions = case_decisions(record)
    declarations = case_declarations(record)
    try:
        known = dict(ctx.step_labels())
    except HandlerError:
        known = {}
    named = {d["step"] for d in decisions} | {d["step"] for d in declarations}
    return {
        "format": "sertel-berkas-kasus/1",
        "case_id": ctx.case_id,
        "process_key": str(ctx.process_key or record.get("process_key") or ""),
        "process_title": ctx.process_title,
        "applicant": dict(ctx.applicant),
        "started_by": record.get("started_by"),
        "documents": case_documents(ctx, record),
        "decisions": decisions,
        "declarations": declarations,
        # How people read those steps: the task's name and its form's field labels (the printed cover uses them).
        "steps": {step: dict(known[step]) for step in sorted(named) if step in known},
        "certificates": case_certificates(ctx, record),
        "archived_at": now_iso(),
    }


def dossier_rows(manifest: Mapping[str, Any], manifest_sha256: str) -> list[tuple[str, str | None]]:
    """The rows of the dossier's printable cover: who, what was decided, every document by its hash."""
    applicant = manifest.get("applicant") or {}
    rows: list[tuple[str, str | None]] = [
        ("Nomor kasus", str(manifest["case_id"])),
        ("Proses", str(manifest.get("process_title") or "-")),
        ("Pemohon", f"{applicant.get('full_name', '-')} (NIK {applicant.get('nik') or '-'})"),
        ("Perangkat Daerah", str(applicant.get("agency_name") or "-")),
        ("Diarsipkan", wib_text(manifest["archived_at"])),
        ("SHA-256 manifes JSON", manifest_sha256),
        ("Keputusan", None),
    ]
    steps = manifest.get("steps") or {}
    for d in manifest["decisions"]:
        step = steps.get(d["step"]) or {}
        labels = step.get("fields") or {}
        rows.append(
            (str(step.get("title") or field_label(str(d["step"]))), dossier_value("decision", d.get("decision")))
        )
        rows += [
            (str(labels.get(name) or field_label(name)), dossier_value(name, value))
            for name, value in d.items()
            if name not in ("step", "decision")
        ]
    if manifest.get("declarations"):
        rows.append(("Pernyataan", None))
        for item in manifest["declarations"]:
            labels = (steps.get(item["step"]) or {}).get("fields") or {}
            rows.append(
                (
                    str(labels.get(item["field"]) or field_label(str(item["field"]))),
                    dossier_value(item["field"], item["value"]),
                )
            )
    rows.append(("Dokumen", None))
    rows += [(str(d.get("filename") or d.get("id")), str(d.get("sha256") or "-")) for d in manifest["documents"]]
    rows.append(("Sertifikat", None))
    rows += [
        (
            str(c["serial"]),
            f"{code_label('status', c.get('status')) or c.get('status') or '-'}, "
            f"berlaku sampai {wib_text(c.get('not_after'))}",
        )
        for c in manifest["certificates"]
    ]
    return rows


def dossier_value(name: str, value: Any) -> str:
    """One stored value as the dossier prints it (the timeline's reading, with "-" and longer text for the PDF)."""
    return readable_value(name, value, empty="-", max_len=300)


def wib_text(value: Any) -> str:
    """A time (datetime or ISO text; UTC when it has no zone) as people in Pekalongan read it, in WIB."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "-")
    return wib(moment if moment.tzinfo else moment.replace(tzinfo=UTC)) or "-"


def sealed_dossier_cover(ctx: HandlerContext, manifest: Mapping[str, Any], manifest_sha256: str) -> tuple[bytes, str]:
    """The dossier's cover as a PDF sealed by the RA (it names the manifest's hash, so it seals it too)."""
    pdf = render_form_pdf(
        "dossier",
        dossier_rows(manifest, manifest_sha256),
        title="BERKAS ARSIP PERMOHONAN SERTIFIKAT ELEKTRONIK",
        statement="Berkas ini diarsipkan oleh Otoritas Pendaftaran. Setiap dokumen dikenali dari nilai SHA-256-nya.",
        signer_name="Otoritas Pendaftaran Diskominfo",
        signer_role="Verifikator",
        case_id=ctx.case_id,
        signature_mark=RA_SEALED_MARK,
    )
    return seal_by_ra(ctx, pdf, f"Arsip berkas kasus {ctx.case_id}")


@service_task(
    "common.archive_case",
    results=(
        "document_id",
        "sha256",
        "filename",
        "cover_document_id",
        "cover_sealed_by",
        "documents",
        "archived_at",
    ),
)
def archive_case(ctx: HandlerContext) -> dict[str, Any]:
    """Build the case dossier: a JSON manifest and its printable cover sealed by the RA, both kept as 'dossier'."""
    manifest = dossier_manifest(ctx)
    content = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2, default=str).encode("utf-8")
    digest = hashlib.sha256(content).hexdigest()
    filename = f"berkas-kasus-{ctx.case_id}.json"
    document_id = ctx.store_document(filename, DOSSIER_MEDIA_TYPE, content, "dossier")
    cover, sealed_by = sealed_dossier_cover(ctx, manifest, digest)
    cover_id = ctx.store_document(f"berkas-kasus-{ctx.case_id}.pdf", "application/pdf", cover, "dossier")
    return {
        "document_id": document_id,
        "sha256": digest,
        "filename": filename,
        "cover_document_id": cover_id,
        "cover_sealed_by": sealed_by,
        "documents": len(manifest["documents"]),
        "archived_at": manifest["archived_at"],
    }
