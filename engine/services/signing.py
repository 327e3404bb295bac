"""Signing documents with an owner's eSign key at the PSrE, and validating signed PDFs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from engine.models import Document, User, db
from engine.services import audit, documents, security_log
from engine.services.errors import Forbidden, Invalid, ServiceError, Unavailable
from engine.services.runtime_context import psre, settings
from pki.errors import KeyLocked, KeySuspended, NoServerKey, PkiError, UnknownSubject, WrongPassphrase
from pki.validation import ValidationReport, validate_pdf
from pki.validation_xml import etsi_xml


class Locked(ServiceError):
    """The owner's eSign key is LOCKED; the way out is SOP 088.13."""

    status = 423


def sign_document(
    user: User, pdf: bytes, filename: str, passphrase: str, reason: str, location: str, visible: bool
) -> Document:
    """Sign a PDF with the user's server-held key; keep the signed file; never store the passphrase."""
    if not pdf.startswith(b"%PDF-"):
        raise Invalid("Berkas harus PDF.", {"file": ["Berkas harus PDF."]})
    if not user.nik:
        raise Forbidden("NIK Anda belum tercatat; hubungi Verifikator.")
    stream = audit.system_stream("signing")
    try:
        signed = psre().sign_pdf(
            user.nik, passphrase, pdf, reason or "Disetujui", location or "Kota Pekalongan", visible
        )
    except WrongPassphrase as exc:
        audit.append(
            stream, "signing_refused", user.username, {"why": "wrong_passphrase", "remaining": exc.remaining_attempts}
        )
        db.session.commit()
        message = f"Passphrase salah. Sisa percobaan sebelum kunci dikunci (LOCK): {exc.remaining_attempts}."
        raise Invalid(message, {"passphrase": [message]}) from exc
    except KeyLocked as exc:
        audit.append(stream, "signing_refused", user.username, {"why": "locked"})
        db.session.commit()
        raise Locked(str(exc)) from exc
    except KeySuspended as exc:
        # A key-compromise report (088.11) about this key awaits its decision: refused, and logged.
        audit.append(stream, "signing_refused", user.username, {"why": "suspended"})
        db.session.commit()
        raise Locked(str(exc)) from exc
    except (NoServerKey, UnknownSubject) as exc:
        raise Forbidden("Anda belum memiliki Sertifikat Elektronik eSign yang aktif (SOP 088.14).") from exc
    except PkiError as exc:
        raise Unavailable(f"PSrE menolak penandatanganan: {exc}") from exc
    name = filename.rsplit(".", 1)[0] + "-ttd.pdf"
    document = documents.store_bytes(signed, name, "application/pdf", "signed", user.id, None, user.username)
    audit.append(
        stream,
        "document_signed",
        user.username,
        {"document_id": document.id, "sha256": document.sha256, "reason": reason},
    )
    db.session.commit()
    return document


def trusted_tsa_pem(root_pem: str) -> list[str]:
    """Return the TSA anchors: our own root (our TSA chains to it) plus the file of SERTEL_TRUSTED_TSA_PEM."""
    extra = str(settings().get("TRUSTED_TSA_PEM") or "")
    return [root_pem, Path(extra).read_text()] if extra else [root_pem]


def validate_report(content: bytes, actor: str | None, source: str = "") -> ValidationReport:
    """Validate an uploaded PDF's signatures against the city's root; a report, never an exception.

    A logged-in `actor` is recorded in the audit log; an anonymous request (actor None) only in the
    rate-limited security log, under the client address `source`.
    """
    adapter = psre()
    revocation = adapter if hasattr(adapter, "revocation_material") else None
    root = adapter.root_certificate_pem()
    report = validate_pdf(content, root, revocation, tsa_roots_pem=trusted_tsa_pem(root))
    outcome = {"verdict": report.verdict, "signatures": report.signature_count}
    if actor is None:
        security_log.record("document_validated", source, outcome)
    else:
        audit.append(audit.system_stream("validation"), "document_validated", actor, outcome)
    db.session.commit()
    return report


def validate(content: bytes, actor: str | None, source: str = "") -> dict[str, Any]:
    """Validate an uploaded PDF: the JSON report (simple and detailed layers) plus the ETSI XML, base64."""
    report = validate_report(content, actor, source)
    data = report.to_dict()
    data["etsi_report_xml_base64"] = base64.b64encode(etsi_xml(report)).decode("ascii")
    return data


def validate_etsi_xml(content: bytes, actor: str | None, source: str = "") -> bytes:
    """Validate an uploaded PDF and return only the ETSI TS 119 102-2 XML report."""
    return etsi_xml(validate_report(content, actor, source))
