"""Reconciliation of the RA's certificate records with the PSrE's books: repair by clear rules, else list for the Admin.

Rules (docs/reliability.md, "Crashes and reconciliation"):
- PSrE revoked, RA active: the RA follows the PSrE (status revoked, or superseded for that reason).
- LOCK state of a server-held key: the RA follows the PSrE (both ways).
- RA revoked, PSrE good: listed for the Admin; the RA never silently un-revokes.
- A good certificate the RA does not know, a certificate the PSrE does not know, a different public key:
  listed for the Admin.
- A revoked certificate the RA does not know (an orphan of a crash, revoked by the retry): nothing to do.
Each repair and each newly listed difference is an audit event; a listed difference that is gone on a
later run is marked resolved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from engine.models import Certificate, ReconciliationFinding, db
from engine.models.base import utcnow
from engine.services import audit
from engine.services.runtime_context import psre
from pki.psre import CertificateRecord

STREAM = "reconciliation"
RA_REVOKED = ("revoked", "superseded")
ACTIVE = "active"


@dataclasses.dataclass(frozen=True)
class Difference:
    """One finding of a run, as plain data (usable after the transaction)."""

    kind: str
    serial: str
    detail: dict[str, Any]


@dataclasses.dataclass
class Report:
    """What one run did: how many certificates it compared, what it repaired and what it listed."""

    checked: int = 0
    repaired: list[Difference] = dataclasses.field(default_factory=list)
    listed: list[Difference] = dataclasses.field(default_factory=list)
    resolved: int = 0
    open_total: int = 0

    @property
    def clean(self) -> bool:
        """True when the RA and the PSrE agree and nothing waits for the Admin."""
        return not self.repaired and self.open_total == 0


def key_digest(certificate_pem: str) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo, as the PSrE's books name a key."""
    key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


class _Run:
    """One reconciliation pass inside the caller's transaction."""

    def __init__(self, actor: str) -> None:
        self.actor = actor
        self.report = Report()
        self.still_open: set[tuple[str, str]] = set()
        self.open = {
            (f.kind, f.serial): f
            for f in db.session.execute(
                select(ReconciliationFinding).where(ReconciliationFinding.state == "open")
            ).scalars()
        }

    def _event(self, finding: ReconciliationFinding, cert: Certificate | None) -> None:
        payload = {"kind": finding.kind, "serial": finding.serial, **json.loads(finding.detail_json)}
        instance_id = cert.instance_id if cert is not None else None
        audit.append(STREAM, f"reconciliation_{finding.state}", self.actor, payload, instance_id)

    def repair(self, kind: str, cert: Certificate, detail: dict[str, Any]) -> None:
        finding = ReconciliationFinding(
            kind=kind, serial=cert.serial, subject_id=cert.subject_id, detail_json=json.dumps(detail), state="repaired"
        )
        finding.resolved_at = utcnow()
        db.session.add(finding)
        self._event(finding, cert)
        self.report.repaired.append(Difference(kind, cert.serial, detail))

    def list_for_admin(
        self, kind: str, serial: str, subject_id: str, detail: dict[str, Any], cert: Certificate | None
    ) -> None:
        self.still_open.add((kind, serial))
        if (kind, serial) in self.open:
            return  # listed on an earlier run: no new event
        finding = ReconciliationFinding(
            kind=kind, serial=serial, subject_id=subject_id, detail_json=json.dumps(detail), state="open"
        )
        db.session.add(finding)
        self._event(finding, cert)
        self.report.listed.append(Difference(kind, serial, detail))

    def compare(self, cert: Certificate, entry: CertificateRecord) -> None:
        if entry.status == "revoked" and cert.status not in RA_REVOKED:
            status = "superseded" if entry.reason == "superseded" else "revoked"
            self.repair("status_followed_psre", cert, {"ra": cert.status, "psre": status, "reason": entry.reason})
            cert.status = status
        elif entry.status == "good" and cert.status in RA_REVOKED:
            self.list_for_admin("revoked_at_ra_only", cert.serial, cert.subject_id, {"ra": cert.status}, cert)
        if key_digest(cert.certificate_pem) != entry.spki_sha256:
            detail = {"ra": key_digest(cert.certificate_pem), "psre": entry.spki_sha256}
            self.list_for_admin("key_mismatch", cert.serial, cert.subject_id, detail, cert)
        locked = entry.server_key and entry.locked
        if bool(cert.locked) != locked:
            self.repair("lock_followed_psre", cert, {"locked": locked})
            cert.locked = locked
        cert.reconciled_at = utcnow()

    def finish(self) -> Report:
        for key, finding in self.open.items():
            if key not in self.still_open:
                finding.state, finding.resolved_at = "resolved", utcnow()
                self._event(finding, None)
                self.report.resolved += 1
        self.report.open_total = len(self.still_open)
        return self.report


def reconcile(actor: str = "penjadwal") -> Report:
    """Compare every certificate the RA records with the PSrE's books; repair, list, log, commit."""
    books = psre().list_certificates()
    records = {c.serial: c for c in db.session.execute(select(Certificate)).scalars()}
    run = _Run(actor)
    for entry in books:
        cert = records.pop(entry.serial_hex, None)
        if cert is not None:
            run.report.checked += 1
            run.compare(cert, entry)
        elif entry.status == "good":
            detail = {"not_after": entry.not_after.isoformat(), "server_key": entry.server_key}
            run.list_for_admin("unknown_at_ra", entry.serial_hex, entry.subject_id, detail, None)
    for cert in records.values():
        run.report.checked += 1
        run.list_for_admin("unknown_at_psre", cert.serial, cert.subject_id, {"ra": cert.status}, cert)
    report = run.finish()
    db.session.commit()
    return report


def findings(limit: int = 200) -> tuple[list[ReconciliationFinding], list[ReconciliationFinding]]:
    """The open findings (oldest first) and the latest repaired or resolved ones (newest first)."""
    open_ = db.session.execute(
        select(ReconciliationFinding).where(ReconciliationFinding.state == "open").order_by(ReconciliationFinding.id)
    ).scalars()
    closed = db.session.execute(
        select(ReconciliationFinding)
        .where(ReconciliationFinding.state != "open")
        .order_by(ReconciliationFinding.id.desc())
        .limit(limit)
    ).scalars()
    return list(open_), list(closed)
