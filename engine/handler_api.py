"""The whole surface of the engine that handlers may import: decorators, context and error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.registry import Param, form_schema, service_task
from engine.services.masking import mask_identifier
from engine.terms import owner_terms
from engine.vocabulary import code_label, field_label, readable_value

__all__ = [
    "FormRefused",
    "HandlerContext",
    "HandlerError",
    "Param",
    "code_label",
    "field_label",
    "form_schema",
    "mask_identifier",
    "owner_terms",
    "readable_value",
    "service_task",
]


class HandlerError(RuntimeError):
    """A service task failed in a way the case cannot continue from; the message is shown to staff."""


class FormRefused(HandlerError):
    """A service step right after a form refuses what was submitted: the submitter gets a 422 with `fields`.

    Nothing of the run is kept, so the person corrects the form and submits again.
    """

    def __init__(self, message: str, fields: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.fields = fields


def _unavailable(*_args: Any, **_kwargs: Any) -> Any:
    raise HandlerError("Layanan ini tidak tersedia dalam konteks ini.")


@dataclass
class HandlerContext:
    """What a service-task handler receives: the case, the parameters its diagram passes and the ports it may use.

    A handler reads the case's data only through `params` (each evaluated by the engine from the
    expression the diagram gives), never by another task's id: the diagram, not the handler, decides
    where a value comes from. The whole case record is there only for the dossier (`case_record`).
    """

    case_id: int
    task_name: str
    idempotency_key: str
    params: dict[str, Any] = field(default_factory=dict)
    # The id of the process the case runs (its SOP key), and its title as people read it.
    process_key: str = ""
    process_title: str = ""
    psre: Any = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    # The case's applicant (person record first); read-only, and built when first read.
    applicant: Mapping[str, Any] = field(default_factory=dict)
    lookup_roster: Callable[[str], dict[str, Any] | None] = _unavailable
    record_certificate: Callable[[Any], None] = _unavailable
    notify: Callable[[str, str, dict[str, Any]], None] = _unavailable
    document_bytes: Callable[[int], bytes] = _unavailable
    # Produced files (form PDFs, dossiers): (filename, media type, content, kind) -> document id.
    store_document: Callable[[str, str, bytes, str], int] = _unavailable
    # The case's documents: id, filename, media_type, kind, sha256, size, created_at.
    documents: Callable[[], list[dict[str, Any]]] = _unavailable
    # The applicant's certificates known to the RA, newest first (serial, status, not_after, …).
    certificates: Callable[[], list[dict[str, Any]]] = _unavailable
    # Record a certificate's new status in the RA's inventory: (serial, "revoked" | "superseded" | …).
    set_certificate_status: Callable[[str, str], None] = _unavailable
    # Update the applicant's person record (name, position, agency_code, e-mail) after a verified change (088.12).
    update_applicant: Callable[[dict[str, Any]], None] = _unavailable
    # Seal a PDF the RA produces with the RA's own certificate: (pdf bytes, reason) -> sealed bytes.
    seal_pdf: Callable[[bytes, str], bytes] = _unavailable
    # Write an event into the case's audit stream: (kind, payload).
    log_event: Callable[[str, dict[str, Any]], None] = _unavailable
    # The name of an agency (Perangkat Daerah) by its code, for messages people read (None if unknown).
    agency_name: Callable[[str], str | None] = field(default=lambda code: None)
    # Who caused this run: username, full_name, nik, roles ("penjadwal" for the scheduler).
    actor: dict[str, Any] = field(default_factory=dict)
    # The whole case record (every submission and result so far), for operators that archive the case.
    case_record: Callable[[], Mapping[str, Any]] = _unavailable
    # How people read the case record's steps: data name -> {"title": the task's name in the diagram,
    # "fields": {field name: the form's label}}, for every user task of the case's diagrams.
    step_labels: Callable[[], Mapping[str, Mapping[str, Any]]] = field(default=lambda: {})
    # Secrets typed in the form that started this run (passphrases): never stored, never logged.
    secrets: Mapping[str, str] = field(default_factory=dict)
