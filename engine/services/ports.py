"""The ports a service-task handler gets: PSrE, roster, certificates, mail and documents of its case."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from typing import Any

from sqlalchemy import select

from engine import registry, runtime
from engine.handler_api import HandlerContext, HandlerError, field_label
from engine.models import Agency, Certificate, Document, ProcessInstance, RosterEntry, User, db
from engine.services import audit, documents, field_access, held, mail, people
from engine.services.runtime_context import psre, settings
from pki.errors import PkiError

HANDLER_SETTINGS = (
    "OFFICIAL_EMAIL_DOMAIN",
    "CERT_VALIDITY_DAYS",
    "BASE_URL",
    "DINAS_EMAIL",
    "VERIFIKATOR_EMAIL",
    "KEY_COMPROMISE_SLA_HOURS",
    "ACTIVATION_LINK_DAYS",
)


def applicant_of(case: ProcessInstance) -> dict[str, Any]:
    """The case's applicant: their person record, with what they declared in this case (phone, position).

    Identity (name, NIK, NIP, category, agency, e-mail) comes from the person record last, so nothing
    submitted in a form can override it.
    """
    user = held.user(case.applicant_id)
    assert user is not None
    record: dict[str, Any] = {
        "user_id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "agency_code": user.agency.code if user.agency else "",
        "agency_name": user.agency.name if user.agency else "",
    }
    record.update(json.loads(case.applicant_json or "{}"))
    person = people.person_record(user)
    declared_position = record.get("position")
    record.update(person)
    record["recorded_position"] = person.get("position", "")
    if not person.get("position") and declared_position:
        record["position"] = declared_position
    return record


def roster_row(nip: str) -> dict[str, Any] | None:
    """The roster entry of a NIP as plain data."""
    entry = db.session.get(RosterEntry, nip)
    if entry is None:
        return None
    return {
        "nip": entry.nip,
        "nik": entry.nik,
        "full_name": entry.full_name,
        "agency_code": entry.agency.code,
        "agency_name": entry.agency.name,
        "position": entry.position,
        "status": entry.status,
    }


def certificate_row(cert: Certificate) -> dict[str, Any]:
    """A certificate of the inventory as plain data."""
    return {
        "serial": cert.serial,
        "subject_id": cert.subject_id,
        "status": cert.status,
        "locked": bool(cert.locked),
        "subject": cert.subject,
        "case_id": cert.instance_id,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
    }


def agency_by_code(code: str) -> Agency | None:
    """Find an agency by its code."""
    return db.session.execute(select(Agency).where(Agency.code == code)).scalar_one_or_none()


class CasePorts:
    """The side effects a handler may cause, bound to one case and step, each logged in the case's stream."""

    def __init__(self, case: ProcessInstance, task_name: str, actor: str) -> None:
        self.case, self.task_name, self.actor = case, task_name, actor

    def _log(self, kind: str, payload: dict[str, Any]) -> None:
        """Append an event to the case's stream, attributed to this step."""
        # A handler's side effect is the engine's doing; whose action started the run is kept with it.
        record = {**payload, "triggered_by": self.actor}
        audit.append(audit.case_stream(self.case.id), kind, "sistem", record, self.case.id, self.task_name)

    def record_certificate(self, issued: Any) -> None:
        """Add an issued certificate to the inventory, owned by the case's applicant."""
        db.session.add(
            Certificate(
                serial=issued.serial_hex,
                subject_id=issued.subject_id,
                instance_id=self.case.id,
                user_id=self.case.applicant_id,
                subject=applicant_of(self.case).get("full_name", ""),
                status="active",
                kind="esign" if getattr(issued, "key_held_by", "owner") == "psre" else "ams",
                not_before=_naive(issued.not_before),
                not_after=_naive(issued.not_after),
                certificate_pem=issued.certificate_pem,
                chain_pem=issued.chain_pem,
            )
        )
        db.session.flush()
        self._log("certificate_recorded", {"serial": issued.serial_hex})

    def notify(self, template: str, to: str, context: dict[str, Any]) -> None:
        """Send a mail from a template, with the case's link and applicant in its context."""
        applicant = applicant_of(self.case)
        base = {
            "case_id": self.case.id,
            "applicant": applicant,
            "link": f"{settings()['BASE_URL']}/kasus/{self.case.id}",
        }
        base.update(context)
        if to != applicant.get("email"):
            # A mail to anyone but the owner carries what every other viewer may read in a mail (field_access).
            base = field_access.shown(base, "surel", field_access.strictest("surel"), applicant, frozenset())
        sent = mail.send(template, to, base, self.case.id)
        self._log("mail_sent", {"template": template, "to": to, "mail_id": sent.id})

    def document_bytes(self, doc_id: int) -> bytes:
        """The content of a document of this case."""
        document = db.session.get(Document, int(doc_id))
        if document is None or document.instance_id != self.case.id:
            raise HandlerError(f"Dokumen {doc_id} bukan milik kasus ini.")
        return documents.read(document)

    def store_document(self, filename: str, media_type: str, content: bytes, kind: str) -> int:
        """Store a file the handler produced as a document of this case."""
        return documents.store_bytes(content, filename, media_type, kind, None, self.case.id, self.actor).id

    def seal_pdf(self, pdf: bytes, reason: str) -> bytes:
        """Seal a PDF with the RA's certificate.

        The embedded PSrE holds the RA seal key itself. With a remote PSrE the RA seals through its own
        eSign account there (RA_SEAL_SUBJECT + RA_SEAL_PASSPHRASE), like any owner signing a PDF.
        """
        adapter, config = psre(), settings()
        if hasattr(adapter, "ra_seal"):
            sealed: bytes = adapter.ra_seal().seal_pdf(pdf, reason=reason, location="Kota Pekalongan")
        elif config["RA_SEAL_SUBJECT"] and config["RA_SEAL_PASSPHRASE"]:
            try:
                sealed = adapter.sign_pdf(
                    config["RA_SEAL_SUBJECT"], config["RA_SEAL_PASSPHRASE"], pdf, reason, "Kota Pekalongan", True
                )
            except PkiError as exc:
                raise HandlerError(f"Segel Otoritas Pendaftaran ditolak PSrE: {exc}") from exc
        else:
            raise HandlerError(
                "Segel Otoritas Pendaftaran tidak tersedia: atur SERTEL_RA_SEAL_SUBJECT dan _PASSPHRASE."
            )
        self._log("document_sealed", {"reason": reason})
        return sealed

    def documents(self) -> list[dict[str, Any]]:
        """The case's documents, oldest first."""
        rows = db.session.execute(
            select(Document).where(Document.instance_id == self.case.id).order_by(Document.id)
        ).scalars()
        return [
            {
                "id": d.id,
                "filename": d.filename,
                "media_type": d.media_type,
                "kind": d.kind,
                "sha256": d.sha256,
                "size": d.size,
                "created_at": d.created_at.isoformat(),
            }
            for d in rows
        ]

    def certificates(self) -> list[dict[str, Any]]:
        """The applicant's certificates, newest first."""
        rows = db.session.execute(
            select(Certificate).where(Certificate.user_id == self.case.applicant_id).order_by(Certificate.id.desc())
        ).scalars()
        return [certificate_row(c) for c in rows]

    def set_certificate_status(self, serial: str, status: str) -> None:
        """Record a certificate's new status in the inventory."""
        cert = db.session.execute(select(Certificate).where(Certificate.serial == serial)).scalar_one_or_none()
        if cert is None:
            raise HandlerError(f"Sertifikat {serial} tidak ada dalam inventaris.")
        cert.status = status
        self._log("certificate_status_changed", {"serial": serial, "status": status})

    def update_applicant(self, fields: dict[str, Any]) -> None:
        """Apply verified changes (088.12) to the applicant's person record and account; never to the roster."""
        user = held.user(self.case.applicant_id)
        assert user is not None
        changed = {k: v for k, v in fields.items() if v not in (None, "")}
        if changed.get("agency_code") and agency_by_code(str(changed["agency_code"])) is None:
            raise HandlerError(f"Perangkat Daerah '{changed['agency_code']}' tidak dikenal.")
        people.apply_verified_change(user, changed, self.actor)
        if changed.get("agency_code"):
            self.case.agency_id = user.agency_id
        record = json.loads(self.case.applicant_json or "{}")
        record.update({k: v for k, v in changed.items() if k in ("position", "phone")})
        self.case.applicant_json = json.dumps(record, ensure_ascii=False)
        self._log("applicant_updated", {"fields": sorted(changed)})


