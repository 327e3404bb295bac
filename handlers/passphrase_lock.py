"""Operators and form rules of SOP 088.13 (forgotten passphrase / LOCK of an eSign key): checks and reset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import validate

from engine.handler_api import HandlerContext, HandlerError, Param, code_label, form_schema, service_task
from handlers.common import CERTIFICATE_RESULTS, certificate_summary, now_iso, pki_failure
from handlers.data_change import (
    certificate_items,
    chosen_certificate,
    current_record,
    form_of,
    load_current,
    revoke_superseded_in_inventory,
)
from handlers.forms import (
    AcceptsOwnerTerms,
    CertificateStartSchema,
    Checkbox,
    DocumentId,
    FormSchema,
    NewPassphraseSchema,
    PastDate,
    Text,
)
from handlers.issuance_ams import item, nik_items, summarize
from handlers.key_custody import destroyed_keys
from handlers.psre_retry import issue_once
from pki.errors import PkiError
from pki.psre import SubjectStatus

STATEMENT = "lock_statement"
STATEMENT_PARAM = Param("dict", doc="The owner's forgotten-passphrase statement as submitted (e.g. statement_form).")
PASSPHRASE = "passphrase"


@form_schema("passphrase_lock.start")
class PassphraseLockStartSchema(CertificateStartSchema):
    """Start data: optionally the eSign certificate whose passphrase was forgotten."""


@form_schema("passphrase_statement")
class StatementFormSchema(FormSchema):
    """Formulir Pernyataan Lupa Passphrase."""

    certificate_serial = Text(required=True)
    statement_date = PastDate(required=True)
    reason = Text(load_default="", validate=validate.Length(max=1000, error="Maksimal 1000 karakter."))
    ktp_scan = DocumentId(required=True, metadata={"label": "Pindaian KTP"})
    statement_forgotten = Checkbox(
        must_be_true="Anda harus menyatakan bahwa Anda lupa passphrase atau kunci Anda terkunci (LOCK).",
        metadata={"label": "Saya menyatakan lupa passphrase / kunci saya terkunci"},
    )
    statement_true = Checkbox(
        must_be_true="Anda harus menyatakan bahwa data yang diberikan benar.",
        metadata={"label": "Saya menyatakan data yang saya berikan benar"},
    )


@form_schema("set_new_passphrase")
class SetNewPassphraseSchema(NewPassphraseSchema, AcceptsOwnerTerms):
    """The one-time step where the owner sets the new passphrase (secrets: never stored or logged)."""

    terms_kind = "esign"


def subject_id_of(ctx: HandlerContext, nik: str) -> str:
    """Return the PSrE's subject id of the owner with this NIK, read from their current certificate.

    Read-only on purpose: re-registering the owner to learn the id would also rewrite their data.
    """
    try:
        return str(ctx.psre.current_certificate(nik).subject_id)
    except PkiError as err:
        raise pki_failure(err) from err


@service_task("passphrase_lock.load_current", results=("applicant", "certificates", "link_valid_days", "at"))
def passphrase_lock_current(ctx: HandlerContext) -> dict[str, Any]:
    """Collect the owner's current data and active certificates for the statement form."""
    return load_current(ctx)


def subject_items(ctx: HandlerContext, nik: str) -> list[dict[str, Any]]:
    """Ask the PSrE for the owner's status: only a registered owner with a certificate can be reset."""
    label = "Status pemilik di PSrE"
    try:
        status = ctx.psre.subject_status(nik)
    except PkiError as err:
        return [item("psre_status", label, False, "error", str(pki_failure(err)))]
    ok = status == SubjectStatus.ISSUE
    return [
        item("psre_status", label, ok, "error", f"Status di PSrE: {code_label('psre_status', str(status)) or status}.")
    ]


def lock_items(ctx: HandlerContext, serial: str) -> list[dict[str, Any]]:
    """Show the LOCK state of the owner's eSign key as the RA's reconciled record holds it (informative)."""
    locked = any(cert.get("serial") == serial and cert.get("locked") for cert in ctx.certificates())
    message = "Kunci eSign Terkunci (LOCK) di PSrE." if locked else "Kunci eSign tidak tercatat Terkunci di PSrE."
    return [item("esign_lock", "Status kunci eSign", True, "warning", message)]


@service_task(
    "passphrase_lock.automated_checks",
    params={STATEMENT: STATEMENT_PARAM},
    results=("items", "all_ok", "errors", "warnings"),
)
def automated_checks(ctx: HandlerContext) -> dict[str, Any]:
    """Check the certificate of the statement (`statement`) is the owner's and active, the NIK, the PSrE status."""
    form = form_of(ctx, STATEMENT)
    nik = current_record(ctx)["nik"]
    items = [
        *certificate_items(ctx, str(form.get("certificate_serial") or "")),
        *nik_items(nik),
        *subject_items(ctx, nik),
        *lock_items(ctx, str(form.get("certificate_serial") or "")),
        item(
            "ktp_uploaded",
            "Pindaian KTP diunggah",
            bool(form.get("ktp_scan")),
            "error",
            "Pindaian KTP terlampir." if form.get("ktp_scan") else "Pindaian KTP belum diunggah.",
        ),
    ]
    return summarize(items)


@service_task(
    "passphrase_lock.reset_key",
    params={STATEMENT: STATEMENT_PARAM},
    results=(*CERTIFICATE_RESULTS, "issued_at", "old_serial", "revoked", "keys_destroyed"),
)
def reset_key(ctx: HandlerContext) -> dict[str, Any]:
    """Have the PSrE replace the locked key: new key and certificate under the new passphrase, old revoked."""
    passphrase = ctx.secrets.get(PASSPHRASE)
    if not passphrase:
        raise HandlerError("Passphrase baru tidak diterima; isi kembali formulir passphrase baru.")
    form: Mapping[str, Any] = form_of(ctx, STATEMENT)
    old_serial = str(form.get("certificate_serial") or "")
    # The RA's inventory keeps the PSrE subject id (works with any adapter); older rows fall back to the PSrE.
    subject_id = chosen_certificate(ctx, old_serial).get("subject_id") or subject_id_of(ctx, current_record(ctx)["nik"])
    try:
        issued = issue_once(ctx, lambda key, _orphan: ctx.psre.reset_subject(subject_id, passphrase, key), None)
    except PkiError as err:
        raise pki_failure(err) from err
    ctx.record_certificate(issued)
    revoked = revoke_superseded_in_inventory(ctx, issued.serial_hex)
    summary = {**certificate_summary(issued), "issued_at": now_iso(), "old_serial": old_serial, "revoked": revoked}
    return {**summary, "keys_destroyed": destroyed_keys(ctx, revoked)}
