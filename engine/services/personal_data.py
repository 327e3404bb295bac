"""Personal data: opening a case document (always logged: who, what, why) and the owner's own copy ("Data Saya").

UU 27/2022 asks a controller to log who saw personal data and to let the person see what is held about
them. Every download of a case document goes through `open_document`, which appends `document_viewed` to the
case's stream in its own transaction; `my_data` gathers everything held about the logged-in person, and
`my_data_package` packs it as one ZIP with nobody else's data in it.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine.models import AuditEvent, Certificate, Document, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import audit, documents, need_to_know, queries, transactions


def _purpose(user: User, case: ProcessInstance | None, document: Document) -> str:
    if case is None:
        return "pemilik data" if document.uploaded_by_id == user.id else "lainnya"
    return need_to_know.grant(user, case, document) or "lainnya"


def open_document(document_id: int, user: User) -> tuple[Document, bytes]:
    """A document the user may see, with its bytes; the view is logged on the case (who, what, why)."""
    document = queries.document_for(document_id, user)
    content = documents.read(document)
    transactions.begin_write()
    case = db.session.get(ProcessInstance, document.instance_id) if document.instance_id else None
    audit.append(
        audit.case_stream(case.id) if case else "system",
        "document_viewed",
        user.username,
        {
            "document_id": document.id,
            "kind": document.kind,
            "filename": document.filename,
            "why": _purpose(user, case, document),
        },
        case.id if case else None,
    )
    db.session.commit()
    return document, content


@dataclass(frozen=True)
class Access:
    """One view of the person's documents by someone else."""

    at: Any
    actor: str
    case_id: int | None
    filename: str
    why: str


@dataclass(frozen=True)
class MyData:
    user: User
    cases: list[ProcessInstance]
    documents: list[Document]
    certificates: list[Certificate]
    accesses: list[Access]


def my_data(user: User) -> MyData:
    """Everything Sertel holds about the logged-in person (account, person record, cases, documents,
    certificates) and who else opened their case documents."""
    cases = list(
        db.session.execute(
            select(ProcessInstance).where(ProcessInstance.applicant_id == user.id).order_by(ProcessInstance.id)
        ).scalars()
    )
    case_ids = [c.id for c in cases]
    docs = (
        list(
            db.session.execute(
                select(Document).where(Document.instance_id.in_(case_ids)).order_by(Document.id)
            ).scalars()
        )
        if case_ids
        else []
    )
    certificates = list(
        db.session.execute(select(Certificate).where(Certificate.user_id == user.id).order_by(Certificate.id)).scalars()
    )
    views: list[AuditEvent] = (
        list(
            db.session.execute(
                select(AuditEvent)
                .where(
                    AuditEvent.instance_id.in_(case_ids),
                    AuditEvent.kind == "document_viewed",
                    AuditEvent.actor != user.username,
                )
                .order_by(AuditEvent.gseq)
            ).scalars()
        )
        if case_ids
        else []
    )
    accesses = []
    for event in views:
        payload = json.loads(event.payload_json)
        accesses.append(
            Access(
                event.at, event.actor, event.instance_id, str(payload.get("filename", "")), str(payload.get("why", ""))
            )
        )
    return MyData(user, cases, docs, certificates, accesses)


def _person_json(user: User) -> dict[str, Any]:
    person = user.person
    return {
        "akun": {"username": user.username, "nama": user.full_name, "email": user.email},
        "data_identitas": None
        if person is None
        else {
            "nik": person.nik,
            "nama": person.full_name,
            "nip": person.nip,
            "kategori": person.category,
            "perangkat_daerah": person.agency.name if person.agency else None,
            "jabatan": person.position,
            "sumber": person.source,
            "diubah": person.updated_at.isoformat(timespec="seconds"),
        },
    }


def my_data_package(user: User) -> bytes:
    """The person's own copy: data.json (account, person record, cases, certificates, accesses) and every
    document of their cases, in one ZIP. Making it is logged."""
    held = my_data(user)
    summary = {
        "dibuat": utcnow().isoformat(timespec="seconds") + "Z",
        **_person_json(user),
        "kasus": [
            {
                "nomor": c.id,
                "proses": c.sop_key,
                "status": c.status,
                "hasil": c.outcome,
                "dibuat": c.created_at.isoformat(timespec="seconds"),
                "data_pemohon": json.loads(c.applicant_json or "{}"),
            }
            for c in held.cases
        ],
        "dokumen": [
            {
                "id": d.id,
                "kasus": d.instance_id,
                "berkas": d.filename,
                "jenis": d.kind,
                "sha256": d.sha256,
                "dihapus": d.erased_at.isoformat(timespec="seconds") if d.erased_at else None,
            }
            for d in held.documents
        ],
        "sertifikat": [
            {
                "nomor_seri": c.serial,
                "subjek": c.subject,
                "status": c.status,
                "jenis": c.kind,
                "berlaku_mulai": c.not_before.isoformat(timespec="seconds"),
                "berlaku_sampai": c.not_after.isoformat(timespec="seconds"),
            }
            for c in held.certificates
        ],
        "akses_oleh_orang_lain": [
            {
                "waktu": a.at.isoformat(timespec="seconds"),
                "oleh": a.actor,
                "kasus": a.case_id,
                "berkas": a.filename,
                "alasan": a.why,
            }
            for a in held.accesses
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(summary, ensure_ascii=False, indent=2))
        for document in (d for d in held.documents if d.erased_at is None):
            archive.writestr(f"dokumen/{document.id}-{document.filename}", documents.read(document))
    transactions.begin_write()
    audit.append("system", "personal_data_exported", user.username, {"documents": len(held.documents)})
    db.session.commit()
    return buffer.getvalue()
