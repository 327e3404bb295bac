"""What must never be lost: documents, certificates, the hash-chained event log, and sent mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, Sequence, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Model, utcnow

# The global sequence of events across streams (PostgreSQL); SQLite, whose writers are serialised, uses max + 1.
AUDIT_GSEQ = Sequence("audit_gseq", metadata=Model.metadata)


class AuditEvent(Model):
    """An append-only event; `hash` is its link: an HMAC (key `key_id`) over the event and `prev_hash`."""

    __tablename__ = "audit_events"
    # The unique (stream, seq) index also serves every lookup by stream alone.
    __table_args__ = (UniqueConstraint("stream", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    gseq: Mapped[int] = mapped_column(BigInteger, unique=True)
    key_id: Mapped[str] = mapped_column(String(16))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(60))
    task_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    payload_json: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Model):
    """The newest event of each stream: lets verify() notice a deleted tail, and serialises appends."""

    __tablename__ = "audit_heads"
    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    # The seq the newest anchor holds for this stream: the next anchor takes only heads that moved.
    anchored_seq: Mapped[int] = mapped_column(Integer, default=0)


class Document(Model):
    """A stored file (by content hash) attached to a case."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True, index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(60), default="upload")
    # For an upload: the form field it answers (ktp_scan, selfie…); its form's label says what the document is.
    form_field: Mapped[str | None] = mapped_column(String(60), nullable=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A signed PDF with a renewed archive timestamp is a new row pointing at the one it extends.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), nullable=True, index=True)
    # When the retention job erased the content (engine/services/retention.py); the row and its sha256 stay.
    erased_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # A recommendation or decision letter generated before those PDFs masked the applicant's NIK/NIP (marked by
    # migration 0006_pdfs): it carries them in full, so the need-to-know table reads it as "formulir".
    unmasked_identifiers: Mapped[bool] = mapped_column(default=False, server_default=false())


class DocumentBlob(Model):
    """The bytes of documents by their sha256 (SERTEL_DOCUMENT_STORE=database): one row per distinct content,
    written in the transaction of the case step that stored it."""

    __tablename__ = "document_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(Model):
    """A certificate the PSrE issued to an applicant through a case."""

    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    # The owner's subject id at the PSrE (what reset, re-issue and status calls need).
    subject_id: Mapped[str] = mapped_column(String(80), default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # "esign" when the PSrE holds the key (088.14), "ams" when the owner does (CSR): one active of each per person.
    kind: Mapped[str] = mapped_column(String(10), default="ams")
    not_before: Mapped[datetime] = mapped_column()
    not_after: Mapped[datetime] = mapped_column(index=True)
    certificate_pem: Mapped[str] = mapped_column(Text)
    chain_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The eSign key of this certificate is LOCKED at the PSrE (too many wrong passphrases; way out: 088.13),
    # as last seen by the reconciliation or a refused signature.
    locked: Mapped[bool] = mapped_column(default=False)
    # When the reconciliation last found this record in agreement with the PSrE (None: never checked).
    reconciled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Set once the expiry reminder was sent, so a second scheduler or a re-run never sends it twice.
    expiry_reminded_at: Mapped[datetime | None] = mapped_column(nullable=True)


class OutboxMail(Model):
    """An e-mail the app sent (or queued when no SMTP server is configured)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), nullable=True)
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the retention job erased a sent mail's content (engine/services/retention.py, MAIL_RETENTION_DAYS): the
    # subject and body are emptied, the recipient masked; content_sha256 is the SHA-256 of what was erased.
    erased_at: Mapped[datetime | None] = mapped_column(nullable=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
