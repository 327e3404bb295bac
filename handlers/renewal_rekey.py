"""Operators and form rules of SOP 088.10: renewal of a certificate with a new key pair (AMS)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from engine.handler_api import HandlerContext, HandlerError, Param, code_label, form_schema, service_task
from handlers.common import CERTIFICATE_RESULTS, certificate_summary, now_iso, pki_failure
from handlers.forms import Checkbox, DocumentId, FormSchema, PersonFieldsSchema, Text
from handlers.issuance_ams import (
    DEFAULT_OFFICIAL_DOMAIN,
    OWNER_RULES,
    Item,
    email_items,
    form_param,
    item,
    nik_items,
    nip_items,
    roster_items,
    submitted_value,
    summarize,
)
from handlers.key_custody import destroyed_keys
from handlers.psre_retry import issue_once
from pki.errors import KeyReused, PkiError

# The parameters the operators of 088.10 take (the diagram decides which data each one is).
RENEWAL = "renewal_request"
RENEWAL_PARAM = Param("dict", doc="The renewal form as submitted (e.g. renewal_form).")
START_SERIAL_PARAM = Param(
    "str", required=False, doc="The certificate named at the start (certificate_serial), if the form names none."
)
ACTIVE = "active"
# Fields of the renewal form that describe the person (also the applicant record's fields).
PERSON_FIELDS = ("full_name", "nik", "nip", "position", "agency_code", "email")


# ---------------------------------------------------------------- forms


@form_schema("renewal_rekey.start")
class RenewalStartSchema(FormSchema):
    """Start data: the certificate to renew (given by the expiry reminder; otherwise chosen in the form)."""

    certificate_serial = Text(load_default="", validate=validate.Length(max=64, error="Nomor seri tidak valid."))


@form_schema("renewal")
class RenewalFormSchema(PersonFieldsSchema):
    """Formulir Pendaftaran Sertifikat Elektronik untuk Individu, varian pembaruan (088.10)."""

    certificate_serial = Text(required=True, validate=validate.Length(max=64, error="Nomor seri tidak valid."))
    changes = Text(load_default="", validate=validate.Length(max=2000, error="Maksimal 2000 karakter."))
    change_proof = DocumentId(label="Bukti perubahan data", load_default=None, allow_none=True)
    statement_true = Checkbox(
        must_be_true="Anda harus menyatakan bahwa data yang diberikan benar.",
        metadata={"label": "Saya menyatakan data yang saya berikan benar"},
    )

    @validates_schema
    def proof_of_changes(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Require a proof document when the owner declares that their data changed."""
        if data.get("changes") and not data.get("change_proof"):
            raise ValidationError(
                "Unggah bukti perubahan data (SK, KTP baru, atau surat keterangan).", field_name="change_proof"
            )


# ---------------------------------------------------------------- helpers


def active_certificates(ctx: HandlerContext) -> list[dict[str, Any]]:
    """The applicant's certificates the RA still records as active, newest first."""
    return [dict(c) for c in ctx.certificates() if c.get("status") == ACTIVE]


def form_value(ctx: HandlerContext, key: str) -> str:
    """What the renewal form says, falling back to the applicant record."""
    return submitted_value(ctx, RENEWAL, key)


def selected_serial(ctx: HandlerContext) -> str:
    """The serial of the certificate being renewed: the form's choice, else the start data's."""
    serial = form_param(ctx, RENEWAL).get("certificate_serial")
    return str(serial or ctx.params.get("certificate_serial") or "").strip().lower()


def _expiry_item(cert: Mapping[str, Any]) -> Item:
    not_after = datetime.fromisoformat(str(cert["not_after"]))
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=UTC)
    days = (not_after - datetime.now(UTC)).days
    if days < 0:
        return item(
            "certificate_expiry", "Masa berlaku", False, "warning", f"Sertifikat telah kedaluwarsa {-days} hari lalu."
        )
    message = f"Sertifikat berlaku {days} hari lagi ({not_after:%d-%m-%Y})."
    return item("certificate_expiry", "Masa berlaku", True, "info", message)


def certificate_items(ctx: HandlerContext, serial: str) -> list[Item]:
    """Check the certificate to renew: the applicant's, active in the RA's records and at the PSrE."""
    label = "Sertifikat yang diperbarui"
    owned = next((c for c in ctx.certificates() if str(c.get("serial", "")).lower() == serial), None)
    if owned is None:
        return [item("certificate_owned", label, False, "error", f"Sertifikat {serial or '-'} bukan milik pemohon.")]
    if owned.get("status") != ACTIVE:
        message = f"Sertifikat {serial} berstatus {owned.get('status')}; tidak dapat diperbarui."
        return [item("certificate_owned", label, False, "error", message)]
    items = [item("certificate_owned", label, True, "error", f"Sertifikat {serial} milik pemohon dan aktif.")]
    try:
        status = ctx.psre.certificate_status(serial)
    except PkiError as err:
        raise pki_failure(err) from err
    good = status.status == "good"
    message = (
        "PSrE mencatat sertifikat dalam status baik."
        if good
        else f"PSrE mencatat sertifikat: {code_label('psre_status', status.status) or status.status}."
    )
    items.append(item("certificate_psre_status", "Status di PSrE", good, "error", message))
    items.append(_expiry_item(owned))
    return items


