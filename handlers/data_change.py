"""Operators and form rules of SOP 088.12 (change of applicant data): checks, record update, re-issue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from engine.handler_api import HandlerContext, HandlerError, Param, form_schema, service_task
from handlers.common import CERTIFICATE_RESULTS, certificate_summary, now_iso, pki_failure
from handlers.forms import ActivationSchema, CertificateStartSchema, Checkbox, DocumentId, FormSchema, Text
from handlers.identity import email_on_official_domain, names_match_loosely
from handlers.issuance_ams import (
    DEFAULT_OFFICIAL_DOMAIN,
    Item,
    email_items,
    item,
    nik_items,
    nip_items,
    roster_items,
    summarize,
)
from handlers.key_custody import destroyed_keys
from handlers.psre_retry import issue_once
from pki.errors import PkiError
from pki.psre import SubjectInfo

# The parameters the operators of 088.12 take (the diagram decides which data each one is).
REQUEST = "request"
KNOWN = "known"
REQUEST_PARAM = Param("dict", doc="The change request as submitted (e.g. change_form).")
KNOWN_PARAM = Param(
    "dict", required=False, doc="The applicant's data as loaded before the change (e.g. current['applicant'])."
)
# The fields a data change may touch, with the tick box that says it changes and its Indonesian label.
CHANGEABLE: dict[str, tuple[str, str]] = {
    "full_name": ("change_full_name", "Nama"),
    "position": ("change_position", "Jabatan"),
    "agency_code": ("change_agency", "Perangkat Daerah"),
    "email": ("change_email", "E-mail dinas"),
}
# Roster checks that compare a field being changed: a mismatch is expected until the roster is updated.
ROSTER_CHECK_OF_FIELD = {"roster_agency": "agency_code", "roster_name": "full_name"}
ACTIVE = "active"
REVOKED = "revoked"
# The change form's input holding the applicant's data before the change (the diagram's <sertel:input name>).
DATA_BEFORE = "data_before"


# ---------------------------------------------------------------- form rules


@form_schema("data_change.start")
class DataChangeStartSchema(CertificateStartSchema):
    """Start data: optionally the certificate whose data is to change (the engine checks it is the applicant's)."""


@form_schema("data_change")
class ChangeFormSchema(FormSchema):
    """Formulir Pendaftaran Sertifikat Elektronik untuk Individu, varian perubahan data, with its proof."""

    certificate_serial = Text(required=True)
    change_full_name = Checkbox(metadata={"label": "Nama berubah"})
    change_position = Checkbox(metadata={"label": "Jabatan berubah"})
    change_agency = Checkbox(metadata={"label": "Perangkat Daerah berubah"})
    change_email = Checkbox(metadata={"label": "E-mail dinas berubah"})
    full_name = Text(required=True, validate=validate.Length(max=200, error="Maksimal 200 karakter."))
    position = Text(required=True, validate=validate.Length(max=200, error="Maksimal 200 karakter."))
    agency_code = Text(required=True, validate=validate.Length(max=50, error="Kode perangkat daerah tidak valid."))
    email = Text(required=True, validate=validate.Email(error="Alamat e-mail tidak valid."))
    reason = Text(required=True, validate=validate.Length(max=1000, error="Maksimal 1000 karakter."))
    change_proof = DocumentId(required=True, metadata={"label": "Bukti perubahan data"})
    other_proof = DocumentId(load_default=None, allow_none=True, metadata={"label": "Bukti pendukung lain"})
    statement_true = Checkbox(
        must_be_true="Anda harus menyatakan bahwa data dan bukti yang diberikan benar.",
        metadata={"label": "Saya menyatakan data dan bukti yang saya berikan benar"},
    )

    @validates_schema(skip_on_field_errors=False)
    def something_changes(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Require at least one field ticked as changing, and every ticked field to differ from the current data.

        The current data is the form's `data_before` input (the diagram passes the record data_change.load_current
        found).
        """
        if not any(data.get(flag) for flag, _label in CHANGEABLE.values()):
            raise ValidationError("Pilih sedikitnya satu data yang berubah.", field_name="change_full_name")
        record = (getattr(self, "inputs", None) or {}).get(DATA_BEFORE)
        if not isinstance(record, Mapping):
            return
        errors: dict[str, list[str]] = {}
        for name, (flag, label) in CHANGEABLE.items():
            if not data.get(flag) or name not in data:
                continue
            before = " ".join(str(record.get(name) or "").split())
            if before and before.lower() == " ".join(str(data[name]).split()).lower():
                errors[name] = [
                    f"{label} baru sama dengan data saat ini ({before}); isi data yang baru atau hapus centang "
                    f"'{label} berubah'."
                ]
        if errors:
            raise ValidationError(errors)


@form_schema("data_change_activation")
class DataChangeActivationSchema(ActivationSchema):
    """Activation after an approved change: the owner accepts the obligations and sends a NEW key's CSR."""


# ---------------------------------------------------------------- shared helpers


def form_of(ctx: HandlerContext, name: str) -> Mapping[str, Any]:
    """Return the mapping the diagram passes as parameter `name`, or an empty mapping."""
    form = ctx.params.get(name)
    return form if isinstance(form, Mapping) else {}


def known_record(ctx: HandlerContext) -> Mapping[str, Any]:
    """The applicant's data before the change: as passed (`known`), else as the RA knows it now."""
    return form_of(ctx, KNOWN) or current_record(ctx)


def current_record(ctx: HandlerContext) -> dict[str, str]:
    """Return the applicant's data as the RA knows it now: the account, overlaid with the roster's position."""
    applicant = ctx.applicant
    nip = "".join(str(applicant.get("nip") or "").split())
    row = ctx.lookup_roster(nip) if nip else None
    position = applicant.get("position") or (row or {}).get("position") or ""
    record = {
        "full_name": applicant.get("full_name") or "",
        "nik": applicant.get("nik") or "",
        "nip": nip,
        "position": position,
        "agency_code": applicant.get("agency_code") or "",
        "agency_name": applicant.get("agency_name") or "",
        "email": applicant.get("email") or "",
    }
    return {key: str(value).strip() for key, value in record.items()}


def owned_certificates(ctx: HandlerContext) -> list[dict[str, Any]]:
    """Return the applicant's active certificates, newest first, as the forms list them."""
    return [
        {"serial": c["serial"], "subject": c.get("subject", ""), "not_after": c.get("not_after", "")}
        for c in ctx.certificates()
        if c.get("status") == ACTIVE
    ]


def load_current(ctx: HandlerContext) -> dict[str, Any]:
    """Return the applicant's current data and active certificates, to prefill and check the request."""
    return {
        "applicant": current_record(ctx),
        "certificates": owned_certificates(ctx),
        "link_valid_days": ctx.settings.get("activation_link_days"),
        "at": now_iso(),
    }


def chosen_certificate(ctx: HandlerContext, serial: str) -> dict[str, Any]:
    """Return the applicant's active certificate `serial`, or fail with a message for staff."""
    for cert in ctx.certificates():
        if cert.get("serial") == serial:
            if cert.get("status") != ACTIVE:
                raise HandlerError(f"Sertifikat {serial} tidak aktif (status: {cert.get('status')}).")
            return cert
    raise HandlerError(f"Sertifikat {serial} bukan milik pemohon ini.")


def certificate_items(ctx: HandlerContext, serial: str) -> list[Item]:
    """Check that the chosen certificate is the applicant's and still active."""
    label = "Sertifikat milik pemohon dan aktif"
    try:
        chosen_certificate(ctx, serial)
    except HandlerError as err:
        return [item("certificate_owned", label, False, "error", str(err))]
    return [item("certificate_owned", label, True, "error", f"Sertifikat {serial} milik pemohon dan aktif.")]


def revoke_superseded_in_inventory(ctx: HandlerContext, new_serial: str) -> list[str]:
    """Mark as revoked every active certificate of the applicant that the PSrE now reports revoked."""
    revoked: list[str] = []
    for cert in ctx.certificates():
        serial = str(cert.get("serial"))
        if serial == new_serial or cert.get("status") != ACTIVE:
            continue
        if ctx.psre.certificate_status(serial).status == "revoked":
            ctx.set_certificate_status(serial, REVOKED)
            revoked.append(serial)
    return revoked


# ---------------------------------------------------------------- operators of 088.12


def changed_fields(form: Mapping[str, Any]) -> list[str]:
    """Return the names of the fields the applicant ticked as changing."""
    return [name for name, (flag, _label) in CHANGEABLE.items() if form.get(flag)]


def new_values(ctx: HandlerContext) -> dict[str, str]:
    """Return the applicant's data after the change: current data with the ticked fields replaced."""
    form = form_of(ctx, REQUEST)
    current = known_record(ctx)
    values = {name: str(current.get(name) or "") for name in CHANGEABLE}
    for name in changed_fields(form):
        values[name] = str(form.get(name) or "").strip()
    # The agency as people read it (the mail and the verifikator's summary show the name, not the code).
    values["agency_name"] = ctx.agency_name(values["agency_code"]) or values["agency_code"]
    return values


@service_task("data_change.load_current", results=("applicant", "certificates", "link_valid_days", "at"))
def data_change_current(ctx: HandlerContext) -> dict[str, Any]:
    """Collect the applicant's current data and active certificates for the change form."""
    return load_current(ctx)


def change_items(ctx: HandlerContext, current: Mapping[str, Any], new: Mapping[str, str]) -> list[Item]:
    """Say, per ticked field, what changes; a ticked field that does not change is an error."""
    form = form_of(ctx, REQUEST)
    items: list[Item] = []
    for name in changed_fields(form):
        label = CHANGEABLE[name][1]
        before, after = str(current.get(name) or ""), new[name]
        same = before.strip().lower() == after.strip().lower()
        shown_before, shown_after = before, after
        if name == "agency_code":  # people read agency names, not codes
            shown_before, shown_after = ctx.agency_name(before) or before, ctx.agency_name(after) or after
        message = (
            f"{label} tidak berubah ({shown_before or '-'})."
            if same
            else f"{label}: {shown_before or '-'} → {shown_after}."
        )
        items.append(item(f"change_{name}", f"Perubahan {label.lower()}", not same, "error", message))
    if "full_name" in changed_fields(form) and not names_match_loosely(
        str(current.get("full_name") or ""), new["full_name"]
    ):
        items.append(
            item(
                "name_continuity",
                "Kesinambungan nama",
                False,
                "warning",
                "Nama baru sama sekali berbeda dengan nama lama: pastikan bukti (akta/penetapan) mendukung.",
            )
        )
    proof = form.get("change_proof")
    items.append(
        item(
            "change_proof",
            "Bukti perubahan diunggah",
            bool(proof),
            "error",
            "Bukti perubahan terlampir." if proof else "Bukti perubahan belum diunggah.",
        )
    )
    return items


def relaxed_roster_items(ctx: HandlerContext, current: Mapping[str, Any], new: Mapping[str, str]) -> list[Item]:
    """Run the roster checks on the new data; a mismatch on a field being changed is only a warning."""
    changing = set(changed_fields(form_of(ctx, REQUEST)))
    items = roster_items(
        ctx, str(current.get("nip") or ""), str(current.get("nik") or ""), new["full_name"], new["agency_code"]
    )
    for entry in items:
        field_name = ROSTER_CHECK_OF_FIELD.get(entry["code"])
        if field_name in changing and not entry["ok"]:
            entry["severity"] = "warning"
            entry["message"] += " Data ASN akan diperbarui setelah perubahan disetujui."
    return items


@service_task(
    "data_change.automated_checks",
    params={REQUEST: REQUEST_PARAM, KNOWN: KNOWN_PARAM},
    results=("items", "all_ok", "errors", "warnings", "new"),
)
def automated_checks(ctx: HandlerContext) -> dict[str, Any]:
    """Check the certificate, the identity numbers, the new data against the roster and the e-mail domain."""
    form = form_of(ctx, REQUEST)
    current = known_record(ctx)
    new = new_values(ctx)
    domain = str(ctx.settings.get("official_email_domain") or DEFAULT_OFFICIAL_DOMAIN)
    nik, nip = str(current.get("nik") or ""), str(current.get("nip") or "")
    items = [
        *certificate_items(ctx, str(form.get("certificate_serial") or "")),
        *change_items(ctx, current, new),
        *nik_items(nik),
        *nip_items(nik, nip),
        *relaxed_roster_items(ctx, current, new),
        *email_items(new["email"], domain),
    ]
    return {**summarize(items), "new": new}


@service_task(
    "data_change.apply_change",
    params={REQUEST: REQUEST_PARAM, KNOWN: KNOWN_PARAM},
    results=("changed", "new", "roster_review", "applied_at"),
)
def apply_change(ctx: HandlerContext) -> dict[str, Any]:
    """Write the verified new data into the applicant's person record (the ASN roster is left to the Dinas)."""
    form = form_of(ctx, REQUEST)
    chosen_certificate(ctx, str(form.get("certificate_serial") or ""))
    new = new_values(ctx)
    changed = changed_fields(form)
    domain = str(ctx.settings.get("official_email_domain") or DEFAULT_OFFICIAL_DOMAIN)
    if "email" in changed and not email_on_official_domain(new["email"], domain):
        raise HandlerError(f"Alamat e-mail baru ({new['email']}) tidak berada pada domain resmi {domain}.")
    ctx.update_applicant({name: new[name] for name in changed})
    # The roster stays the independent source the checks compare against: a difference it now has from the
    # person record is listed for the Dinas to review (Admin > Selisih data ASN), never written here.
    nip = current_record(ctx)["nip"]
    roster = ctx.lookup_roster(nip) if nip else None
    roster_review = roster is not None and any(
        str(roster.get(name) or "") != str(new[name])
        for name in changed
        if name in ("full_name", "position", "agency_code")
    )
    return {"changed": changed, "new": new, "roster_review": roster_review, "applied_at": now_iso()}


@service_task(
    "data_change.reissue_certificate",
    params={
        REQUEST: REQUEST_PARAM,
        KNOWN: KNOWN_PARAM,
        "csr": Param("str", doc="The CSR (PEM) of the owner's new key, e.g. activation['csr_pem']."),
    },
    results=(*CERTIFICATE_RESULTS, "issued_at", "old_serial", "revoked", "keys_destroyed"),
)
def reissue_certificate(ctx: HandlerContext) -> dict[str, Any]:
    """Have the PSrE re-issue the certificate with the new data on the new CSR (`csr`); the old ends revoked."""
    form = form_of(ctx, REQUEST)
    old_serial = str(form.get("certificate_serial") or "")
    csr_pem = ctx.params.get("csr")
    if not csr_pem:
        raise HandlerError("CSR baru pemohon tidak ditemukan pada data kasus.")
    record = current_record(ctx)  # already updated by data_change.apply_change in this run
    new = new_values(ctx)
    subject = SubjectInfo(
        name=new["full_name"],
        nik=record["nik"],
        email=new["email"],
        agency=record["agency_name"] or new["agency_code"],
        position=new["position"],
        nip=record["nip"] or None,
    )
    try:
        # Registering the same NIK again returns the owner's existing subject id with the verified new data.
        subject_id = ctx.psre.register_subject(subject, f"{ctx.idempotency_key}/subject")
        issued = issue_once(
            ctx, lambda key, _orphan: ctx.psre.reissue(subject_id, subject, str(csr_pem), None, key), str(csr_pem)
        )
    except PkiError as err:
        raise pki_failure(err) from err
    ctx.record_certificate(issued)
    revoked = revoke_superseded_in_inventory(ctx, issued.serial_hex)
    if old_serial and old_serial not in revoked:
        raise HandlerError(f"PSrE tidak mencabut sertifikat lama {old_serial}; hubungi PSrE sebelum melanjutkan.")
    summary = {**certificate_summary(issued), "issued_at": now_iso(), "old_serial": old_serial, "revoked": revoked}
    return {**summary, "keys_destroyed": destroyed_keys(ctx, revoked)}
