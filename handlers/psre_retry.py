"""Crash-safe PSrE calls: a step whose idempotency key was already used adopts or supersedes what the PSrE did.

The RA's case transaction rolls back when the process dies after the PSrE committed, so a retry of the
step reaches the PSrE with the same idempotency key and, often, other data (a new CSR from the browser,
another passphrase). The PSrE then answers IdempotencyConflict. Instead of leaving the case stuck, the
step asks the PSrE what it did under that key and either adopts the certificate (same public key) or
revokes it as superseded and issues anew under a derived key. Both are events of the case.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from engine.handler_api import HandlerContext, HandlerError
from pki.errors import AlreadyRevoked, IdempotencyConflict
from pki.psre import CallOutcome, IssuedCertificate

# Each round is one crash between the PSrE and the RA's commit; more than this is not a crash but a bug.
MAX_ROUNDS = 8
SUPERSEDED = "superseded"

# (idempotency key, the orphan this call replaces or None) -> the issued certificate.
IssueCall = Callable[[str, IssuedCertificate | None], IssuedCertificate]


def round_key(ctx: HandlerContext, round_number: int) -> str:
    """The idempotency key of a round: the step's own key first, then derived ones."""
    return ctx.idempotency_key if round_number == 0 else f"{ctx.idempotency_key}/ulang-{round_number}"


def spki_sha256(public_key: Any) -> str:
    """SHA-256 of a public key's SubjectPublicKeyInfo (how the PSrE's books name a key too)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def csr_key_digest(csr_pem: str) -> str:
    """The key digest of a CSR."""
    return spki_sha256(x509.load_pem_x509_csr(csr_pem.encode()).public_key())


def certificate_key_digest(certificate_pem: str) -> str:
    """The key digest of a certificate."""
    return spki_sha256(x509.load_pem_x509_certificate(certificate_pem.encode()).public_key())


def log(ctx: HandlerContext, kind: str, payload: dict[str, Any]) -> None:
    """Write an event of the case (a context without the port, as in unit tests, logs nothing)."""
    with contextlib.suppress(HandlerError):
        ctx.log_event(kind, payload)


def revoke_orphan(ctx: HandlerContext, orphan: IssuedCertificate, key: str) -> None:
    """Revoke a certificate the PSrE issued in a run the RA never committed."""
    # Revoked already (by the operation itself, or an earlier round): the goal is reached.
    with contextlib.suppress(AlreadyRevoked):
        ctx.psre.revoke(orphan.serial_hex, SUPERSEDED, f"{key}/batal")


def issue_once(
    ctx: HandlerContext, call: IssueCall, csr_pem: str | None, revoke_first: bool = True
) -> IssuedCertificate:
    """Run an issuing PSrE call so that a retry after a crash always completes and never leaves two certificates.

    `csr_pem` is the owner's CSR (None for a server-held key: the PSrE itself adopts a repeat whose
    passphrase opens the earlier key). `revoke_first=False` when the call itself replaces the orphan it
    is given (renewal revokes the certificate it renews).
    """
    orphan: IssuedCertificate | None = None
    for round_number in range(MAX_ROUNDS):
        key = round_key(ctx, round_number)
        try:
            return call(key, orphan)
        except IdempotencyConflict:
            earlier: CallOutcome | None = ctx.psre.outcome(key)
            previous = earlier.issued() if earlier is not None else None
            if previous is None:
                raise
        if csr_pem is not None and certificate_key_digest(previous.certificate_pem) == csr_key_digest(csr_pem):
            log(ctx, "psre_outcome_adopted", {"idempotency_key": key, "serial": previous.serial_hex})
            return previous
        if revoke_first:
            revoke_orphan(ctx, previous, key)
        log(ctx, "psre_outcome_superseded", {"idempotency_key": key, "serial": previous.serial_hex})
        orphan = previous
    raise HandlerError("PSrE terus menolak permintaan langkah ini; hubungi Admin untuk rekonsiliasi.")


def revoke_once(ctx: HandlerContext, serial: str, reason: str, invalidity_date: datetime | None = None) -> bool:
    """Revoke at the PSrE; return True if it was revoked already (by an earlier run or anyone else)."""
    try:
        ctx.psre.revoke(serial, reason, ctx.idempotency_key, invalidity_date=invalidity_date)
    except AlreadyRevoked:
        return True  # revoked meanwhile (another case, the PSrE's own RA): the goal is reached
    except IdempotencyConflict:
        # The key revoked this certificate with another reason in a run the RA never committed.
        if ctx.psre.certificate_status(serial).status != "revoked":
            raise
        log(ctx, "psre_outcome_adopted", {"idempotency_key": ctx.idempotency_key, "serial": serial})
        return True
    return False
