"""Retention (UU 27/2022): how long each kind of case document is kept after its case ends, and erasing it after;
and how long a sent mail's content is kept in the outbox (MAIL_RETENTION_DAYS, `erase_expired_mails`).

The periods come from settings (RETENTION_YEARS per document kind and outcome, DOSSIER_RETENTION_YEARS for the
rest; engine/config.py). `erase_expired` erases the content of every document past its period: the row, its
name and its sha256 stay, the bytes go (the blob or file, once no document still kept shares it), and a
tombstone `document_erased` is appended to the case's stream in the same transaction, so the audit chain
still verifies and says what was erased, when and why.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from engine import runtime
from engine.models import Document, DocumentBlob, OutboxMail, ProcessInstance, db
from engine.models.base import utcnow
from engine.services import audit, documents, need_to_know, transactions
from engine.services.runtime_context import settings

log = logging.getLogger(__name__)

OUTCOMES: dict[str, str] = {
    "dikabulkan": "Permohonan dikabulkan / selesai",
    "tidak_dikabulkan": "Ditolak, tidak direkomendasikan, ditarik atau kedaluwarsa",
}


def outcome_of(case: ProcessInstance) -> str:
    """The retention outcome of an ended case: not granted when it did not complete, or when the end event it
    reached says so in its diagram (`granted=false`, runtime.GRANTED_PROPERTY)."""
    if case.status != "completed":
        return "tidak_dikabulkan"
    end = runtime.end_events(case.deployment.xml).get(case.outcome or "")
    return "tidak_dikabulkan" if end is not None and not end.granted else "dikabulkan"


def periods() -> dict[str, dict[str, int]]:
    """Years kept after the case ends, per document kind and outcome (settings, defaults filled in)."""
    config = settings()
    default = int(config["DOSSIER_RETENTION_YEARS"])
    given: dict[str, dict[str, int]] = config.get("RETENTION_YEARS") or {}
    unknown = set(given) - set(need_to_know.KINDS)
    if unknown:
        raise ValueError(f"SERTEL_RETENTION_YEARS names unknown document kinds: {sorted(unknown)}")
    return {
        kind: {outcome: int(given.get(kind, {}).get(outcome, default)) for outcome in OUTCOMES}
        for kind in need_to_know.KINDS
    }


def _years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True)
class Erased:
    """One document whose content was erased."""

    document_id: int
    case_id: int
    kind: str
    filename: str
    sha256: str
    kept_until: datetime


@dataclass(frozen=True)
class ErasedMail:
    """One sent mail whose content was erased: what is left of it."""

    mail_id: int
    case_id: int | None
    template: str
    sent_at: datetime
    content_sha256: str

    def as_dict(self) -> dict[str, object]:
        """The mail as the erasure report and its audit event record it."""
        return {
            "mail_id": self.mail_id,
            "case_id": self.case_id,
            "template": self.template,
            "sent_at": self.sent_at.isoformat(timespec="seconds"),
            "content_sha256": self.content_sha256,
        }


@dataclass
class ErasureReport:
    """What a run erased (and when it ran, as of which moment)."""

    now: datetime
    erased: list[Erased] = field(default_factory=list)
    mails: list[ErasedMail] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat(timespec="seconds"),
            "mails": [m.as_dict() for m in self.mails],
            "erased": [
                {
                    "document_id": e.document_id,
                    "case_id": e.case_id,
                    "kind": e.kind,
                    "filename": e.filename,
                    "sha256": e.sha256,
                    "kept_until": e.kept_until.isoformat(timespec="seconds"),
                }
                for e in self.erased
            ],
        }


def expired_documents(now: datetime) -> dict[int, list[tuple[Document, str, datetime]]]:
    """Case id -> the documents of ended cases past their period (not yet erased), with kind and end of period."""
    table = periods()
    shortest = min(min(by_outcome.values()) for by_outcome in table.values())
    rows = db.session.execute(
        select(Document, ProcessInstance)
        .join(ProcessInstance, Document.instance_id == ProcessInstance.id)
        .where(
            Document.erased_at.is_(None),
            ProcessInstance.status != "running",
            ProcessInstance.ended_at.is_not(None),
            ProcessInstance.ended_at <= _years_after(now, -shortest),
        )
        .order_by(Document.id)
    ).all()
    due: dict[int, list[tuple[Document, str, datetime]]] = {}
    for document, case in rows:
        kind = need_to_know.kind_of(document)
        assert case.ended_at is not None
        kept_until = _years_after(case.ended_at, table[kind][outcome_of(case)])
        if kept_until <= now:
            due.setdefault(case.id, []).append((document, kind, kept_until))
    return due


def erase_expired(now: datetime | None = None, actor: str = "penjadwal") -> ErasureReport:
    """Erase the content of every document past its retention period, one transaction per case, then the
    content of every sent mail past MAIL_RETENTION_DAYS (`erase_expired_mails`, one transaction).

    Each erased document gets `erased_at` and a `document_erased` event on its case's stream (document id,
    sha256, kind, outcome, period). Its bytes are deleted once no document still kept has the same content.
    """
    moment = now or utcnow()
    report = ErasureReport(moment)
    _erase_documents(moment, actor, report)
    report.mails = erase_expired_mails(moment, actor)
    return report


def _erase_documents(moment: datetime, actor: str, report: ErasureReport) -> None:
    for case_id in sorted(expired_documents(moment)):
        transactions.begin_write()
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        # Re-read under the write lock: another run may have erased them meanwhile (idempotent).
        batch = expired_documents(moment).get(case_id, [])
        for document, kind, kept_until in batch:
            document.erased_at = moment
            audit.append(
                audit.case_stream(case_id),
                "document_erased",
                actor,
                {
                    "document_id": document.id,
                    "sha256": document.sha256,
                    "filename": document.filename,
                    "kind": kind,
                    "outcome": outcome_of(case),
                    "kept_until": kept_until.isoformat(timespec="seconds"),
                    "reason": "masa retensi berakhir",
                },
                case_id,
            )
            report.erased.append(Erased(document.id, case_id, kind, document.filename, document.sha256, kept_until))
        db.session.flush()
        orphaned = _unshared({document.sha256 for document, _kind, _until in batch})
        for digest in orphaned:
            blob = db.session.get(DocumentBlob, digest)
            if blob is not None:
                db.session.delete(blob)
        db.session.commit()
        # Files go only after the erasure committed: a rollback must not lose content still recorded as kept.
        for digest in orphaned:
            documents.delete_file(digest)
    if report.erased:
        log.info(
            "retention: erased %d document(s): %s",
            len(report.erased),
            ", ".join(f"#{e.document_id} ({e.kind}, case {e.case_id})" for e in report.erased),
        )


# ---------------------------------------------------------------- the outbox


def mail_period() -> int:
    """Days a sent mail's content is kept after it was sent (MAIL_RETENTION_DAYS)."""
    days = int(settings()["MAIL_RETENTION_DAYS"])
    if days < 0:
        raise ValueError("SERTEL_MAIL_RETENTION_DAYS tidak boleh negatif")
    return days


