"""Operators and form rules of SOP 088.11: revocation of a certificate (statement, checks, PSrE revoke)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from engine.handler_api import HandlerContext, HandlerError, Param, code_label, form_schema, service_task
from handlers.common import now_iso, param, pki_failure, submission, wib_text
from handlers.forms import (
    Checkbox,
    DocumentId,
    FormSchema,
    IdentityNumber,
    PastDate,
    SigningPassphrase,
    Text,
    check_nip,
    one_of,
    today_wib,
)
from handlers.issuance_ams import Item, item
from handlers.key_custody import destroyed_keys, invalidity_date, request_serial
from handlers.psre_retry import revoke_once
from pki.errors import PkiError

# RFC 5280 reason names an owner or the RA may give, with the labels of the revocation statement.
REASONS: dict[str, str] = {  # the same words as engine.vocabulary.REVOCATION_REASONS
    "keyCompromise": "Kunci privat bocor / dicurigai bocor",
    "affiliationChanged": "Data berubah / pindah instansi",
    "cessationOfOperation": "Tidak lagi ASN / berhenti menggunakan",
    "superseded": "Digantikan oleh sertifikat baru",
    "unspecified": "Alasan lain (tidak disebutkan)",
}
# Who asked the RA to revoke, when RA staff file the statement on someone's behalf.
REQUESTERS: dict[str, str] = {
    "owner": "Pemilik sertifikat (surat/permintaan langsung)",
    "agency_head": "Kepala Perangkat Daerah (Atasan)",
    "ra": "Otoritas Pendaftaran (mis. data kepegawaian menyatakan keluar)",
}
ACTIVE = "active"
REVOKED_STATUSES = ("revoked", "superseded")


# ---------------------------------------------------------------- forms


@form_schema("revocation.start")
class RevocationStartSchema(FormSchema):
    """Start data: the certificate and, when known, the reason (e.g. given by the RA for a leaver)."""

    # The head of the owner's agency may start a revocation for one of their people (DOMAIN: 088.11).
    allow_agency_head = True

    certificate_serial = Text(load_default="", validate=validate.Length(max=64, error="Nomor seri tidak valid."))
    reason = Text(load_default="", validate=validate.OneOf([*REASONS, ""], error="Alasan pencabutan tidak dikenal."))


@form_schema("revocation_statement")
class StatementSchema(FormSchema):
    """Formulir Pernyataan Pencabutan Sertifikat Elektronik."""

    certificate_serial = Text(required=True, validate=validate.Length(max=64, error="Nomor seri tidak valid."))
    reason = Text(required=True, validate=one_of(list(REASONS), "salah satu alasan pencabutan pada daftar"))
    chronology = Text(
        required=True,
        validate=validate.Length(min=20, max=4000, error="Uraikan kronologi dalam 20–4000 karakter."),
    )
    incident_date = PastDate(required=True)
    statement_true = Checkbox(
        must_be_true="Anda harus menyatakan bahwa keterangan ini benar dan memahami akibat pencabutan.",
        metadata={"label": "Saya menyatakan keterangan ini benar dan memahami bahwa pencabutan tidak dapat dibatalkan"},
    )
    signing_passphrase = SigningPassphrase()


@form_schema("revocation_head_statement")
class HeadStatementSchema(StatementSchema):
    """The same statement, filed by the head of the owner's agency (who is the submitter on record)."""


