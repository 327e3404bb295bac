"""Long-term validation of the RA's archive: service certificate renewal, CA rollover, archive timestamp renewal."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import select

from engine.models import Document, db
from engine.services import audit, documents
from engine.services.errors import Invalid, NotFound
from engine.services.runtime_context import psre, settings
from pki import archive
from pki.errors import PkiError
from pki.signing import RevocationMaterial

log = logging.getLogger(__name__)
PDF = "application/pdf"
# Applicants' uploads are theirs, not the RA's archive: only what the RA produced or signed is renewed.
SKIPPED_KINDS = ("upload",)


@dataclasses.dataclass(frozen=True)
class RefreshReport:
    """What one run did: documents checked, new rows made (old id -> new id), documents that failed."""

    checked: int
    refreshed: dict[int, int]
    failed: dict[int, str]


def renew_service_certificates(actor: str = "penjadwal") -> list[str]:
    """Re-issue the embedded PSrE's TSA / RA seal certificates that expire within the renewal window."""
    adapter = psre()
    if not hasattr(adapter, "renew_service_certificates"):
        return []  # a remote PSrE renews its own service certificates
    window = timedelta(days=int(settings()["SERVICE_CERT_RENEWAL_DAYS"]))
    renewed: list[str] = adapter.renew_service_certificates(window)
    if renewed:
        audit.append("system", "service_certificates_renewed", actor, {"services": renewed})
        db.session.commit()
    return renewed


def rollover_issuing_ca(actor: str) -> str:
    """Make a new issuing CA under the same root issue from now on (embedded PSrE only); return its subject."""
    adapter = psre()
    if not hasattr(adapter, "rollover_issuing_ca"):
        raise Invalid("Pergantian CA penerbit hanya untuk PSrE tertanam; PSrE jarak jauh mengelola CA-nya sendiri.")
    certificate = adapter.rollover_issuing_ca()
    subject = certificate.subject.rfc4514_string()
    audit.append(
        "system",
        "issuing_ca_rolled_over",
        actor,
        {"subject": subject, "serial": format(certificate.serial_number, "x")},
    )
    db.session.commit()
    return str(subject)


def _current_archive() -> list[Document]:
    """Signed-PDF candidates: the RA's PDFs that no newer archive revision has superseded."""
    superseded = select(Document.supersedes_id).where(Document.supersedes_id.is_not(None))
    query = (
        select(Document)
        .where(
            Document.media_type == PDF,
            Document.kind.not_in(SKIPPED_KINDS),
            Document.id.not_in(superseded),
            Document.erased_at.is_(None),
        )
        .order_by(Document.id)
    )
    return list(db.session.scalars(query))


def _material(adapter: Any, content: bytes, tsa_certificate: Callable[[], x509.Certificate]) -> RevocationMaterial:
    """Revocation data for the renewal: OCSP answers and short CRLs, not the issuing CA's whole CRL.

    Embedded: the PSrE's own OCSP answers (TSA, RA seal) and the root's CRL. Remote (HttpPSrE): OCSP answers
    from its responder for every signer and TSA in the PDF and the TSA stamping now, a CRL only as fallback.
    """
    material: RevocationMaterial = adapter.archive_revocation_material(
        [*archive.evidence_certificates(content), tsa_certificate()]
    )
    return material


def _refresh_one(
    document: Document,
    adapter: Any,
    tsa_certificate: Callable[[], x509.Certificate],
    now: datetime,
    window_days: int,
    actor: str,
) -> int | None:
    content = documents.read(document)
    if not archive.is_signed_pdf(content) or not archive.refresh_due(content, now, window_days):
        return None
    expires = archive.evidence_expires(content)
    if expires is not None and tsa_certificate().not_valid_after_utc <= expires:
        # A new stamp from a TSA certificate that expires no later would prove nothing longer: wait for the
        # service certificate renewal instead of stamping again on every run.
        log.warning("document %s is due but the TSA certificate is not newer; renew service certificates", document.id)
        return None
    root = x509.load_pem_x509_certificate(adapter.root_certificate_pem().encode())
    renewed = archive.add_archive_timestamp(
        content, adapter.timestamper(), [root], _material(adapter, content, tsa_certificate)
    )
    newer = documents.store_bytes(renewed, document.filename, PDF, document.kind, None, document.instance_id, actor)
    newer.supersedes_id = document.id
    newer.unmasked_identifiers = document.unmasked_identifiers  # the same content: read by the same rule
    stream = audit.case_stream(document.instance_id) if document.instance_id else "system"
    payload = {
        "document_id": newer.id,
        "supersedes_id": document.id,
        "sha256": newer.sha256,
        "previous_sha256": document.sha256,
        "evidence_expired_at": expires.isoformat() if expires else None,
    }
    audit.append(stream, "archive_timestamp_renewed", actor, payload, document.instance_id)
    return newer.id


def refresh_archive(actor: str = "penjadwal") -> RefreshReport:
    """Give every archived signed PDF whose evidence runs out within the window a new archive timestamp.

    The refreshed PDF is a new Document row (the old bytes plus one incremental revision with fresh CRLs and a
    document timestamp) linked to the previous one; the previous row and file stay as they were. Each document
    commits on its own, so a failure leaves the others renewed.
    """
    adapter = psre()
    window_days = int(settings()["ARCHIVE_REFRESH_WINDOW_DAYS"])
    now = datetime.now(UTC)
    refreshed: dict[int, int] = {}
    failed: dict[int, str] = {}
    candidates = _current_archive()

    @functools.cache
    def tsa_certificate() -> x509.Certificate:
        # The embedded PSrE's TSA, or the remote one's (read from a token it issues): asked once per run, when due.
        return x509.load_pem_x509_certificate(adapter.tsa_certificate_pem().encode())

    for document in candidates:
        try:
            newer = _refresh_one(document, adapter, tsa_certificate, now, window_days, actor)
        except (PkiError, NotFound) as exc:
            db.session.rollback()
            log.warning("archive refresh of document %s failed: %s", document.id, exc)
            failed[document.id] = str(exc)
            continue
        if newer is not None:
            db.session.commit()
            refreshed[document.id] = newer
    return RefreshReport(len(candidates), refreshed, failed)