def mail_content_sha256(mail: OutboxMail) -> str:
    """The SHA-256 of what erasing a mail removes: recipient, subject and body, as canonical UTF-8 JSON.

    Whoever holds the mail as it was sent can show it is the one the outbox listed (the hash stays).
    """
    content = {"recipient": mail.recipient, "subject": mail.subject, "body": mail.body}
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def masked_recipient(address: str) -> str:
    """An erased mail's recipient: the first character of the local part and the domain (`b•••@kota.go.id`)."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}•••{at}{domain}" if at else "•••"


def erase_expired_mails(now: datetime | None = None, actor: str = "penjadwal") -> list[ErasedMail]:
    """Empty the subject and body of every mail sent more than MAIL_RETENTION_DAYS ago, in one transaction.

    The row stays (its case, template, created and sent times), the recipient is masked, `content_sha256` keeps
    the SHA-256 of what was erased and `erased_at` says when; one `mails_erased` event on the system stream lists
    them (ids, case, template, sent time, hash). A mail never sent (no SMTP, a failed delivery) is never erased:
    it is still to be delivered or looked into.
    """
    moment = now or utcnow()
    cutoff = moment - timedelta(days=mail_period())
    due = (
        select(OutboxMail)
        .where(OutboxMail.erased_at.is_(None), OutboxMail.sent_at.is_not(None), OutboxMail.sent_at <= cutoff)
        .order_by(OutboxMail.id)
    )
    if db.session.execute(due.with_only_columns(OutboxMail.id).limit(1)).first() is None:
        return []
    transactions.begin_write()
    erased: list[ErasedMail] = []
    for mail in db.session.execute(due).scalars():  # re-read under the write lock: another run may have erased them
        assert mail.sent_at is not None
        digest = mail_content_sha256(mail)
        mail.content_sha256 = digest
        mail.erased_at = moment
        mail.recipient = masked_recipient(mail.recipient)
        mail.subject = ""
        mail.body = ""
        erased.append(ErasedMail(mail.id, mail.instance_id, mail.template, mail.sent_at, digest))
    if erased:
        audit.append(
            "system",
            "mails_erased",
            actor,
            {
                "reason": "masa retensi surel berakhir",
                "retention_days": mail_period(),
                "mails": [m.as_dict() for m in erased],
            },
        )
    db.session.commit()
    if erased:
        log.info(
            "retention: erased the content of %d sent mail(s): %s",
            len(erased),
            ", ".join(f"#{m.mail_id}" for m in erased),
        )
    return erased


def _unshared(digests: set[str]) -> set[str]:
    """The contents no document still kept refers to (the same bytes may belong to several documents)."""
    if not digests:
        return set()
    still_kept = db.session.execute(
        select(Document.sha256).where(Document.sha256.in_(digests), Document.erased_at.is_(None))
    ).scalars()
    return digests - set(still_kept)