def step_labels(task: Any) -> dict[str, dict[str, Any]]:
    """How people read the steps of a case's record: data name -> {"title", "fields": {name: label}}.

    From the diagrams the case runs (its own and the processes it calls): each user task's name, and the
    labels of its catalogue form's fields (the field's metadata label, else the shared table of field names).
    Secret fields are left out: they are never stored.
    """
    top = getattr(task.workflow, "top_workflow", None) or task.workflow
    specs = [top.spec, *[s for s in (getattr(top, "subprocess_specs", None) or {}).values() if s is not None]]
    found: dict[str, dict[str, Any]] = {}
    for spec in specs:
        for task_spec in spec.task_specs.values():
            form = runtime.form_of(task_spec)
            if form is None or form.output in found:
                continue
            schema = registry.form_for(form.name)
            fields = {
                name: str(f.metadata.get("label") or field_label(name))
                for name, f in (registry.schema_fields(schema).items() if schema is not None else ())
                if not f.metadata.get("secret")
            }
            catalogue = registry.form(form.name)
            title = (
                getattr(task_spec, "bpmn_name", None)
                or (catalogue.title if catalogue else "")
                or field_label(form.output)
            )
            found[form.output] = {"title": str(title), "fields": fields}
    return found


def agency_name(code: str) -> str | None:
    """The name of the agency with this code (None when there is none)."""
    found: str | None = db.session.execute(select(Agency.name).where(Agency.code == code)).scalar_one_or_none()
    return found


