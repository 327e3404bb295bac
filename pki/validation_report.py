"""The validation report's data: per signature and per document timestamp, simple and detailed layers."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pki.validation_labels import MAIN_LABELS, SIMPLE, sub_label

RevocationState = Literal["good", "revoked", "unknown"]


@dataclasses.dataclass(frozen=True)
class BuildingBlock:
    """One ETSI EN 319 102-1 building block of the detailed layer: OK or NOT OK, with the reason."""

    key: str
    label: str
    ok: bool
    reason: str


@dataclasses.dataclass(frozen=True)
class SignatureReport:
    """What a relying party needs to know about one signature (or one document timestamp)."""

    field_name: str
    signer_name: str | None
    signing_time: str | None
    timestamped: bool
    chain_trusted: bool
    chain_reason: str
    revocation_status: RevocationState
    intact: bool
    coverage: str | None
    modification_level: str | None
    docmdp_ok: bool | None
    valid: bool
    verdict: str
    # RFC 5280 invalidity date of the signer's certificate (key reported compromised from then on).
    invalidity_date: str | None = None
    # ETSI EN 319 102-1 main indication and sub-indication, and their Indonesian labels.
    indication: str = "INDETERMINATE"
    sub_indication: str | None = None
    # Why a timestamp counted or not (always said, in Indonesian).
    timestamp_reason: str = ""
    timestamp_time: str | None = None
    # The earliest time at which the signature is proven to exist (trusted timestamps only), ISO and WIB.
    best_proven_time: str | None = None
    signing_time_wib: str | None = None
    best_proven_time_wib: str | None = None
    claimed_signing_time: str | None = None
    level: str | None = None
    scope: dict[str, Any] = dataclasses.field(default_factory=dict)
    building_blocks: list[BuildingBlock] = dataclasses.field(default_factory=list)
    kind: Literal["signature", "document_timestamp"] = "signature"
    signer_subject: str | None = None
    signer_issuer: str | None = None
    claimed_signing_time_iso: str | None = None
    # Base64 SHA-256 of the signature value: identifies the signature in the ETSI XML report.
    signature_digest: str | None = None
    # Base64 SHA-256 of the signer's certificate (DER): the validation object the ETSI XML refers to.
    signer_certificate_digest: str | None = None

    @property
    def simple_verdict(self) -> str:
        """Return Sah / Tidak sah / Tidak dapat ditentukan."""
        return SIMPLE[self.indication]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form, with the Indonesian labels next to every code."""
        data = dataclasses.asdict(self)
        data["simple_verdict"] = self.simple_verdict
        data["indication_label"] = MAIN_LABELS[self.indication]
        data["sub_indication_label"] = sub_label(self.sub_indication)
        return data


@dataclasses.dataclass(frozen=True)
class ValidationReport:
    """The report of one uploaded file: a document verdict plus one entry per signature."""

    is_pdf: bool
    valid: bool
    verdict: str
    signatures: list[SignatureReport]
    document_timestamps: list[SignatureReport] = dataclasses.field(default_factory=list)
    indication: str = "INDETERMINATE"
    sub_indication: str | None = None
    validation_time: str | None = None
    validation_time_wib: str | None = None
    revisions: int = 0
    pages: int = 0

    @property
    def signature_count(self) -> int:
        """Return how many (non-timestamp) signatures the document carries."""
        return len(self.signatures)

    @property
    def simple_verdict(self) -> str:
        """Return Sah / Tidak sah / Tidak dapat ditentukan for the whole document."""
        return SIMPLE[self.indication]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (the validation API's body)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["signatures"] = [s.to_dict() for s in self.signatures]
        data["document_timestamps"] = [s.to_dict() for s in self.document_timestamps]
        data["signature_count"] = self.signature_count
        data["simple_verdict"] = self.simple_verdict
        data["indication_label"] = MAIN_LABELS[self.indication]
        data["sub_indication_label"] = sub_label(self.sub_indication)
        return data
