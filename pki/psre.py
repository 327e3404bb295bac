"""The PSrE adapter interface the RA codes against, and the value types that cross it."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from cryptography import x509

# RFC 5280 reason names, as the RA's forms and the adapter speak them. removeFromCRL is left out:
# it is a CRL-delta mechanic, not something an owner or verifikator asks for.
REVOCATION_REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "cACompromise": x509.ReasonFlags.ca_compromise,
    "affiliationChanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "certificateHold": x509.ReasonFlags.certificate_hold,
    "privilegeWithdrawn": x509.ReasonFlags.privilege_withdrawn,
    "aACompromise": x509.ReasonFlags.aa_compromise,
}

CertState = Literal["good", "revoked", "unknown"]


class SubjectStatus(enum.StrEnum):
    """A subject's status, in BSrE's own status words (user/check/status)."""

    ISSUE = "ISSUE"
    EXPIRED = "EXPIRED"
    REVOKE = "REVOKE"
    NOT_REGISTERED = "NOT_REGISTERED"
    NO_CERTIFICATE = "NO_CERTIFICATE"


@dataclasses.dataclass(frozen=True)
class SubjectInfo:
    """RA-verified identity of a certificate owner; the only source of a certificate's subject."""

    name: str
    nik: str
    email: str
    agency: str
    position: str
    nip: str | None = None
    # EN 319 412-2 names a person by givenName/surname; unknown for many records (and Indonesian names
    # are often not split at all), so both are optional: see profile.individual_subject_name.
    given_name: str | None = None
    surname: str | None = None


@dataclasses.dataclass(frozen=True)
class IssuedCertificate:
    """A certificate as the PSrE hands it back: leaf PEM plus the chain up to (and including) the root."""

    serial_hex: str
    certificate_pem: str
    chain_pem: str
    not_before: datetime
    not_after: datetime
    subject_id: str
    # "psre" when the PSrE generated and keeps the private key (eSign), "owner" when it certified a CSR.
    key_held_by: str = "owner"

    def to_json(self) -> dict[str, str]:
        """Return a JSON-safe dict (datetimes as ISO 8601), e.g. for handler results."""
        data = dataclasses.asdict(self)
        data["not_before"] = self.not_before.isoformat()
        data["not_after"] = self.not_after.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, str]) -> IssuedCertificate:
        """Rebuild an IssuedCertificate from `to_json()` output."""
        return cls(
            serial_hex=data["serial_hex"],
            certificate_pem=data["certificate_pem"],
            chain_pem=data["chain_pem"],
            not_before=datetime.fromisoformat(data["not_before"]),
            not_after=datetime.fromisoformat(data["not_after"]),
            subject_id=data["subject_id"],
            key_held_by=data.get("key_held_by", "owner"),
        )


@dataclasses.dataclass(frozen=True)
class CertificateStatus:
    """Revocation status of one serial, as CRL/OCSP would report it."""

    serial_hex: str
    status: CertState
    reason: str | None = None
    revoked_at: datetime | None = None
    not_after: datetime | None = None
    # RFC 5280 5.3.2: from when the key is held compromised (the incident date the owner reported).
    invalidity_date: datetime | None = None
    # The server-held key this certificate certified was destroyed at the PSrE (never for a CSR key).
    key_destroyed: bool = False


@dataclasses.dataclass(frozen=True)
class CallOutcome:
    """What the PSrE did under one idempotency key: the operation and its first result, as stored."""

    idempotency_key: str
    operation: str
    result: Any
    created_at: datetime

    def issued(self) -> IssuedCertificate | None:
        """The certificate the call issued, or None for calls that issue nothing (register, revoke)."""
        if isinstance(self.result, dict) and "serial_hex" in self.result:
            return IssuedCertificate.from_json(self.result)
        return None


@dataclasses.dataclass(frozen=True)
class CertificateRecord:
    """One certificate as the PSrE's books hold it (the reconciliation compares these with the RA's)."""

    serial_hex: str
    subject_id: str
    status: CertState
    spki_sha256: str
    not_after: datetime
    reason: str | None = None
    server_key: bool = False
    locked: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        data = dataclasses.asdict(self)
        data["not_after"] = self.not_after.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CertificateRecord:
        """Rebuild a record from `to_json()` output."""
        return cls(**{**data, "not_after": datetime.fromisoformat(data["not_after"])})


