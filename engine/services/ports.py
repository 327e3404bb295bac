"""The ports a service-task handler gets: PSrE, roster, certificates, mail and documents of its case."""

from __future__ import annotations

import json
from datetime import timezone
from typing import Any

from sqlalchemy import select

from engine import runtime
from engine.handler_api import HandlerContext, HandlerError
from engine.models import Agency, Certificate, Document, ProcessInstance, RosterEntry, User, db
from engine.services import audit, documents, mail
from engine.services.runtime_context import psre, settings

HANDLER_SETTINGS = ("OFFICIAL_EMAIL_DOMAIN", "CERT_VALIDITY_DAYS", "BASE_URL")


def applicant_of(case: ProcessInstance) -> dict[str, Any]:
    """The case's applicant: their account overlaid with what they last submitted."""
    user = db.session.get(User, case.applicant_id)
    assert user is not None
    record: dict[str, Any] = {
        "user_id": user.id, "username": user.username, "full_name": user.full_name, "email": user.email,
        "nik": user.nik or "", "nip": user.nip or "", "agency_code": user.agency.code if user.agency else "",
        "agency_name": user.agency.name if user.agency else "",
    }
    record.update(json.loads(case.applicant_json or "{}"))
    return record


def roster_row(nip: str) -> dict[str, Any] | None:
    """The roster entry of a NIP as plain data."""
    entry = db.session.get(RosterEntry, nip)
    if entry is None:
        return None
    return {
        "nip": entry.nip, "nik": entry.nik, "full_name": entry.full_name, "agency_code": entry.agency.code,
        "agency_name": entry.agency.name, "position": entry.position, "status": entry.status,
    }


def handler_context(case: ProcessInstance, task: Any, params: dict[str, Any], actor: str) -> HandlerContext:
    """Build the context a handler runs with, bound to this case and task."""
    task_name = task.task_spec.name
    applicant = applicant_of(case)

    def record_certificate(issued: Any) -> None:
        certificate = Certificate(
            serial=issued.serial_hex, instance_id=case.id, user_id=case.applicant_id,
            subject=applicant.get("full_name", ""), status="active",
            not_before=_naive(issued.not_before), not_after=_naive(issued.not_after),
            certificate_pem=issued.certificate_pem, chain_pem=issued.chain_pem,
        )
        db.session.add(certificate)
        db.session.flush()
        audit.append(audit.case_stream(case.id), "certificate_recorded", actor, {"serial": issued.serial_hex}, case.id, task_name)

    def notify(template: str, to: str, context: dict[str, Any]) -> None:
        base = {"case_id": case.id, "applicant": applicant, "link": f"{settings()['BASE_URL']}/kasus/{case.id}"}
        base.update(context)
        sent = mail.send(template, to, base, case.id)
        audit.append(audit.case_stream(case.id), "mail_sent", actor, {"template": template, "to": to, "mail_id": sent.id}, case.id, task_name)

    def document_bytes(doc_id: int) -> bytes:
        document = db.session.get(Document, int(doc_id))
        if document is None or document.instance_id != case.id:
            raise HandlerError(f"Dokumen {doc_id} bukan milik kasus ini.")
        return documents.read(document)

    config = settings()
    return HandlerContext(
        case_id=case.id,
        task_name=task_name,
        idempotency_key=f"case-{case.id}/{task_name}/{runtime.iteration(task)}",
        data=dict(task.data),
        params=params,
        psre=psre(),
        settings={name.lower(): config[name] for name in HANDLER_SETTINGS},
        applicant=applicant,
        lookup_roster=roster_row,
        record_certificate=record_certificate,
        notify=notify,
        document_bytes=document_bytes,
    )


def agency_by_code(code: str) -> Agency | None:
    """Find an agency by its code."""
    return db.session.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none()


def _naive(moment: Any) -> Any:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if getattr(moment, "tzinfo", None) else moment
