"""The auditor's search over every case: filters on the case, its applicant, its verifikator and certificates.

Each filter is a condition that an index serves (migration 0004): the case's own columns through composite
indexes ending in `id` (so a keyset page walks an index in id order), the applicant through `persons`
(NIK and NIP unique, the name by a trigram index on PostgreSQL when pg_trgm is installed, else a prefix
index), the verifikator through `ix_human_tasks_completed_by`, the certificate through its unique serial.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text
from sqlalchemy.orm import defer, joinedload

from engine import runtime
from engine.models import Agency, Certificate, HumanTask, Person, ProcessDeployment, ProcessInstance, User, db
from engine.services.access_log import log_access
from engine.services.errors import Invalid
from engine.services.masking import mask_identifier
from engine.services.withdrawal import WITHDRAWN
from pki.psre import normalise_serial_hex

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
# Roles whose work needs full NIK and NIP in an export (RA staff checking identities); others see them masked.
IDENTITY_ROLES = ("Admin", "Verifikator")


@dataclass
class Criteria:
    """What the auditor searches for; empty fields do not filter."""

    name: str = ""
    nik: str = ""
    nip: str = ""
    agency: str = ""  # agency code
    sop: str = ""
    version: int | None = None
    status: str = ""
    outcome: str = ""
    verifikator: str = ""  # username of whoever completed a Verifikator task of the case
    started_from: date | None = None
    started_to: date | None = None
    ended_from: date | None = None
    ended_to: date | None = None
    serial: str = ""

    def is_personal(self) -> bool:
        """Tell whether the search names a person (NIK, NIP or name): such searches are logged."""
        return bool(self.name or self.nik or self.nip)

    def as_dict(self) -> dict[str, Any]:
        """The non-empty criteria, JSON-safe (for the audit event and the page's links)."""
        return {
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items() if v not in ("", None)
        }


FIELDS = {
    "nama": "name",
    "nik": "nik",
    "nip": "nip",
    "pd": "agency",
    "sop": "sop",
    "versi": "version",
    "status": "status",
    "hasil": "outcome",
    "verifikator": "verifikator",
    "mulai_dari": "started_from",
    "mulai_sampai": "started_to",
    "selesai_dari": "ended_from",
    "selesai_sampai": "ended_to",
    "serial": "serial",
}
DATE_FIELDS = {"started_from", "started_to", "ended_from", "ended_to"}


def parse_criteria(args: Any) -> Criteria:
    """Criteria from query parameters (Indonesian names); every bad value is named at once (Invalid)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for param, name in FIELDS.items():
        raw = str(args.get(param, "") or "").strip()[:200]
        if not raw:
            continue
        if name in DATE_FIELDS:
            try:
                values[name] = date.fromisoformat(raw)
            except ValueError:
                errors[param] = ["Tanggal harus berbentuk TTTT-BB-HH."]
        elif name == "version":
            if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31:
                values[name] = int(raw)
            else:
                errors[param] = ["Versi harus berupa bilangan bulat positif."]
        elif name in ("nik", "nip") and not (raw.isascii() and raw.isdigit()):
            errors[param] = [f"{param.upper()} hanya berisi angka."]
        elif name == "serial":
            try:
                values[name] = normalise_serial_hex(raw)
            except ValueError:
                errors[param] = ["Nomor seri sertifikat harus heksadesimal."]
        else:
            values[name] = raw
    if errors:
        raise Invalid("Kriteria pencarian tidak valid.", errors)
    return Criteria(**values)


def _name_condition(name: str) -> ColumnElement[bool]:
    """SQL on Person: the name contains `name` (trigram index) or, without pg_trgm, starts with it."""
    pattern = name.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if db.session.get_bind().dialect.name == "postgresql" and not has_trigram():
        return func.lower(Person.full_name).like(f"{pattern}%", escape="\\")
    return func.lower(Person.full_name).like(f"%{pattern}%", escape="\\")


_TRIGRAM: dict[str, bool] = {}


def has_trigram() -> bool:
    """Tell whether this PostgreSQL database has pg_trgm (migration 0004 installs it where it may)."""
    url = str(db.engine.url)
    if url not in _TRIGRAM:
        found = db.session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
        _TRIGRAM[url] = found is not None
    return _TRIGRAM[url]


def _day_start(day: date) -> datetime:
    # Dates are WIB calendar days; times are stored in naive UTC.
    return datetime.combine(day, time()) - timedelta(hours=7)


def conditions(criteria: Criteria) -> list[ColumnElement[bool]]:
    """The SQL conditions on ProcessInstance of the criteria."""
    case = ProcessInstance
    where: list[ColumnElement[bool]] = []
    people: list[ColumnElement[bool]] = []
    if criteria.nik:
        people.append(Person.nik == criteria.nik)
    if criteria.nip:
        people.append(Person.nip == criteria.nip)
    if criteria.name:
        people.append(_name_condition(criteria.name))
    if people:
        applicants = select(User.id).join(Person, User.person_id == Person.id).where(*people)
        where.append(case.applicant_id.in_(applicants))
    if criteria.agency:
        # Looked up first: a literal id lets the planner walk (agency_id, id) instead of every case.
        agency_id = db.session.execute(select(Agency.id).where(Agency.code == criteria.agency)).scalar()
        where.append(case.agency_id == (agency_id or 0))
    if criteria.sop:
        where.append(case.sop_key == criteria.sop)
    if criteria.version is not None:
        deployments = select(ProcessDeployment.id).where(ProcessDeployment.version == criteria.version)
        if criteria.sop:
            deployments = deployments.where(ProcessDeployment.key == criteria.sop)
        where.append(case.deployment_id.in_(deployments))
    if criteria.status:
        where.append(case.status == criteria.status)
    if criteria.outcome:
        where.append(case.outcome == criteria.outcome)
    if criteria.verifikator:
        # Looked up first, for the same reason: the planner then probes ix_human_tasks_completed_by per case.
        verifier = db.session.execute(select(User.id).where(User.username == criteria.verifikator)).scalar() or 0
        where.append(
            select(HumanTask.id)
            .where(
                HumanTask.completed_by_id == verifier,
                HumanTask.instance_id == case.id,
                HumanTask.role == "Verifikator",
            )
            .exists()
        )
    if criteria.started_from:
        where.append(case.created_at >= _day_start(criteria.started_from))
    if criteria.started_to:
        where.append(case.created_at < _day_start(criteria.started_to + timedelta(days=1)))
    if criteria.ended_from:
        where.append(case.ended_at >= _day_start(criteria.ended_from))
    if criteria.ended_to:
        where.append(case.ended_at < _day_start(criteria.ended_to + timedelta(days=1)))
    if criteria.serial:
        where.append(case.id.in_(select(Certificate.instance_id).where(Certificate.serial == criteria.serial)))
    return where


def order_column(criteria: Criteria) -> Any:
    """The time a date-range search pages by (its index then serves the range and the order), else None."""
    if criteria.started_from or criteria.started_to:
        return ProcessInstance.created_at
    if criteria.ended_from or criteria.ended_to:
        return ProcessInstance.ended_at
    return None


def search_query(criteria: Criteria, before: int | None = None, limit: int = PAGE_SIZE) -> Select[Any]:
    """The keyset query of one page, newest case first (`before` is the last id of the previous page).

    Pages are in id order, except a search by a date range: it pages by (that time, id), so the time's index
    serves both the range and the order (walking ids back to an old range would read every newer case).
    The cursor stays a case id; its time is read by the query itself.
    """
    column = order_column(criteria)
    query = (
        select(ProcessInstance)
        .where(*conditions(criteria))
        .options(
            defer(ProcessInstance.state_json),
            joinedload(ProcessInstance.deployment).load_only(
                ProcessDeployment.id, ProcessDeployment.key, ProcessDeployment.title, ProcessDeployment.version
            ),
        )
        .limit(limit + 1)
    )
    if column is None:
        query = query.order_by(ProcessInstance.id.desc())
        return query if before is None else query.where(ProcessInstance.id < before)
    query = query.order_by(column.desc(), ProcessInstance.id.desc())
    if before is not None:
        at = select(column).where(ProcessInstance.id == before).scalar_subquery()
        query = query.where(or_(column < at, and_(column == at, ProcessInstance.id < before)))
    return query


@dataclass
class SearchPage:
    """One page of results and the cursor of the next page."""

    rows: list[ProcessInstance]
    next_before: int | None = None
    people: dict[int, Person] = field(default_factory=dict)


def search(criteria: Criteria, before: int | None = None, limit: int = PAGE_SIZE) -> SearchPage:
    """One keyset page of the cases matching `criteria`, with their applicants' person records."""
    rows = list(db.session.execute(search_query(criteria, before, limit)).scalars())
    next_before = rows[limit - 1].id if len(rows) > limit else None
    rows = rows[:limit]
    return SearchPage(rows, next_before, _people_of(rows))


def _people_of(rows: list[ProcessInstance]) -> dict[int, Person]:
    """Applicant user id -> person record, in one statement."""
    ids = {r.applicant_id for r in rows}
    if not ids:
        return {}
    found = db.session.execute(
        select(User.id, Person).join(Person, User.person_id == Person.id).where(User.id.in_(ids))
    )
    return {uid: person for uid, person in found}


def mask(value: str | None) -> str:
    """A NIK or NIP masked as everywhere else (`masking.mask_identifier`)."""
    return mask_identifier(value) if value else ""


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (text starting with = + - @ gets a leading ')."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


CSV_COLUMNS = (
    "kasus",
    "sop",
    "versi",
    "status",
    "hasil",
    "pemohon",
    "nik",
    "nip",
    "mulai_utc",
    "selesai_utc",
)


def export_csv(criteria: Criteria, user: User) -> tuple[bytes, int]:
    """The whole result as CSV (NIK/NIP masked unless the user's role needs them) and its row count.

    The export is itself an audit event (stream 'access'), committed here with the criteria and the count.
    """
    full = any(user.has_role(role) for role in IDENTITY_ROLES)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count, before = 0, None
    while count < EXPORT_LIMIT:
        page = search(criteria, before, 1000)
        for case in page.rows:
            person = page.people.get(case.applicant_id)
            nik, nip = (person.nik, person.nip) if person else ("", "")
            writer.writerow(
                _cell(value)
                for value in [
                    case.id,
                    case.sop_key,
                    case.deployment.version,
                    case.status,
                    case.outcome or "",
                    person.full_name if person else "",
                    nik if full else mask(nik),
                    (nip or "") if full else mask(nip),
                    case.created_at.isoformat(timespec="seconds"),
                    case.ended_at.isoformat(timespec="seconds") if case.ended_at else "",
                ]
            )
        count += len(page.rows)
        if page.next_before is None:
            break
        before = page.next_before
    log_access(
        user.username, "cases_exported", {"criteria": criteria.as_dict(), "rows": count, "identities_masked": not full}
    )
    db.session.commit()
    return out.getvalue().encode("utf-8"), count


# End events by the diagram's SHA-256 (content-addressed, so never stale): the search form reads each diagram
# text once per process instead of every deployed version's text on every page.
_END_EVENTS: dict[str, dict[str, str]] = {}


def outcome_choices() -> list[tuple[str, str]]:
    """The outcomes a case can have, as people read them: the end events of every deployed diagram (by label)
    and a withdrawal; the search still matches the stored end-event id."""
    # In deployment order: an end-event id several diagrams share is labelled as the first deployed one says.
    shas = list(
        dict.fromkeys(db.session.execute(select(ProcessDeployment.sha256).order_by(ProcessDeployment.id)).scalars())
    )
    missing = set(shas) - set(_END_EVENTS)
    if missing:
        for sha, xml in db.session.execute(
            select(ProcessDeployment.sha256, ProcessDeployment.xml).where(ProcessDeployment.sha256.in_(missing))
        ):
            _END_EVENTS[sha] = runtime.end_event_labels(xml)
    found: dict[str, str] = {}
    for sha in shas:
        for element_id, label in _END_EVENTS[sha].items():
            found.setdefault(element_id, label)
    choices = sorted(found.items(), key=lambda item: (item[1], item[0]))
    return [*choices, (WITHDRAWN, "Ditarik pemohon")]