def normalise_serial_hex(serial_hex: str) -> str:
    """Return the canonical serial form: lowercase hex, no separators, no leading zeros."""
    cleaned = serial_hex.strip().lower().replace(":", "").replace(" ", "")
    cleaned = cleaned.removeprefix("0x").lstrip("0")
    int(cleaned or "0", 16)  # raises ValueError on non-hex input, before any lookup
    return cleaned or "0"


@runtime_checkable
class PSrE(Protocol):
    """What the RA needs from a certification provider (embedded CA now, BSrE over HTTP later).

    Every mutating call carries an idempotency key: the same key with the same arguments returns the
    first result and changes nothing; the same key with other arguments raises IdempotencyConflict.
    """

    def register_subject(self, subject: SubjectInfo, idempotency_key: str) -> str:
        """Register (or update, for the same NIK) a subject and return its subject id."""
        ...

    def issue_from_csr(self, subject_id: str, csr_pem: str, idempotency_key: str) -> IssuedCertificate:
        """Issue a certificate for the subject's RA-verified data and the CSR's public key."""
        ...

    def issue_with_server_key(self, subject_id: str, passphrase: str, idempotency_key: str) -> IssuedCertificate:
        """eSign: generate the key on the PSrE, keep it under the owner's passphrase, issue its certificate."""
        ...

    def revoke(
        self, serial_hex: str, reason: str, idempotency_key: str, invalidity_date: datetime | None = None
    ) -> None:
        """Revoke a certificate with an RFC 5280 reason name (and, for a compromise, its invalidity date).

        A server-held key the certificate certifies is destroyed in the same step.
        """
        ...

    def suspend_server_key(self, serial_hex: str, idempotency_key: str) -> bool:
        """Suspend signing with the server-held key of this certificate; False if it certifies none."""
        ...

    def lift_server_key_suspension(self, serial_hex: str, idempotency_key: str) -> bool:
        """Lift that suspension (report rejected); False if none was in force."""
        ...

    def renew(
        self, serial_hex: str, csr_pem: str | None, passphrase: str | None, idempotency_key: str
    ) -> IssuedCertificate:
        """Re-key (088.10): new key from a CSR or server-held; the old certificate ends revoked as superseded."""
        ...

    def reissue(
        self,
        subject_id: str,
        subject: SubjectInfo,
        csr_pem: str | None,
        passphrase: str | None,
        idempotency_key: str,
    ) -> IssuedCertificate:
        """Data change (088.12): re-register, issue with the new data, revoke the old as affiliationChanged."""
        ...

    def reset_subject(self, subject_id: str, new_passphrase: str, idempotency_key: str) -> IssuedCertificate:
        """Forgotten passphrase (088.13): new server key + certificate under the new passphrase, old revoked."""
        ...

    def sign_pdf(
        self,
        subject_id_or_nik: str,
        passphrase: str,
        pdf_bytes: bytes,
        reason: str,
        location: str,
        visible: bool = True,
    ) -> bytes:
        """Sign with the server-held key (never retried): WrongPassphrase(remaining) / KeyLocked (088.13) /
        KeySuspended (a key-compromise report awaits its decision)."""
        ...

    def certificate_status(self, serial_hex: str) -> CertificateStatus:
        """Return good / revoked / unknown for a serial."""
        ...

    def subject_status(self, subject_id_or_nik: str) -> SubjectStatus:
        """Return the subject's status word (ISSUE, EXPIRED, REVOKE, NOT_REGISTERED, NO_CERTIFICATE)."""
        ...

    def outcome(self, idempotency_key: str) -> CallOutcome | None:
        """Return what an earlier mutating call under this key did, or None if the key was never used."""
        ...

    def list_certificates(self) -> list[CertificateRecord]:
        """Return every certificate the PSrE issued, with its status, key digest and eSign LOCK state."""
        ...

    def crl_der(self) -> bytes:
        """Return a freshly signed CRL of the issuing CA, DER-encoded."""
        ...

    def ocsp_response_der(self, request_der: bytes) -> bytes:
        """Answer a DER OCSP request with a DER OCSP response."""
        ...

    def ca_chain_pem(self) -> str:
        """Return the issuing CA and root certificates, PEM, issuing first."""
        ...

    def root_certificate_pem(self) -> str:
        """Return the root CA certificate, PEM."""
        ...