class LazyRecord(Mapping[str, Any]):
    """A read-only record built on its first read: four service tasks run in a step, and most never read it."""

    __slots__ = ("_make", "_record")

    def __init__(self, make: Callable[[], dict[str, Any]]) -> None:
        self._make = make
        self._record: dict[str, Any] | None = None

    def materialise(self) -> dict[str, Any]:
        if self._record is None:
            self._record = self._make()
        return self._record

    def __getitem__(self, key: str) -> Any:
        return self.materialise()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.materialise())

    def __len__(self) -> int:
        return len(self.materialise())


def handler_context(
    case: ProcessInstance,
    task: Any,
    params: dict[str, Any],
    actor: str,
    secrets: Mapping[str, str] | None = None,
    actor_record: Mapping[str, Any] | None = None,
) -> HandlerContext:
    """Build the context a handler runs with, bound to this case and task (`actor_record`: actor_of(actor), if known)."""
    ports = CasePorts(case, task.task_spec.name, actor)
    config = settings()
    applicant = LazyRecord(lambda: applicant_of(case))

    def update_applicant(fields: dict[str, Any]) -> None:
        applicant.materialise()  # a handler reads the record as it was before its own change, as it always has
        ports.update_applicant(fields)

    return HandlerContext(
        case_id=case.id,
        task_name=ports.task_name,
        idempotency_key=f"case-{case.id}/{ports.task_name}/{runtime.iteration(task)}",
        params=params,
        process_key=case.sop_key,
        process_title=case.deployment.title,
        agency_name=agency_name,
        psre=psre(),
        settings={name.lower(): config[name] for name in HANDLER_SETTINGS},
        applicant=applicant,
        lookup_roster=roster_row,
        record_certificate=ports.record_certificate,
        notify=ports.notify,
        document_bytes=ports.document_bytes,
        store_document=ports.store_document,
        documents=ports.documents,
        certificates=ports.certificates,
        set_certificate_status=ports.set_certificate_status,
        update_applicant=update_applicant,
        seal_pdf=ports.seal_pdf,
        log_event=ports._log,
        actor=dict(actor_record) if actor_record is not None else actor_of(actor),
        case_record=lambda: dict(task.data),
        step_labels=lambda: step_labels(task),
        secrets=dict(secrets or {}),
    )


def actor_of(username: str) -> dict[str, Any]:
    """Who caused a run, as handlers see it (the scheduler has no account)."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        return {"username": username, "full_name": username, "nik": "", "nip": "", "roles": []}
    return actor_record(user)


def actor_record(user: User) -> dict[str, Any]:
    """An account as handlers see the person who caused a run."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "nik": user.nik or "",
        "nip": user.nip or "",
        "roles": user.role_names,
    }


def _naive(moment: Any) -> Any:
    return moment.astimezone(UTC).replace(tzinfo=None) if getattr(moment, "tzinfo", None) else moment