def change_items(ctx: HandlerContext, nip: str) -> list[Item]:
    """Report the changes the owner declared and a position that differs from the roster."""
    declared = str(form_param(ctx, RENEWAL).get("changes") or "").strip()
    message = (
        f"Pemohon menyatakan perubahan: {declared}" if declared else "Pemohon menyatakan tidak ada perubahan data."
    )
    items = [item("declared_changes", "Perubahan data", not declared, "warning", message)]
    row = ctx.lookup_roster(nip) if nip else None
    if row is not None:
        roster_position = str(row.get("position") or "").strip()
        position = form_value(ctx, "position")
        same = not roster_position or roster_position.lower() == position.lower()
        message = (
            "Jabatan sesuai data ASN."
            if same
            else f"Jabatan pada formulir ({position or '-'}) berbeda dengan data ASN ({roster_position})."
        )
        items.append(item("roster_position", "Jabatan sesuai data ASN", same, "warning", message))
    return items


# ---------------------------------------------------------------- operators


@service_task(
    "renewal_rekey.prepare_renewal",
    params={"certificate_serial": START_SERIAL_PARAM},
    results=("certificates", "prefill"),
)
def prepare_renewal(ctx: HandlerContext) -> dict[str, Any]:
    """List the applicant's active certificates and prefill the renewal form from what the RA knows."""
    certificates = [
        {"serial": c["serial"], "subject": c.get("subject", ""), "not_after": c.get("not_after", "")}
        for c in active_certificates(ctx)
    ]
    wanted = str(ctx.params.get("certificate_serial") or "").strip().lower()
    serials = [c["serial"] for c in certificates]
    chosen = wanted if wanted in serials else (serials[0] if serials else "")
    nip = "".join(str(ctx.applicant.get("nip") or "").split())
    row = ctx.lookup_roster(nip) if nip else None
    prefill = {key: str(ctx.applicant.get(key) or "") for key in PERSON_FIELDS}
    if row is not None and row.get("position") and not prefill["position"]:
        prefill["position"] = str(row["position"])
    prefill["certificate_serial"] = chosen
    return {"certificates": certificates, "prefill": prefill}


@service_task(
    "renewal_rekey.recheck",
    params={RENEWAL: RENEWAL_PARAM, "certificate_serial": START_SERIAL_PARAM},
    results=("items", "all_ok", "errors", "warnings", "certificate_serial", "checked_at"),
)
def recheck(ctx: HandlerContext) -> dict[str, Any]:
    """Re-check the certificate, NIK, NIP, ASN roster status (a leaver fails), data changes and e-mail."""
    nik = "".join(form_value(ctx, "nik").split())
    nip = "".join(form_value(ctx, "nip").split())
    domain = str(ctx.settings.get("official_email_domain") or DEFAULT_OFFICIAL_DOMAIN)
    category = str(ctx.applicant.get("category") or "asn")
    items = [
        *certificate_items(ctx, selected_serial(ctx)),
        item("owner_rule", "Aturan yang berlaku", True, "info", OWNER_RULES.get(category, OWNER_RULES["lainnya"])),
        *nik_items(nik),
    ]
    if category == "asn":  # NIP and the roster apply to civil servants only
        items += [
            *nip_items(nik, nip),
            *roster_items(ctx, nip, nik, form_value(ctx, "full_name"), form_value(ctx, "agency_code")),
        ]
    items += [*change_items(ctx, nip), *email_items(form_value(ctx, "email"), domain)]
    return {**summarize(items), "certificate_serial": selected_serial(ctx), "checked_at": now_iso()}


@service_task(
    "renewal_rekey.renew_certificate",
    params={
        RENEWAL: RENEWAL_PARAM,
        "csr": Param("str", doc="The CSR (PEM) of the owner's new key, e.g. activation['csr_pem']."),
        "certificate_serial": START_SERIAL_PARAM,
    },
    results=("ok", "problem", *CERTIFICATE_RESULTS, "old_serial", "renewed_at", "keys_destroyed"),
)
def renew_certificate(ctx: HandlerContext) -> dict[str, Any]:
    """Have the PSrE certify the new key; the old certificate is revoked as superseded once the new exists.

    A CSR whose key was certified before is sent back to the owner (ok = false) rather than failing.
    """
    old = selected_serial(ctx)
    csr_pem = ctx.params.get("csr")
    if not old:
        raise HandlerError("Nomor seri sertifikat lama tidak ditemukan pada data kasus.")
    if not csr_pem:
        raise HandlerError("CSR pemohon tidak ditemukan pada data kasus.")
    try:
        # After a crash the old certificate may already be renewed into an orphan the RA never
        # recorded: the retry renews that orphan instead (the PSrE revokes it as superseded).
        issued = issue_once(
            ctx,
            lambda key, orphan: ctx.psre.renew(orphan.serial_hex if orphan else old, str(csr_pem), None, key),
            str(csr_pem),
            revoke_first=False,
        )
    except KeyReused as err:
        return {"ok": False, "problem": str(pki_failure(err)), "old_serial": old, "at": now_iso()}
    except PkiError as err:
        raise pki_failure(err) from err
    ctx.record_certificate(issued)
    ctx.set_certificate_status(old, "superseded")
    renewed = {"ok": True, **certificate_summary(issued), "old_serial": old, "renewed_at": now_iso()}
    return {**renewed, "keys_destroyed": destroyed_keys(ctx, [old])}
