"""A step's fixed statements run on the driver's cursor, compiled once per process.

`session.connection().execute(statement)` builds an execution context, a result object and the parameter
set for every call: for the few rows a case step reads and writes, that cost more Python than the database
spent (docs/benchmarks.md). Here a Core statement is compiled once per shape and dialect, and each call only
converts its parameters (the dialect's bind processors, the columns' Python defaults) and hands them to the
driver, in the session's transaction. Listeners of `before_cursor_execute` still see every statement,
and driver errors come out as SQLAlchemy's (IntegrityError, OperationalError…), as from the ORM.

`batch(session)` sends a block's statements together: on PostgreSQL (psycopg's pipeline mode) they go out
without waiting for each other's results, which are read at the block's end, in one round trip instead of one
per statement; a write that must change a given number of rows (`expect`) is checked there, and a read's rows
(`later`) are handed over there. Elsewhere (SQLite, a driver without pipeline mode) the same block runs
statement by statement, with the same results at its end.

Only plain statements: no expanding (IN) parameters, no SQL-expression or sequence defaults. Rows come back
as the driver gives them (no result processing: read integers and strings only), and nothing is flushed
first: the caller flushes if the session holds changes the statement must see. Two of SQLAlchemy's private
methods are used, as its own raw executions use them (`Connection._cursor_execute`, `_handle_dbapi_exception`):
pyproject allows SQLAlchemy 2.x only, and tests/engine/test_driver_sql.py fails if they change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class _Plan:
    statement: Any  # held so that its id, part of the cache key, is not reused by another object
    sql: str
    positions: tuple[str, ...] | None  # parameter order for a positional driver (SQLite); None: by name
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    defaults: tuple[tuple[str, Any], ...]  # parameter -> the column's Python default, for omitted values
    literals: tuple[tuple[str, Any], ...]  # parameter -> the value the statement itself binds (`status == "open"`)


_PLANS: dict[tuple[int, str, tuple[str, ...]], _Plan] = {}


def execute(session: Session, statement: Any, params: dict[str, Any]) -> int:
    """Run a write once with `params`, now (not in a batch); returns how many rows it changed."""
    _refuse_in_batch(session, "execute")
    rowcount, _rows = _run(session, statement, params, fetch=False)
    return rowcount


def expect(
    session: Session, statement: Any, params: dict[str, Any], changed: int, error: Callable[[int], Exception]
) -> None:
    """Run a write that must change `changed` rows, else `error(rows it changed)` is raised: at once, or at the
    end of the open batch (which sends it with the block's other writes)."""
    pending = session.info.get(_BATCH)
    if pending is None:
        rowcount, _rows = _run(session, statement, params, fetch=False)
        if rowcount != changed:
            raise error(rowcount)
        return
    pending.checks.append((pending.send(session, statement, params), changed, error))


class Later:
    """A read's rows, there once its batch has ended (at once outside a batch)."""

    def __init__(self, then: Callable[[list[tuple[Any, ...]]], object] | None) -> None:
        self._rows: list[tuple[Any, ...]] | None = None
        self._then = then

    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            raise RuntimeError("driver_sql.Later: read before its batch ended")
        return self._rows

    def _resolve(self, found: list[tuple[Any, ...]]) -> None:
        self._rows = found
        if self._then is not None:
            self._then(found)


def later(
    session: Session,
    statement: Any,
    params: dict[str, Any],
    then: Callable[[list[tuple[Any, ...]]], object] | None = None,
) -> Later:
    """Run a read with the open batch's other statements; its rows (and `then(rows)`, called in the order the
    reads were sent) come when the batch ends. Outside a batch it runs, and `then` is called, at once."""
    pending = session.info.get(_BATCH)
    read = Later(then)
    if pending is None:
        read._resolve(_run(session, statement, params, fetch=True)[1])
        return read
    cursor = pending.send(session, statement, params)
    # Without pipeline mode the rows are there now: taken at once, as a later statement may reuse the connection.
    pending.reads.append((None if pending.pipelined else [tuple(row) for row in cursor.fetchall()], cursor, read))
    return read


def rows(session: Session, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a read once with `params` (not in a batch); returns its rows as the driver gives them."""
    _refuse_in_batch(session, "rows")
    _rowcount, found = _run(session, statement, params, fetch=True)
    return found


def _run(session: Session, statement: Any, params: dict[str, Any], fetch: bool) -> tuple[int, list[tuple[Any, ...]]]:
    connection = session.connection()
    plan = _plan(connection, statement, tuple(sorted(params)))
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # SQLAlchemy's own path for a raw statement: events, echo, and errors wrapped (and a lost connection noted).
        connection._cursor_execute(cursor, plan.sql, _driver_params(plan, params))
        return cursor.rowcount, [tuple(row) for row in cursor.fetchall()] if fetch else []
    finally:
        cursor.close()


def execute_many(session: Session, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Run `statement` for each of `rows` (all with the same keys) in one executemany (in the open batch, if any)."""
    if not rows:
        return
    pending = session.info.get(_BATCH)
    connection = pending.started(session) if pending is not None else session.connection()
    plan = _plan(connection, statement, tuple(sorted(rows[0])))
    parameters = [_driver_params(plan, row) for row in rows]
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    if pending is not None:
        pending.cursors.append(cursor)  # closed when the batch ends
    try:
        if connection._has_events or connection.engine._has_events:
            for listener in connection.dispatch.before_cursor_execute:
                listener(connection, cursor, plan.sql, parameters, None, True)
        cursor.executemany(plan.sql, parameters)
    # As SQLAlchemy's own _cursor_execute: an interrupt mid-statement must also reach it (the connection is then
    # invalidated, not returned to the pool half-way through a statement).
    except BaseException as exc:  # noqa: BLE001
        connection._handle_dbapi_exception(exc, plan.sql, parameters, cursor, None)  # raises it, wrapped
    finally:
        if pending is None:
            cursor.close()


# session.info key of the open batch
_BATCH = "sertel.driver_sql.batch"
# What a driver error raised when a batch's results are read is reported against (the failing statement is the
# first error's; the driver's message names it).
_BATCH_SQL = "(statements sent together by driver_sql.batch)"


@dataclass
class _Batch:
    stack: ExitStack
    connection: Connection | None = None
    cursors: list[Any] = field(default_factory=list)
    checks: list[tuple[Any, int, Callable[[int], Exception]]] = field(default_factory=list)
    reads: list[tuple[list[tuple[Any, ...]] | None, Any, Later]] = field(default_factory=list)
    pipelined: bool = False

    def started(self, session: Session) -> Connection:
        """The session's connection, in pipeline mode from the batch's first statement on (where it has one).

        Entered only then, so that whatever the block flushes through the ORM before its first batched write
        still runs statement by statement (the ORM reads row counts and RETURNING rows at once)."""
        if self.connection is None:
            self.connection = session.connection()
            driver = self.connection.connection.driver_connection
            if driver is not None and _has_pipeline(driver):
                self.stack.enter_context(driver.pipeline())
                self.pipelined = True
        return self.connection

    def send(self, session: Session, statement: Any, params: dict[str, Any]) -> Any:
        """Send one statement with the batch; its cursor (kept open until the batch ends) holds its result."""
        connection = self.started(session)
        plan = _plan(connection, statement, tuple(sorted(params)))
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        self.cursors.append(cursor)
        connection._cursor_execute(cursor, plan.sql, _driver_params(plan, params))
        return cursor


@contextmanager
def batch(session: Session) -> Iterator[None]:
    """Send the block's `expect`, `execute_many` and `later` statements together; their results, checks and
    rows come at its end.

    Only those inside: an ORM flush or query after the block's first statement would need its results at
    once (`execute` and `rows` refuse). Nested, the inner block is part of the outer one.
    """
    if _BATCH in session.info:
        yield
        return
    pending = _Batch(ExitStack())
    session.info[_BATCH] = pending
    try:
        try:
            with pending.stack:  # leaving pipeline mode sends a sync and reads every result
                yield
        except Exception as exc:
            dbapi = pending.connection.dialect.loaded_dbapi if pending.connection is not None else None
            if dbapi is not None and isinstance(exc, dbapi.Error):
                # A statement failed on the server: raised, as SQLAlchemy's, when the results were read.
                pending.connection._handle_dbapi_exception(exc, _BATCH_SQL, None, None, None)  # type: ignore[union-attr]
            raise
        for cursor, changed, error in pending.checks:
            if cursor.rowcount != changed:
                raise error(cursor.rowcount)
        for taken, cursor, read in pending.reads:
            read._resolve(taken if taken is not None else [tuple(row) for row in cursor.fetchall()])
    finally:
        session.info.pop(_BATCH, None)
        for cursor in pending.cursors:
            cursor.close()


def _has_pipeline(driver: Any) -> bool:
    """psycopg 3 with a libpq that has pipeline mode (14 and newer)."""
    pipeline_class = getattr(type(driver), "pipeline", None)
    if pipeline_class is None:
        return False
    from psycopg import Pipeline  # only reached with psycopg 3's connection

    return bool(Pipeline.is_supported())


def _refuse_in_batch(session: Session, name: str) -> None:
    if _BATCH in session.info:
        raise RuntimeError(f"driver_sql.{name} inside a batch: its result would be read before the batch ends")


def _driver_params(plan: _Plan, params: dict[str, Any]) -> Any:
    values = dict(params)
    for name, literal in plan.literals:
        values.setdefault(name, literal)
    for name, default in plan.defaults:
        if name not in values:
            values[name] = default.arg(None) if default.is_callable else default.arg
    for name, process in plan.processors:
        values[name] = process(values[name])
    return values if plan.positions is None else tuple(values[name] for name in plan.positions)


def _plan(connection: Connection, statement: Any, keys: tuple[str, ...]) -> _Plan:
    dialect = connection.dialect
    key = (id(statement), dialect.name, keys)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _compile(statement, dialect, keys)
    return plan


def _compile(statement: Any, dialect: Any, keys: tuple[str, ...]) -> _Plan:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    binds = compiled.bind_names  # BindParameter -> its name in the SQL
    if any(bind.expanding for bind in binds):
        raise ValueError("driver_sql: expanding parameters are not supported")
    processors = []
    for bind, name in binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((name, process))
    defaults = []
    prefetched = [(c, c.default) for c in compiled.insert_prefetch] + [
        (c, c.onupdate) for c in compiled.update_prefetch
    ]
    for column, default in prefetched:
        if default is None or not (default.is_callable or default.is_scalar):
            raise ValueError(f"driver_sql: the default of {column} is not a Python value or function")
        defaults.append((column.key, default))
    # Values bound by the statement itself; a column filled from its default above is not one of them.
    filled = {name for name, _default in defaults}
    literals = [
        (name, bind.effective_value) for bind, name in binds.items() if not bind.required and name not in filled
    ]
    positions = tuple(compiled.positiontup) if compiled.positional else None
    return _Plan(statement, str(compiled), positions, tuple(processors), tuple(defaults), tuple(literals))
