"""The mechanics of advancing a case: an engine bound to the case, the step log, locking and saving."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import set_committed_value

from engine import runtime
from engine.models import HumanTask, ProcessDeployment, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import account_rows, audit, driver_sql, held, row_writes, transactions
from engine.services.access import LANE_ROLES
from engine.services.adopt import RowShape, adopt
from engine.services.duties import recommending_agency_id
from engine.services.errors import Conflict, Invalid, NotFound, Unavailable
from engine.services.ports import actor_of, actor_record, handler_context
from engine.services.runtime_context import settings


def engine_for(
    case: ProcessInstance, actor: str, secrets: Mapping[str, str] | None = None, actor_user: User | None = None
) -> runtime.SertelScriptEngine:
    """A script engine whose service tasks get handler contexts bound to this case (and this run's secrets).

    Who acts is read once per engine (one run), not once per service task; `actor_user`, the account the
    use case already holds, saves reading it again.
    """
    known: dict[str, Any] = {}

    def context(task: Any, params: dict[str, Any]) -> Any:
        if "actor" not in known:
            known["actor"] = actor_record(actor_user) if actor_user is not None else actor_of(actor)
            # Held for the run: the session's identity map is weak, and each service task reads the applicant.
            known["applicant"] = held.user(case.applicant_id)
        return handler_context(case, task, params, actor, secrets, actor_record=known["actor"])

    return runtime.SertelScriptEngine(settings(), context)


def load_case(case: ProcessInstance, engine: runtime.SertelScriptEngine) -> Any:
    """The case's workflow, its definition known by its deployment's identity: the definition's JSON (tens of KB,
    `lock_task` defers it) is read from the database only when this process has not deserialised it yet.

    A deployment is never changed once stored; id, XML digest and deployment time together name one definition
    text in every database a process may serve (a test run's databases reuse ids).
    """
    deployment = case.deployment
    key = ("deployment", deployment.id, deployment.sha256, deployment.deployed_at)
    return runtime.load_deployed(key, lambda: deployment.spec_json, case.state_json, engine)


# Who the log credits with a step the engine ran: the person (or the scheduler) who set it off is in its payload.
SYSTEM_ACTOR = "sistem"


def step_recorder(case: ProcessInstance, actor: str) -> Any:
    """A callback that logs every completed engine step (service outputs included) of the case.

    The step is the engine's, so it is credited to "sistem"; `triggered_by` names whose action started the run.
    """

    def on_completed(task: Any) -> None:
        if runtime.is_significant(task) and not runtime.is_user_task_record(task):
            record = {**runtime.describe_completed(task), "triggered_by": actor}
            note_check_totals(case, record.get("output"))
            audit.append(
                audit.case_stream(case.id), "step_completed", SYSTEM_ACTOR, record, case.id, record["task_name"]
            )

    return on_completed


def note_check_totals(case: ProcessInstance, output: Any) -> None:
    """Keep the totals of a step's automated checks on the case (the inbox flags them without loading state).

    A check result is any step output shaped like the verifikator's check list: items, errors, warnings.
    """
    for value in (output or {}).values() if isinstance(output, dict) else ():
        if isinstance(value, dict) and {"items", "errors", "warnings"} <= set(value):
            case.check_errors = int(value["errors"] or 0)
            case.check_warnings = int(value["warnings"] or 0)


def run_step(step: Any) -> None:
    """Run an engine step; a handler or script failure rolls the whole transaction back."""
    try:
        step()
    except runtime.EngineError as exc:
        db.session.rollback()
        if exc.fields is not None:
            raise Invalid(str(exc), exc.fields) from exc
        raise Unavailable(f"{exc} Data Anda belum disimpan; silakan coba lagi.") from exc


@dataclass(frozen=True, slots=True)
class RowState:
    """An inbox row as read under its case's lock: what the duty check and `save_case` read of it, no ORM object."""

    id: int
    task_uuid: str
    role: str
    status: str
    completed_by_id: int | None


class CaseRows:
    """A case's inbox rows that are open or that the acting user completed, read once under the case's lock.

    The duty check takes the roles the user completed from them, and `save_case` the open rows it projects
    onto (one statement instead of two). They stay valid while the lock is held: a row's status changes only
    under its case's lock (a claim changes only `claimed_by_id`, which neither use reads). Plain rows, not ORM
    objects: loading them through the ORM cost more than the step's other reads (docs/benchmarks.md).
    """

    def __init__(self, found: driver_sql.Later, user_id: int) -> None:
        self._found = found
        self._user_id = user_id

    @classmethod
    def read(cls, task_id: int, user: User) -> CaseRows:
        """Read the rows of the case of the task `task_id` (in an open driver_sql batch: with its other
        statements, usable once it has ended; the caller flushes what the read must see)."""
        user_id = _user_id(user)
        params = {"task_id": task_id, "user_id": user_id}
        return cls(driver_sql.later(db.session(), _statements().case_rows, params), user_id)

    @cached_property
    def _rows(self) -> list[RowState]:
        return [RowState(*row) for row in self._found.rows()]

    def completed_roles(self, user: User) -> set[str]:
        """Roles of the tasks `user` completed on the case (as the rows stood when read)."""
        assert _user_id(user) == self._user_id
        return {row.role for row in self._rows if row.status == "completed" and row.completed_by_id == self._user_id}

    def open_rows(self) -> list[RowState]:
        """The rows open now: those read open, less any this transaction has since completed or cancelled (the
        task the step completes is an ORM object in the session; its status there is the current one)."""
        session = db.session()
        found = []
        for row in self._rows:
            if row.status != "open":
                continue
            held_row = session.identity_map.get(session.identity_key(HumanTask, row.id))
            if held_row is None or held_row.status == "open":
                found.append(row)
        return found


def _cancel(rows: list[Any]) -> None:
    """Mark open inbox rows the workflow no longer waits on as cancelled (ORM rows in place, read rows by id)."""
    by_id = []
    for row in rows:
        if isinstance(row, HumanTask):
            row.status = "cancelled"
        else:
            by_id.append({"pk": row.id, "to_status": "cancelled"})
    driver_sql.execute_many(db.session(), _statements().set_row_status, by_id)


def save_case(case: ProcessInstance, workflow: Any, rows: CaseRows | None = None) -> None:
    """Store the workflow state and project its READY user tasks into inbox rows.

    `rows`: the case's rows the caller read under the case's lock (saves reading the open ones again).
    """
    completed = runtime.is_completed(workflow)
    # The diagram's XML (deferred by lock_task) is read before any column is set, so that its load cannot
    # autoflush a half-updated case row; every column is set before any later query, so the row is written once.
    labels = runtime.element_labels(case.deployment.xml) if completed else {}
    case.state_json = runtime.dump_state(workflow)
    case.updated_at = utcnow()
    now_waiting = runtime.waiting(workflow)
    ready = now_waiting.user_tasks
    background = [f"{runtime.task_label(t)} (diproses sistem)" for t in now_waiting.background]
    case.current_steps = ", ".join([t.label for t in ready] + background)[:500]
    case.next_timer_at = now_waiting.next_timer_at
    if completed:
        case.status = "completed"
        case.outcome = runtime.end_event(workflow)
        case.outcome_label = labels.get(case.outcome or "")
        case.ended_at = utcnow()
    open_rows = {
        row.task_uuid: row
        for row in (
            rows.open_rows()
            if rows is not None
            else db.session.execute(
                select(HumanTask).where(HumanTask.instance_id == case.id, HumanTask.status == "open")
            ).scalars()
        )
    }
    ready_ids = {t.uuid for t in ready}
    new_rows: list[dict[str, Any]] = []
    _cancel([row for uuid, row in open_rows.items() if uuid not in ready_ids])
    for item in ready:
        if item.uuid in open_rows:
            # Left as it is: writing an open row here would lock it against a concurrent claim (a deadlock with
            # the audit head); a migrated case's rows are re-projected by the migration itself.
            continue
        role = LANE_ROLES.get(item.lane)
        if role is None:
            raise Unavailable(f"Tugas '{item.label}' berada di lane '{item.lane}' yang tidak dipetakan ke peran.")
        new_rows.append(
            {
                "task_uuid": item.uuid,
                "task_name": item.name,
                "form_key": item.form_key,
                "label": item.label,
                "due_at": item.due_at,
                "priority": item.priority,
                "lane": item.lane,
                "role": role,
                "owner_user_id": case.applicant_id if role == "Pemohon" else None,
                # Usually the case's agency; an agency head's own case goes to the heads' superior.
                "agency_id": recommending_agency_id(case) if role == "Atasan" else None,
            }
        )
    if completed:
        audit.append(
            audit.case_stream(case.id),
            "case_completed",
            "sistem",
            {"outcome": case.outcome, "outcome_label": case.outcome_label},
            case.id,
        )
    session = db.session()
    with driver_sql.batch(session):  # on PostgreSQL, the step's writes in one round trip
        row_writes.write_changes(session)
        audit.write_events(session)
        row_writes.insert_rows(session, HumanTask, [{"instance_id": case.id, **row} for row in new_rows])


def lock_case(instance_id: int) -> ProcessInstance:
    """Lock the case row while it advances (FOR UPDATE on PostgreSQL; the version column elsewhere)."""
    case = db.session.execute(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update()
        # The row may already be in the session, read before the lock: take the locked, current values.
        .execution_options(populate_existing=True)
    ).scalar_one()
    if case.status != "running":
        raise Conflict("Kasus ini sudah selesai.")
    return case


def lock_task(task_id: int, user: User) -> tuple[ProcessInstance, HumanTask, CaseRows]:
    """Lock a task's case, then the task (the one lock order everywhere), and read under the lock what a step
    needs, in one round trip on PostgreSQL (driver_sql.batch, the transaction's BEGIN included).

    - The case, found through the task (a task never moves to another case), locked, with its deployment
      (without the diagram XML, which a step reads only when the case ends, nor its definition JSON, see
      `load_case`), then the task, locked. Neither row was trusted before this: a copy the session held from
      before the lock takes the values read.
    - The case's inbox rows (`CaseRows`).
    - The applicant's account (and the acting one, unless the request holds it whole, see `_account_loaded`)
      with roles, person records and agencies; not locked, as accounts never were. The applicant is held for
      the session (`held`): the duty checks, the form check and the handler contexts find it there.
    - The lock on the case's audit stream, which the step appends to (PostgreSQL).

    The rows come as plain values and are adopted into the session (`adopt`): loaded through the ORM, they cost
    more than the database spent on them (docs/benchmarks.md). Raises NotFound when there is no such task.
    """
    session = db.session()
    if session.dirty or session.new or session.deleted:
        session.flush()  # as an ORM query's autoflush would: the reads see what this transaction changed
    statements = _statements()
    params = {"task_id": task_id}
    actor_id = None if _account_loaded(user) else _user_id(user)
    with driver_sql.batch(session):
        locked = driver_sql.later(session, statements.lock_case_and_task, params)
        rows = CaseRows.read(task_id, user)
        accounts = account_rows.Accounts.read_where(session, statements.applicant_of_task, params, actor_id)
        audit.lock_case_stream_ahead(statements.case_of_task, params)
    found = next(iter(locked.rows()), None)
    if found is None:
        raise NotFound("Tugas tidak ditemukan.")
    case_values, deployment_values, task_values = _LOCKED_SHAPE.split(found, session.get_bind().dialect)
    case: ProcessInstance = adopt(session, ProcessInstance, case_values)
    set_committed_value(case, "deployment", adopt(session, ProcessDeployment, deployment_values))
    task: HumanTask = adopt(session, HumanTask, task_values)
    set_committed_value(task, "instance", case)
    held.hold(accounts.adopt(session)[case.applicant_id])
    return case, task, rows


def _account_loaded(user: User) -> bool:
    """Tell whether `user` is in the session with its columns, roles and person record loaded and current (a
    step then reads nothing of it): the request's login read it (`accounts.acting_user`) and `begin_write(keep=)`
    kept it. Unlocked, a second read in this transaction would be no more current than the login's."""
    state = sa_inspect(user)
    if state.session_id is None or not {"roles", "person"} <= state.dict.keys():
        return False
    return not any(sa_inspect(item).expired_attributes for item in transactions.account_graph(user))


def _user_id(user: User) -> int:
    """The account's id from its identity key: reading `user.id` of an expired account would load it first."""
    identity = sa_inspect(user).identity
    return int(identity[0]) if identity else user.id


_INSTANCES = ProcessInstance.__table__
_DEPLOYMENTS = ProcessDeployment.__table__
_TASKS = HumanTask.__table__
# The task's case, found through the task.
_CASE_OF_TASK = select(_TASKS.c.instance_id).where(_TASKS.c.id == bindparam("task_id")).scalar_subquery()
# The case is locked in a MATERIALIZED CTE and the task by the outer query (FOR UPDATE OF the task only): the task's
# lock is taken on the rows the join yields, after the CTE has locked the case, so the order stays case, then task,
# in one statement. SQLite has no row locks; there the statement only reads both.
_LOCKED_CASE = (
    select(_INSTANCES)
    .where(_INSTANCES.c.id == _CASE_OF_TASK)
    .with_for_update()
    .cte("locked_case")
    .prefix_with("MATERIALIZED")
)
_LOCKED_SHAPE = RowShape(
    (
        (ProcessInstance, tuple(_LOCKED_CASE.c)),
        (ProcessDeployment, tuple(c for c in _DEPLOYMENTS.c if c.name not in ("xml", "spec_json"))),
        (HumanTask, tuple(_TASKS.c)),
    )
)


@dataclass(frozen=True)
class _Statements:
    lock_case_and_task: Any
    case_of_task: Any
    applicant_of_task: Any
    case_rows: Any
    set_row_status: Any


@cache
def _statements() -> _Statements:
    """The step's reads, built once per process (their construction, options included, costs as much as a
    simple query's round trip); the values are bound at execution."""
    return _Statements(
        lock_case_and_task=select(*_LOCKED_SHAPE.columns)
        .select_from(
            _LOCKED_CASE.join(_DEPLOYMENTS, _DEPLOYMENTS.c.id == _LOCKED_CASE.c.deployment_id).join(
                _TASKS, _TASKS.c.id == bindparam("task_id")
            )
        )
        .with_for_update(of=_TASKS),
        case_of_task=_CASE_OF_TASK,
        applicant_of_task=select(_INSTANCES.c.applicant_id).where(_INSTANCES.c.id == _CASE_OF_TASK).scalar_subquery(),
        case_rows=select(
            HumanTask.id, HumanTask.task_uuid, HumanTask.role, HumanTask.status, HumanTask.completed_by_id
        ).where(
            HumanTask.instance_id == _CASE_OF_TASK,
            (HumanTask.status == "open")
            | ((HumanTask.status == "completed") & (HumanTask.completed_by_id == bindparam("user_id"))),
        ),
        set_row_status=update(HumanTask).where(HumanTask.id == bindparam("pk")).values(status=bindparam("to_status")),
    )
