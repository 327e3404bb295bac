"""A case's evidence package: a ZIP an auditor takes away and anyone can verify offline (package_verify).

Members:
- timeline.json, timeline.pdf      the case's events in order, as data and printed
- documents/<id>-<name>            every document of the case (form PDFs, uploads, dossier) as stored
- diagram/<key>-v<version>.bpmn    the BPMN XML of the deployed version the case ran on
- diagram/definition.json          that version's parsed definition, with the processes it calls
- audit/events.json                the case stream's events with their chain links (seq, gseq, prev_hash,
                                   hash, key_id) and every column the MAC covers
- audit/anchor.json                the newest anchor committing to the case stream's head (its heads,
                                   digest, RFC 3161 token and RA seal), anchored now if the head moved
- certs/ra_seal.pem, certs/ca_chain.pem   the RA seal certificate and the CA chain up to the root
- manifest.json                    SHA-256 of every member above
- manifest.sig                     the RA seal (detached ECDSA/RSA signature, SHA-256) over manifest.json
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from datetime import timedelta, timezone
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode
from sqlalchemy import select

from engine.models import AuditEvent, Document, ProcessInstance, db
from engine.models.base import utcnow
from engine.services import access_log, audit, audit_anchor, documents
from engine.services.errors import NotFound, Unavailable
from engine.services.runtime_context import psre, settings

FORMAT = "sertel-paket-bukti/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
WIB = timezone(timedelta(hours=7), "WIB")
# A fixed time for every member, so the same content gives the same ZIP bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return cleaned[:100] or "berkas"


def event_record(event: AuditEvent) -> dict[str, Any]:
    """An event with every column its MAC covers and its chain link."""
    return {
        "stream": event.stream,
        "seq": event.seq,
        "gseq": event.gseq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "kind": event.kind,
        "task_name": event.task_name,
        "payload_json": event.payload_json,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "key_id": event.key_id,
    }


def covering_anchor(stream: str, head_seq: int) -> AuditEvent | None:
    """The newest anchor whose heads include `stream` (its head at `head_seq` when the newest is current)."""
    candidates = db.session.execute(
        select(AuditEvent)
        .where(AuditEvent.stream == audit.ANCHORS, AuditEvent.payload_json.like(f'%"{stream}"%'))
        .order_by(AuditEvent.seq.desc())
        .limit(5)
    ).scalars()
    for anchor in candidates:
        if any(h[0] == stream for h in audit_anchor.anchored_heads(anchor)):
            return anchor
    return None


def _anchor_for(stream: str, events: list[AuditEvent], actor: str) -> AuditEvent | None:
    """The anchor of the case's current head: anchor now when the head moved since (a TSA failure leaves the
    newest older anchor, which the verifier reports as partial)."""
    last = events[-1].seq if events else 0
    found = covering_anchor(stream, last)
    if found is not None and any(h[0] == stream and int(h[1]) == last for h in audit_anchor.anchored_heads(found)):
        return found
    try:
        audit_anchor.create_anchor(actor)
    except RuntimeError:
        db.session.rollback()
    return covering_anchor(stream, last)


def _timeline(events: list[AuditEvent]) -> list[dict[str, Any]]:
    return [
        {
            "seq": e.seq,
            "at": e.at.isoformat(timespec="seconds"),
            "actor": e.actor,
            "kind": e.kind,
            "task_name": e.task_name,
            "payload": json.loads(e.payload_json),
        }
        for e in events
    ]


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def timeline_pdf(case: ProcessInstance, timeline: list[dict[str, Any]]) -> bytes:
    """The timeline printed: one block per event (time in WIB, actor, kind, step, data)."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 13)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.multi_cell(
        width, 7, _latin1(f"LINIMASA KASUS #{case.id} - {case.deployment.title} (versi {case.deployment.version})")
    )
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        width, 5, _latin1(f"Status: {case.status} {case.outcome or ''}. Dicetak {utcnow():%Y-%m-%d %H:%M} UTC.")
    )
    for item in timeline:
        moment = item["at"]
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 9)
        pdf.multi_cell(width, 5, _latin1(f"#{item['seq']}  {moment} UTC  {item['kind']}  oleh {item['actor']}"))
        pdf.set_font("Helvetica", "", 8)
        if item["task_name"]:
            pdf.multi_cell(width, 4, _latin1(f"Langkah: {item['task_name']}"))
        body = json.dumps(item["payload"], ensure_ascii=False, sort_keys=True)
        pdf.multi_cell(width, 4, _latin1(body[:3000]), wrapmode=WrapMode.CHAR)
    return bytes(pdf.output())


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(zipfile.ZipInfo(name, ZIP_TIME), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def build(case_id: int, actor: str) -> bytes:
    """The ZIP of the case's evidence; its export is logged (stream 'access') and committed."""
    case = db.session.get(ProcessInstance, case_id)
    if case is None:
        raise NotFound("Kasus tidak ditemukan.")
    adapter = psre()
    if not hasattr(adapter, "seal_digest"):
        raise Unavailable("Paket bukti memerlukan kunci segel Otoritas Pendaftaran (PSrE tertanam).")
    stream = audit.case_stream(case_id)
    events = audit.events_of_case(case_id)
    anchor = _anchor_for(stream, events, actor)
    case = db.session.get(ProcessInstance, case_id)  # the anchor's commit expired it
    assert case is not None
    timeline = _timeline(events)
    members: dict[str, bytes] = {
        "timeline.json": json.dumps(timeline, ensure_ascii=False, indent=2).encode("utf-8"),
        "timeline.pdf": timeline_pdf(case, timeline),
        f"diagram/{case.deployment.key}-v{case.deployment.version}.bpmn": case.deployment.xml.encode("utf-8"),
        # The parsed definition the case ran on, the called processes (archive, verification…) included.
        "diagram/definition.json": case.deployment.spec_json.encode("utf-8"),
        "audit/events.json": json.dumps([event_record(e) for e in events], ensure_ascii=False, indent=2).encode(),
    }
    if anchor is not None:
        record = {**event_record(anchor), "payload": json.loads(anchor.payload_json)}
        members["audit/anchor.json"] = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")
    docs = db.session.execute(select(Document).where(Document.instance_id == case_id).order_by(Document.id)).scalars()
    for doc in docs:
        if doc.erased_at is None:  # an erased document (retention) is only its hash and its tombstone event
            members[f"documents/{doc.id}-{_safe_name(doc.filename)}"] = documents.read(doc)
    members["certs/ra_seal.pem"] = adapter.ra_seal_certificate_pem().encode("ascii")
    members["certs/ca_chain.pem"] = adapter.ca_chain_pem().encode("ascii")
    manifest = {
        "format": FORMAT,
        "case_id": case_id,
        "process_key": case.deployment.key,
        "process_version": case.deployment.version,
        "status": case.status,
        "outcome": case.outcome,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "created_by": actor,
        "retention_years": int(settings()["DOSSIER_RETENTION_YEARS"]),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(members.items())},
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    digest = hashlib.sha256(manifest_bytes).digest()
    members[MANIFEST] = manifest_bytes
    members[SIGNATURE] = base64.b64encode(adapter.seal_digest(digest))
    access_log.log_access(
        actor, "evidence_package_exported", {"case_id": case_id, "manifest_sha256": digest.hex(), "files": len(members)}
    )
    db.session.commit()
    return _zip(members)
