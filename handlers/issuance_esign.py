"""Operators and forms of SOP 088.14 (issuance with the eSign method: the key is held by the PSrE)."""

from __future__ import annotations

from typing import Any

from engine.handler_api import HandlerContext, HandlerError, Param, form_schema, service_task
from handlers import issuance_ams
from handlers.common import CERTIFICATE_RESULTS, certificate_summary, now_iso, param, pki_failure
from handlers.forms import FormSchema
from handlers.psre_retry import issue_once
from pki.errors import PkiError

# 088.14 uses the same catalogue forms as 088.9 (registration, recommendation): its diagram names them.

PASSPHRASE = "passphrase"


@form_schema("issuance_esign.start")
class EsignStartSchema(FormSchema):
    """088.14 takes no start data; it issues a PSrE-held (eSign) certificate, one active per person."""

    issues_certificate_kind = "esign"


@service_task(
    "issuance_esign.automated_checks",
    params={"registration": issuance_ams.REGISTRATION},
    results=issuance_ams.CHECK_RESULTS,
)
def automated_checks(ctx: HandlerContext) -> dict[str, Any]:
    """Check NIK, NIP, their agreement, ASN roster membership and the official e-mail domain."""
    return issuance_ams.automated_checks(ctx)


@service_task(
    "issuance_esign.issue_with_server_key",
    params={"subject_id": Param("str", doc="The owner's subject id at the PSrE, e.g. psre_subject['subject_id'].")},
    results=(*CERTIFICATE_RESULTS, "key_held_by", "issued_at"),
)
def issue_with_server_key(ctx: HandlerContext) -> dict[str, Any]:
    """Have the PSrE generate the owner's key, keep it under the passphrase just set, and issue its certificate.

    The passphrase arrives only as ctx.secrets['passphrase'] from the activation form of the same run;
    it is passed to the PSrE and never returned, stored or logged.
    """
    passphrase = ctx.secrets.get(PASSPHRASE)
    if not passphrase:
        raise HandlerError("Passphrase tidak tersedia; isi ulang formulir aktivasi.")
    subject_id = param(ctx, "subject_id")
    if not subject_id:
        raise HandlerError("Pemohon belum terdaftar di PSrE (subject_id tidak ditemukan).")
    try:
        # A retry after a crash with the passphrase typed then adopts the key the PSrE made; with
        # another passphrase that key (which its owner cannot open) is revoked and a new one made.
        issued = issue_once(
            ctx, lambda key, _orphan: ctx.psre.issue_with_server_key(str(subject_id), passphrase, key), None
        )
    except PkiError as err:
        raise pki_failure(err) from err
    ctx.record_certificate(issued)
    return {**certificate_summary(issued), "key_held_by": "psre", "issued_at": now_iso()}
