"""The verifikator's worklists: the filtered, searchable inbox (fast tracks first) and the RA's case list.

Everything is scoped and filtered in SQL and keyset-paged, so a page costs the same few statements whatever
the number of open tasks or cases. A fast track is a task whose diagram gives it the property
`priority = urgent` (`<sertel:properties>` on the user task); no element id is named here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, literal_column, or_, select

from engine.models import Agency, Certificate, HumanTask, Person, ProcessDeployment, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services.errors import Invalid
from engine.services.queries import PAGE_SIZE, _claimable, _mine, _role_conditions, _withheld_roles, case_list_select

# A task whose SLA falls due within this window counts as "due soon" (and sorts with the others by due time).
DUE_SOON = timedelta(hours=24)
URGENT = "urgent"
SLA_STATES = ("terlambat", "segera")
CLAIM_STATES = ("saya", "belum")
CASE_STATES = ("berjalan", "selesai")
SORTS = ("lama", "baru", "tenggat")
# Stands in for "no SLA" when sorting by due time: after every real due time.
_NO_DUE = datetime(9999, 12, 31)


@dataclass(frozen=True)
class Filters:
    """What a worklist is narrowed to; every field comes from the query string and is checked, never trusted."""

    sop: str = ""
    agency: str = ""
    sla: str = ""
    claim: str = ""
    status: str = ""
    q: str = ""
    sort: str = "lama"

    @property
    def active(self) -> bool:
        """Tell whether anything narrows the list."""
        return any((self.sop, self.agency, self.sla, self.claim, self.status, self.q))

    def args(self, **changes: str) -> dict[str, str]:
        """The query-string arguments that give these filters (with `changes`), empty ones left out."""
        values = {
            "sop": self.sop,
            "pd": self.agency,
            "sla": self.sla,
            "klaim": self.claim,
            "status": self.status,
            "q": self.q,
            "urut": "" if self.sort == "lama" else self.sort,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


def _word(raw: Any, allowed: tuple[str, ...] | None = None, limit: int = 80) -> str:
    text = str(raw or "").strip()[:limit]
    if any(ord(ch) < 32 for ch in text):
        return ""
    return text if allowed is None or text in allowed else ""


def parse_filters(args: Mapping[str, Any]) -> Filters:
    """Filters from query-string arguments; unknown values are ignored (a bad link shows the whole list)."""
    return Filters(
        sop=_word(args.get("sop")),
        agency=_word(args.get("pd")),
        sla=_word(args.get("sla"), SLA_STATES),
        claim=_word(args.get("klaim"), CLAIM_STATES),
        status=_word(args.get("status"), CASE_STATES),
        q=_word(args.get("q"), limit=100),
        sort=_word(args.get("urut"), SORTS) or "lama",
    )


@dataclass(frozen=True)
class Cursor:
    """Where the next keyset page starts: the last row's (rank, sort value, id)."""

    rank: int
    value: str
    id: int

    def encode(self) -> str:
        """The cursor as a query-string value."""
        return f"{self.rank}~{self.value}~{self.id}"


def parse_page_cursor(raw: str | None) -> Cursor | None:
    """A cursor from the query string; anything malformed is the first page (never an error)."""
    parts = str(raw or "").split("~")
    if len(parts) != 3 or parts[0] not in ("0", "1") or not parts[2].isdigit() or len(parts[2]) > 18:
        return None
    if parts[1] and not _valid_stamp(parts[1]):
        return None
    return Cursor(int(parts[0]), parts[1], int(parts[2]))