@form_schema("revocation_ra_statement")
class RaStatementSchema(StatementSchema):
    """The same statement, filed by RA staff on the owner's behalf, with who asked for it."""

    requested_by = Text(required=True, validate=one_of(list(REQUESTERS), "pemilik, atasan, atau Otoritas Pendaftaran"))
    requester_name = Text(load_default="", validate=validate.Length(max=200, error="Maksimal 200 karakter."))
    requester_nip = IdentityNumber(load_default="")
    request_letter = DocumentId(label="Surat permintaan pencabutan", load_default=None, allow_none=True)

    @validates_schema
    def head_is_named(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Require the head's name and NIP when the agency head asked for the revocation."""
        if data.get("requested_by") != "agency_head":
            return
        errors: dict[str, list[str]] = {}
        if not data.get("requester_name"):
            errors["requester_name"] = ["Nama Kepala Perangkat Daerah wajib diisi."]
        nip = data.get("requester_nip") or ""
        if not nip:
            errors["requester_nip"] = ["NIP Kepala Perangkat Daerah wajib diisi."]
        else:
            try:
                check_nip(nip)
            except ValidationError as exc:
                errors["requester_nip"] = list(exc.messages) if isinstance(exc.messages, list) else [str(exc.messages)]
        if errors:
            raise ValidationError(errors)


@form_schema("revocation_fast_track")
class FastTrackDecisionSchema(FormSchema):
    """The verifikator's decision on a key-compromise revocation (fast track: approve or reject)."""

    decision = Text(required=True, validate=one_of(["approve", "reject"], "setujui atau tolak"))
    reasons = Text(load_default="")
    checked_identity = Checkbox(metadata={"label": "Identitas pemohon dan kepemilikan sertifikat telah diperiksa"})

    @validates_schema
    def decision_is_justified(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Require reasons to reject and the identity check to approve."""
        if data.get("decision") == "reject" and not data.get("reasons"):
            raise ValidationError("Alasan wajib diisi bila permohonan ditolak.", field_name="reasons")
        if data.get("decision") == "approve" and not data.get("checked_identity"):
            raise ValidationError("Wajib dicentang sebelum pencabutan disetujui.", field_name="checked_identity")


# ---------------------------------------------------------------- helpers


def initiator(ctx: HandlerContext) -> str:
    """'owner' if the owner started the case, 'head' if their agency head did, 'ra' for RA staff."""
    started_by = str(param(ctx, "started_by") or "")
    if not started_by or started_by == str(ctx.applicant.get("username") or ""):
        return "owner"
    # Called at the start, so the actor is the starter; staff roles win over a head's.
    roles = set(ctx.actor.get("roles") or []) if ctx.actor.get("username") == started_by else set()
    return "head" if "Atasan" in roles and not roles & {"Verifikator", "Admin"} else "ra"


def submitted_statement(ctx: HandlerContext) -> Mapping[str, Any]:
    """The revocation statement the diagram passes as `filed_statement` (whoever filed it)."""
    form = param(ctx, "filed_statement")
    if not isinstance(form, Mapping):
        raise HandlerError("Formulir pernyataan pencabutan belum diisi.")
    return form


def chosen_reason(ctx: HandlerContext) -> str:
    """The RFC 5280 reason the requester chose (parameter `reason`); never a default in its place."""
    reason = str(param(ctx, "reason") or "").strip()
    if reason not in REASONS:
        raise HandlerError(f"Alasan pencabutan '{reason or '-'}' tidak dikenal; pencabutan tidak dilakukan.")
    return reason


SERIAL = Param("str", doc="The serial of the certificate, e.g. revocation_request['serial'].")
STATEMENT = Param("dict", doc="The revocation statement as filed (by the owner, their head or RA staff).")


def roster_item(ctx: HandlerContext) -> list[Item]:
    """Tell the verifikator what the roster says of the owner (a leaver explains an RA-initiated case)."""
    nip = "".join(str(ctx.applicant.get("nip") or "").split())
    row = ctx.lookup_roster(nip) if nip else None
    if row is None:
        return [
            item("roster_status", "Status pada data ASN", True, "info", "Pemilik tidak tercatat pada data ASN kota.")
        ]
    status = str(row.get("status") or "-")
    message = f"Status pemilik pada data ASN: {status} ({row.get('agency_name') or '-'})."
    return [item("roster_status", "Status pada data ASN", True, "info", message)]


# ---------------------------------------------------------------- operators


@service_task(
    "revocation.prepare_revocation",
    params={
        "started_by": Param("str", doc="The username of whoever started the case (started_by)."),
        "certificate_serial": Param("str", required=False, doc="The certificate named at the start, if any."),
        "reason": Param("str", required=False, doc="The reason given at the start, if any."),
    },
    results=("initiator", "certificates", "prefill", "reasons"),
)
def prepare_revocation(ctx: HandlerContext) -> dict[str, Any]:
    """Tell who filed the case, list the owner's active certificates and prefill the statement."""
    certificates = [
        {"serial": c["serial"], "subject": c.get("subject", ""), "not_after": c.get("not_after", "")}
        for c in ctx.certificates()
        if c.get("status") == ACTIVE
    ]
    wanted = str(param(ctx, "certificate_serial") or "").strip().lower()
    serials = [c["serial"] for c in certificates]
    prefill = {
        "certificate_serial": wanted or (serials[0] if len(serials) == 1 else ""),
        "reason": str(param(ctx, "reason") or ""),
        "incident_date": today_wib().isoformat(),
    }
    return {"initiator": initiator(ctx), "certificates": certificates, "prefill": prefill, "reasons": REASONS}


@service_task(
    "revocation.check_certificate",
    params={"filed_statement": STATEMENT},
    results=("serial", "reason", "reason_label", "checked_at", "status", "problem", "checks", "fast_track"),
)
def check_certificate(ctx: HandlerContext) -> dict[str, Any]:
    """Check the certificate named in the statement (`filed_statement`): the owner's, not revoked already.

    `status` is 'active' (go on), 'revoked' (refused: already revoked) or 'not_found' (back to the form).
    """
    form = submitted_statement(ctx)
    serial = str(form.get("certificate_serial") or "").strip().lower()
    reason = str(form.get("reason") or "unspecified")
    base = {"serial": serial, "reason": reason, "reason_label": REASONS.get(reason, reason), "checked_at": now_iso()}
    owned = next((c for c in ctx.certificates() if str(c.get("serial", "")).lower() == serial), None)
    if owned is None:
        problem = f"Sertifikat dengan nomor seri {serial or '-'} tidak ditemukan pada pemilik ini. Pilih sertifikat dari daftar."
        return {**base, "status": "not_found", "problem": problem, "checks": {"items": [], "errors": 1}}
    try:
        at_psre = ctx.psre.certificate_status(serial)
    except PkiError as err:
        raise pki_failure(err) from err
    if owned.get("status") in REVOKED_STATUSES or at_psre.status == "revoked":
        if at_psre.status == "revoked" and owned.get("status") not in REVOKED_STATUSES:
            ctx.set_certificate_status(serial, "revoked")  # the RA's records catch up with the PSrE
        when = wib_text(at_psre.revoked_at) if at_psre.revoked_at else "sebelumnya"
        why = code_label("reason", at_psre.reason) or code_label("status", owned.get("status")) or "-"
        problem = (
            f"Sertifikat {serial} sudah dicabut ({when}, alasan: {why}). "
            "Pencabutan tidak dapat diajukan dua kali; sertifikat ini sudah tidak berlaku."
        )
        return {**base, "status": "revoked", "problem": problem, "checks": {"items": [], "errors": 1}}
    items = [
        item(
            "certificate_owned",
            "Sertifikat milik pemohon",
            True,
            "error",
            f"Sertifikat {serial} milik pemohon dan aktif.",
        ),
        item(
            "certificate_psre_status",
            "Status di PSrE",
            at_psre.status == "good",
            "error",
            f"PSrE mencatat sertifikat: {code_label('psre_status', at_psre.status) or at_psre.status}.",
        ),
        item("reason", "Alasan pencabutan", True, "info", REASONS.get(reason, reason)),
        *roster_item(ctx),
    ]
    failed = [entry for entry in items if not entry["ok"]]
    checks = {
        "items": items,
        "all_ok": not failed,
        "errors": sum(1 for e in failed if e["severity"] == "error"),
        "warnings": sum(1 for e in failed if e["severity"] == "warning"),
    }
    return {**base, "status": ACTIVE, "problem": "", "checks": checks, "fast_track": reason == "keyCompromise"}


@service_task(
    "revocation.revoke_certificate",
    params={
        "serial": SERIAL,
        "reason": Param("str", doc="The reason the requester chose on the statement.", choices=tuple(REASONS)),
        "filed_statement": Param(
            "dict", required=False, doc="The statement as filed (its incident date dates a compromise)."
        ),
    },
    results=("serial", "reason", "reason_label", "revoked_at", "invalidity_date", "key_destroyed", "already_revoked"),
)
def revoke_certificate(ctx: HandlerContext) -> dict[str, Any]:
    """Have the PSrE revoke the certificate `serial` with the requester's `reason`; CRL and OCSP show it at once.

    For a compromised key the incident date goes along as the invalidity date, and a server-held key
    is destroyed by the PSrE in the same step (`key_destroyed`). A retry after a crash finds the earlier
    revocation and takes it as done (handlers/psre_retry.py).
    """
    serial = request_serial(ctx)
    reason = chosen_reason(ctx)
    invalid_from = invalidity_date(submission(ctx, "filed_statement")) if reason == "keyCompromise" else None
    try:
        repeated = revoke_once(ctx, serial, reason, invalid_from)
    except PkiError as err:
        raise pki_failure(err) from err
    ctx.set_certificate_status(serial, "revoked")
    status = ctx.psre.certificate_status(serial)
    return {
        "serial": serial,
        "reason": reason,
        "reason_label": REASONS.get(reason, reason),
        "revoked_at": status.revoked_at.isoformat() if status.revoked_at else now_iso(),
        "invalidity_date": invalid_from.isoformat() if invalid_from else None,
        "key_destroyed": bool(destroyed_keys(ctx, [serial])),
        "already_revoked": repeated,
    }


@service_task("revocation.suspend_signing", params={"serial": SERIAL}, results=("serial", "suspended", "at", "note"))
def suspend_signing(ctx: HandlerContext) -> dict[str, Any]:
    """Suspend signing with the owner's server-held key at once, before the verifikator decides (keyCompromise).

    `suspended` is false when the certificate certifies no server-held key (an AMS key the owner holds).
    """
    serial = request_serial(ctx)
    try:
        suspended = bool(ctx.psre.suspend_server_key(serial, ctx.idempotency_key))
    except PkiError as err:
        raise pki_failure(err) from err
    note = (
        "Penandatanganan dengan kunci eSign sertifikat ini ditangguhkan sampai laporan diputuskan."
        if suspended
        else "Sertifikat ini tidak memakai kunci yang disimpan PSrE; tidak ada penandatanganan yang ditangguhkan."
    )
    return {"serial": serial, "suspended": suspended, "at": now_iso(), "note": note}


@service_task("revocation.lift_suspension", params={"serial": SERIAL}, results=("serial", "lifted", "at"))
def lift_suspension(ctx: HandlerContext) -> dict[str, Any]:
    """Lift the suspension when the key-compromise report is rejected: the owner may sign again."""
    serial = request_serial(ctx)
    try:
        lifted = bool(ctx.psre.lift_server_key_suspension(serial, ctx.idempotency_key))
    except PkiError as err:
        raise pki_failure(err) from err
    return {"serial": serial, "lifted": lifted, "at": now_iso()}
