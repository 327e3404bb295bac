"""A step's changed rows written with prebuilt statements instead of the ORM's unit of work.

A step changes the same few rows every time: its case, its inbox rows and the audit heads it appended to.
The unit of work spent more Python on them (history, dependency sort, per-flush parameter assembly) than the
database spent writing them (docs/benchmarks.md). `write_changes` writes those rows itself, one UPDATE each
by primary key (the case with its optimistic version check, as the ORM does), after marking them clean in the
session and letting the ORM flush whatever else changed; `insert_rows` adds new rows without building ORM
objects. Both send their statements with the rest of an open `driver_sql.batch`.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table, bindparam, insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.exc import StaleDataError

from engine.models import AuditHead, HumanTask, ProcessInstance
from engine.services import driver_sql

# The classes whose changed column values this module writes; any other change is left to the ORM.
WRITTEN = (ProcessInstance, HumanTask, AuditHead)


def write_changes(session: Session) -> None:
    """Write the changed cases, inbox rows and audit heads of `session`, and flush the rest with the ORM.

    The rest is flushed first, statement by statement (the ORM reads each result at once), so that in a batch
    the UPDATEs here are its first statements; the rows written here are marked clean before that flush. An
    UPDATE that finds its row changed by another transaction raises StaleDataError (at the batch's end).
    """
    updates = []
    for obj in [obj for obj in session.dirty if isinstance(obj, WRITTEN)]:
        state = sa_inspect(obj)
        changed = _changed_columns(state)
        if changed is None:
            continue  # a relationship changed: the ORM writes it
        if changed:
            updates.append(_update(session, state, changed))
    session.flush()  # whatever else changed (new rows, other tables): usually nothing
    for statement, params, stale in updates:
        driver_sql.expect(session, statement, params, 1, stale)


def _changed_columns(state: Any) -> dict[str, Any] | None:
    """Column name -> new value of the attributes set since the row was read; None if anything else was set (a
    relationship, or an attribute not named as its column): the ORM writes that row."""
    mapper: Mapper[Any] = state.mapper
    columns = _column_keys(mapper)
    changed: dict[str, Any] = {}
    for key in state.committed_state:
        if key not in columns:
            return None
        changed[key] = state.dict[key]
    return changed


@functools.cache
def _column_keys(mapper: Mapper[Any]) -> frozenset[str]:
    """Attributes mapped to one column of the same name (the statements below name columns by attribute)."""
    return frozenset(
        prop.key for prop in mapper.column_attrs if len(prop.columns) == 1 and prop.columns[0].key == prop.key
    )


def _update(session: Session, state: Any, changed: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """The UPDATE of a changed row (statement, parameters, the error if it finds no row); the row is then clean."""
    mapper: Mapper[Any] = state.mapper
    version = mapper.version_id_col
    version_key = mapper.get_property_by_column(version).key if version is not None else None
    params = {f"v_{key}": value for key, value in changed.items() if key != version_key}
    pk = mapper.primary_key[0]
    params["pk"] = state.identity[0]
    if version_key is not None:
        old = state.committed_state.get(version_key, state.dict[version_key])
        params["old_version"] = old
        params[f"v_{version_key}"] = old + 1
    statement = _update_statement(mapper.local_table, pk.key, frozenset(params) - {"pk", "old_version"}, version)
    if version_key is not None:
        state.dict[version_key] = params[f"v_{version_key}"]
    # The row is clean, as after the ORM's own flush (which calls this): the ORM leaves it to the UPDATE. If the
    # UPDATE fails, so does the transaction, and its rollback expires the row.
    state._commit_all(state.dict, session.identity_map)
    name = f"{mapper.class_.__name__} {params['pk']}"

    def stale(_rowcount: int) -> StaleDataError:
        return StaleDataError(f"{name}: changed by another transaction")

    return statement, params, stale


@functools.cache
def _update_statement(table: Table, pk: str, values: frozenset[str], version: Any) -> Any:
    """UPDATE table SET <values> WHERE pk = :pk [AND version = :old_version], built once per shape."""
    where = table.c[pk] == bindparam("pk")
    if version is not None:
        where = where & (table.c[version.key] == bindparam("old_version"))
    return table.update().where(where).values({name[2:]: bindparam(name) for name in sorted(values)})


def insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """INSERT plain rows of `model` (its column defaults apply) in one executemany; no ORM objects are built."""
    driver_sql.execute_many(session, _insert_statement(model.__table__), rows)


@functools.cache
def _insert_statement(table: Table) -> Any:
    return insert(table).inline()  # no RETURNING: the new rows' ids are not read