def _valid_stamp(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class TaskRow:
    """One inbox row as the page shows it."""

    id: int
    instance_id: int
    task_name: str
    form_key: str
    label: str
    lane: str
    role: str
    claimed_by_id: int | None
    created_at: datetime
    due_at: datetime | None
    priority: str | None
    sop_key: str
    title: str
    applicant_name: str
    agency_name: str | None
    check_errors: int | None
    check_warnings: int | None
    now: datetime = field(default_factory=utcnow)

    @property
    def urgent(self) -> bool:
        """Tell whether the diagram marks the task as a fast track."""
        return self.priority == URGENT

    @property
    def sla(self) -> str:
        """'terlambat' past the due time, 'segera' within DUE_SOON of it, else ''."""
        if self.due_at is None:
            return ""
        if self.due_at < self.now:
            return "terlambat"
        return "segera" if self.due_at - self.now <= DUE_SOON else ""

    @property
    def waited(self) -> timedelta:
        """How long the task has been waiting."""
        return self.now - self.created_at


@dataclass
class RowPage:
    """One keyset page of worklist rows and the cursor of the next page (None on the last)."""

    rows: list[Any]
    next_after: str | None = None


def _rank() -> ColumnElement[int]:
    # Literal SQL, the very expression of the index ix_human_tasks_queue, so the planner reads the queue in
    # index order (bound parameters would not match the index expression in a generic plan).
    return case((HumanTask.priority == literal_column(f"'{URGENT}'"), literal_column("0")), else_=literal_column("1"))


def _due_sort() -> ColumnElement[datetime]:
    return func.coalesce(HumanTask.due_at, literal(_NO_DUE))


def _search(q: str) -> ColumnElement[bool] | None:
    """SQL: the case matches the search (applicant name, NIK, NIP, case number, certificate serial)."""
    text = q.strip().lstrip("#").strip()
    if not text:
        return None
    compact = "".join(text.split())
    conditions: list[ColumnElement[bool]] = []
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions.append(func.lower(User.full_name).like(f"%{escaped}%", escape="\\"))
    if compact.isdigit():
        if len(compact) <= 12:
            conditions.append(ProcessInstance.id == int(compact))
        conditions.append(
            exists().where(Person.id == User.person_id, or_(Person.nik == compact, Person.nip == compact))
        )
    conditions.append(
        exists().where(
            or_(Certificate.instance_id == ProcessInstance.id, Certificate.user_id == ProcessInstance.applicant_id),
            func.lower(Certificate.serial) == compact.lower(),
        )
    )
    return or_(*conditions)


def _case_filters(filters: Filters) -> list[ColumnElement[bool]]:
    """SQL conditions on the case (joined with its applicant and agency) from the filters."""
    conditions: list[ColumnElement[bool]] = []
    if filters.sop:
        conditions.append(ProcessInstance.sop_key == filters.sop)
    if filters.agency:
        conditions.append(Agency.code == filters.agency)
    searched = _search(filters.q)
    if searched is not None:
        conditions.append(searched)
    return conditions


def _sla_condition(state: str, due: Any, now: datetime) -> ColumnElement[bool] | None:
    if state == "terlambat":
        return and_(due.is_not(None), due < now)
    if state == "segera":
        return and_(due.is_not(None), due >= now, due <= now + DUE_SOON)
    return None


def _task_query(condition: ColumnElement[bool], filters: Filters, now: datetime) -> Any:
    query = (
        select(
            HumanTask.id,
            HumanTask.instance_id,
            HumanTask.task_name,
            HumanTask.form_key,
            HumanTask.label,
            HumanTask.lane,
            HumanTask.role,
            HumanTask.claimed_by_id,
            HumanTask.created_at,
            HumanTask.due_at,
            HumanTask.priority,
            ProcessInstance.sop_key,
            ProcessDeployment.title,
            User.full_name.label("applicant_name"),
            Agency.name.label("agency_name"),
            ProcessInstance.check_errors,
            ProcessInstance.check_warnings,
        )
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .join(ProcessDeployment, ProcessDeployment.id == ProcessInstance.deployment_id)
        .join(User, User.id == ProcessInstance.applicant_id)
        .outerjoin(Agency, Agency.id == ProcessInstance.agency_id)
        .where(HumanTask.status == "open", condition, *_case_filters(filters))
    )
    sla = _sla_condition(filters.sla, HumanTask.due_at, now)
    return query if sla is None else query.where(sla)


def _keyset(query: Any, sort: str, after: Cursor | None, limit: int) -> tuple[Any, Any]:
    """Order a task query (fast tracks first, then by `sort`) and start it after the cursor."""
    rank = _rank()
    if sort == "tenggat":
        value: Any = _due_sort()
        order = [rank, value, HumanTask.id]
    elif sort == "baru":
        value = None
        order = [rank, HumanTask.id.desc()]
    else:
        value = None
        order = [rank, HumanTask.id]
    if after is not None:
        if value is not None:
            stamp = datetime.fromisoformat(after.value) if after.value else _NO_DUE
            tail = or_(value > stamp, and_(value == stamp, HumanTask.id > after.id))
        elif sort == "baru":
            tail = HumanTask.id < after.id
        else:
            tail = HumanTask.id > after.id
        query = query.where(or_(rank > after.rank, and_(rank == after.rank, tail)))
    return query.order_by(*order).limit(limit + 1), value


def _task_page(query: Any, filters: Filters, limit: int, now: datetime) -> RowPage:
    """Run a keyset task statement (LIMIT limit + 1) and cut it into a page and the next page's cursor."""
    rows = [TaskRow(**row._asdict(), now=now) for row in db.session.execute(query)]
    if len(rows) <= limit:
        return RowPage(rows)
    rows = rows[:limit]
    last = rows[-1]
    value = ""
    if filters.sort == "tenggat":
        value = (last.due_at or _NO_DUE).isoformat()
    return RowPage(rows, Cursor(0 if last.urgent else 1, value, last.id).encode())


@dataclass
class Board:
    """The inbox page: my tasks, tasks I may claim, why whole roles are withheld, and the filters in force."""

    mine: RowPage
    claimable: RowPage
    notices: list[str]
    filters: Filters


# Built inbox statements by everything that shapes them: the user's id, NIK, agency, roles and withheld roles,
# the filters, the cursors and the page size. Building the two statements and their cache keys cost
# SQLAlchemy more than PostgreSQL needs to run them; reusing the very statement objects skips both
# (SQLAlchemy memoises a statement's cache key on the object). The duty rules are constants of the code
# (duties.DUTY_RULES) and need no place in the key; `now` shapes a statement only through the SLA filter, and
# such statements are not kept.
_STATEMENTS: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_STATEMENTS_MAX = 256


def _board_statements(
    user: User,
    withheld: dict[str, str],
    filters: Filters,
    mine_after: Cursor | None,
    claimable_after: Cursor | None,
    limit: int,
    now: datetime,
) -> tuple[Any, Any]:
    """(my tasks, tasks I may claim) as keyset statements; None for a list the user has none of."""
    per_role = _role_conditions(user, withheld)
    if not per_role:
        return None, None
    mine_condition = _mine(user, per_role)
    if filters.claim == "saya":
        mine_condition = and_(mine_condition, HumanTask.claimed_by_id == user.id)
    elif filters.claim == "belum":
        mine_condition = and_(mine_condition, HumanTask.claimed_by_id.is_(None))
    mine, _ = _keyset(_task_query(mine_condition, filters, now), filters.sort, mine_after, limit)
    claimable_condition = _claimable(per_role)
    if claimable_condition is None or filters.claim == "saya":
        return mine, None
    claimable, _ = _keyset(_task_query(claimable_condition, filters, now), filters.sort, claimable_after, limit)
    return mine, claimable


def inbox_board(
    user: User,
    filters: Filters,
    mine_after: Cursor | None = None,
    claimable_after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Board:
    """The filtered inbox of `user`: the same SQL scoping as queries.inbox_pages, fast tracks first."""
    withheld = _withheld_roles(user)
    notices = list(withheld.values())
    now = utcnow()
    key = (
        db.session.get_bind().dialect.name,
        user.id,
        user.active,
        user.nik,
        user.agency_id,
        tuple(user.role_names),
        tuple(sorted(withheld)),
        filters,
        mine_after,
        claimable_after,
        limit,
    )
    statements = None if filters.sla else _STATEMENTS.get(key)
    if statements is None:
        statements = _board_statements(user, withheld, filters, mine_after, claimable_after, limit, now)
        if not filters.sla:
            if len(_STATEMENTS) >= _STATEMENTS_MAX:
                _STATEMENTS.clear()
            _STATEMENTS[key] = statements
    mine_query, claimable_query = statements
    if mine_query is None:
        return Board(RowPage([]), RowPage([]), notices, filters)
    mine = _task_page(mine_query, filters, limit, now)
    claimable = RowPage([]) if claimable_query is None else _task_page(claimable_query, filters, limit, now)
    return Board(mine, claimable, notices, filters)


@dataclass(frozen=True)
class CaseRow:
    """One row of the RA's case list."""

    id: int
    sop_key: str
    status: str
    outcome_label: str | None
    current_steps: str
    created_at: datetime
    updated_at: datetime
    title: str
    version: int
    applicant_name: str
    agency_name: str | None
    check_errors: int | None
    check_warnings: int | None


def case_list(filters: Filters, before: int | None = None, limit: int = PAGE_SIZE) -> RowPage:
    """One keyset page (newest first) of every case, filtered; for RA staff (the caller checks the role)."""
    now = utcnow()
    query = (
        case_list_select(
            ProcessInstance.created_at,
            User.full_name.label("applicant_name"),
            Agency.name.label("agency_name"),
            ProcessInstance.check_errors,
            ProcessInstance.check_warnings,
        )
        .join(User, User.id == ProcessInstance.applicant_id)
        .outerjoin(Agency, Agency.id == ProcessInstance.agency_id)
        .where(*_case_filters(filters))
        .limit(limit + 1)
    )
    if filters.status == "berjalan":
        query = query.where(ProcessInstance.status == "running")
    elif filters.status == "selesai":
        query = query.where(ProcessInstance.status != "running")
    due = _sla_condition(filters.sla, HumanTask.due_at, now)
    if due is not None:
        query = query.where(
            exists().where(HumanTask.instance_id == ProcessInstance.id, HumanTask.status == "open", due)
        )
    if before is not None:
        query = query.where(ProcessInstance.id < before)
    rows = [CaseRow(**row._asdict()) for row in db.session.execute(query)]
    if len(rows) > limit:
        rows = rows[:limit]
        return RowPage(rows, str(rows[-1].id))
    return RowPage(rows)


def filter_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(process key, title) of the deployed processes and (code, name) of the agencies, for the filter form."""
    newest = (
        select(ProcessDeployment.key, func.max(ProcessDeployment.version).label("version"))
        .group_by(ProcessDeployment.key)
        .subquery()
    )
    processes = db.session.execute(
        select(ProcessDeployment.key, ProcessDeployment.title)
        .join(newest, and_(newest.c.key == ProcessDeployment.key, newest.c.version == ProcessDeployment.version))
        .order_by(ProcessDeployment.key)
    ).all()
    agencies = db.session.execute(select(Agency.code, Agency.name).order_by(Agency.name)).all()
    return [(k, t) for k, t in processes], [(c, n) for c, n in agencies]


def require_known_choices(filters: Filters) -> None:
    """Refuse a SOP or agency filter that names no deployed process or agency (the API says so; a page ignores it)."""
    if not (filters.sop or filters.agency):
        return
    sops, agencies = filter_choices()
    problems: dict[str, list[str]] = {}
    if filters.sop and filters.sop not in {key for key, _ in sops}:
        problems["sop"] = ["SOP tidak dikenal; isi kunci proses, mis. issuance_ams."]
    if filters.agency and filters.agency not in {code for code, _ in agencies}:
        problems["agency"] = ["Perangkat daerah tidak dikenal; isi kode perangkat daerah, mis. diskominfo."]
    if problems:
        raise Invalid("Saringan tidak valid.", problems)
