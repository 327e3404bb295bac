"""Service-task operators shared by every SOP: notices, PSrE registration and issuance, archiving."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from engine.handler_api import HandlerContext, HandlerError, service_task
from pki.errors import (
    IdempotencyConflict,
    InvalidCsr,
    KeyReused,
    PkiError,
    UnknownSubject,
    UnsupportedKey,
)
from pki.psre import IssuedCertificate, SubjectInfo

# Where earlier steps of a diagram leave what later operators read (see processes/*.bpmn).
REGISTRATION_FORM = "registration_form"
CSR_TASK = "activation"
SUBJECT_VARIABLE = "psre_subject"

PKI_MESSAGES: dict[type[PkiError], str] = {
    InvalidCsr: "CSR tidak dapat dibaca atau tanda tangannya tidak valid.",
    UnsupportedKey: "Kunci publik pada CSR terlalu lemah atau jenisnya tidak didukung PSrE.",
    KeyReused: "Kunci publik pada CSR sudah pernah disertifikasi; buat pasangan kunci baru.",
    IdempotencyConflict: "Permintaan ke PSrE untuk langkah ini sudah pernah dikirim dengan data berbeda.",
    UnknownSubject: "Pemilik sertifikat belum terdaftar di PSrE.",
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


def applicant_field(ctx: HandlerContext, key: str) -> str:
    """Return an applicant attribute, falling back to the case's registration form."""
    value = ctx.applicant.get(key)
    if not value:
        form = ctx.data.get(REGISTRATION_FORM)
        value = form.get(key) if isinstance(form, Mapping) else None
    return str(value).strip() if value else ""


def pki_failure(err: PkiError) -> HandlerError:
    """Translate a PSrE error into the Indonesian message shown to staff."""
    for kind, message in PKI_MESSAGES.items():
        if isinstance(err, kind):
            return HandlerError(message)
    return HandlerError(f"PSrE menolak permintaan: {err}")


def resolve_recipient(ctx: HandlerContext, recipient: str) -> str:
    """Return the e-mail address a notice goes to: 'applicant' or a literal address."""
    if recipient == "applicant":
        address = applicant_field(ctx, "email")
        if not address:
            raise HandlerError("Alamat e-mail pemohon belum diketahui; pemberitahuan tidak dapat dikirim.")
        return address
    if "@" in recipient:
        return recipient
    raise HandlerError(f"Penerima pemberitahuan '{recipient}' tidak dikenal.")


@service_task("common.notify")
def notify(ctx: HandlerContext) -> dict[str, Any]:
    """Send the e-mail template `template` to `recipient` ('applicant' or an address) with the case data."""
    template = param(ctx, "template")
    if not template:
        raise HandlerError("Parameter 'template' wajib diisi pada tugas pemberitahuan.")
    to = resolve_recipient(ctx, str(param(ctx, "recipient", "applicant")))
    context = {**ctx.data, "case_id": ctx.case_id, "applicant": dict(ctx.applicant)}
    ctx.notify(str(template), to, context)
    return {"template": str(template), "to": to, "sent_at": now_iso()}


@service_task("common.register_subject")
def register_subject(ctx: HandlerContext) -> dict[str, Any]:
    """Register the applicant, as verified by the RA, as a subject at the PSrE; return its subject id."""
    values = {
        key: applicant_field(ctx, key)
        for key in ("full_name", "nik", "email", "agency_name", "position", "nip")
    }
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


def _form_value(ctx: HandlerContext, task_id: str, key: str) -> Any:
    """Return `key` from the submission stored under `task_id`, or from the top level of the task data."""
    form = ctx.data.get(task_id)
    if isinstance(form, Mapping) and form.get(key):
        return form[key]
    return ctx.data.get(key)


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


@service_task("common.issue_from_csr")
def issue_from_csr(ctx: HandlerContext) -> dict[str, Any]:
    """Have the PSrE issue a certificate for the applicant's CSR and record it with the case.

    Params (optional): `csr_task` (task id whose submission holds `csr_pem`, default 'activation'),
    `subject_variable` (result variable of the registration, default 'psre_subject').
    """
    csr_pem = _form_value(ctx, str(param(ctx, "csr_task", CSR_TASK)), "csr_pem")
    if not csr_pem:
        raise HandlerError("CSR pemohon tidak ditemukan pada data kasus.")
    subject = ctx.data.get(str(param(ctx, "subject_variable", SUBJECT_VARIABLE)))
    subject_id = subject.get("subject_id") if isinstance(subject, Mapping) else ctx.data.get("subject_id")
    if not subject_id:
        raise HandlerError("Pemohon belum terdaftar di PSrE (subject_id tidak ditemukan).")
    try:
        issued = ctx.psre.issue_from_csr(str(subject_id), str(csr_pem), ctx.idempotency_key)
    except PkiError as err:
        raise pki_failure(err) from err
    ctx.record_certificate(issued)
    return {**certificate_summary(issued), "issued_at": now_iso()}


@service_task("common.archive_case")
def archive_case(ctx: HandlerContext) -> dict[str, Any]:
    """Mark the case archived; the engine builds and seals the dossier itself."""
    return {"archived": True, "at": now_iso(), "case_id": ctx.case_id}
