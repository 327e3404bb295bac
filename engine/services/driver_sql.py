"""A step's fixed statements run on the driver's cursor, compiled once per process.

`session.connection().execute(statement)` builds an execution context, a result object and the parameter
set for every call: for the few rows a case step reads and writes, that cost more Python than the database
spent (docs/benchmarks.md). Here a Core statement is compiled once per shape and dialect, and each call only
converts its parameters (the dialect's bind processors, the columns' Python defaults) and hands them to the
driver, in the session's transaction. Listeners of `before_cursor_execute` still see every statement,
and driver errors come out as SQLAlchemy's (IntegrityError, OperationalError…), as from the ORM.

Only plain statements: no expanding (IN) parameters, no SQL-expression or sequence defaults. Rows come back
as the driver gives them (no result processing: read integers and strings only), and nothing is flushed
first: the caller flushes if the session holds changes the statement must see. Two of SQLAlchemy's private
methods are used, as its own raw executions use them (`Connection._cursor_execute`, `_handle_dbapi_exception`):
pyproject allows SQLAlchemy 2.x only, and tests/engine/test_driver_sql.py fails if they change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    """Run a write once with `params`; returns how many rows it changed."""
    rowcount, _rows = _run(session, statement, params, fetch=False)
    return rowcount


def rows(session: Session, statement: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a read once with `params`; returns its rows as the driver gives them."""
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
    """Run `statement` for each of `rows` (all with the same keys) in one executemany."""
    if not rows:
        return
    connection = session.connection()
    plan = _plan(connection, statement, tuple(sorted(rows[0])))
    parameters = [_driver_params(plan, row) for row in rows]
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
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
        cursor.close()


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
