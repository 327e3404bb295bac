"""Rows read as plain values, made the session's objects without the ORM's loading machinery.

A step reads a few rows whose ORM loading cost more than the database spent on them (docs/benchmarks.md): it
reads them through driver_sql and gives each row's values to the session's instance, as a `populate_existing`
load would.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Dialect
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value


def adopt(session: Session, entity: type, values: dict[str, Any]) -> Any:
    """The session's instance of `entity` for a row just read (`values`: every column, by attribute name).

    A copy the session already holds takes the values read, clean, as a `populate_existing` load would give
    them; otherwise a new instance joins the session as if loaded, clean. Relationships are the caller's to set
    (`set_committed_value`); until then a many-to-one loads on first access, as a lazy load does.
    """
    mapper: Any = sa_inspect(entity)
    key = session.identity_key(entity, tuple(values[column.key] for column in mapper.primary_key))
    held = session.identity_map.get(key)
    if held is None:
        # As the ORM's loading builds an instance: no constructor and no attribute events (each costs more than
        # the row's read), the values placed in its state and committed by make_transient_to_detached.
        instance = mapper.class_manager.new_instance()
        instance_state(instance).dict.update(values)
        make_transient_to_detached(instance)
        session.add(instance)
        return instance
    for name, value in values.items():
        set_committed_value(held, name, value)
    return held


class RowShape:
    """A statement's columns, entity by entity (`parts`: (entity, its table's or alias's columns)): splits each
    row into each entity's values by attribute name, converted as the ORM's loading converts them (the dialect's
    result processors: SQLite gives times as text and booleans as integers)."""

    def __init__(self, parts: tuple[tuple[type, tuple[Any, ...]], ...]) -> None:
        self.parts = parts
        self.columns = tuple(column for _entity, columns in parts for column in columns)
        self._names = tuple(_attribute_names(entity) for entity, _columns in parts)
        self._processors: dict[str, tuple[Any, ...]] = {}

    def split(self, row: tuple[Any, ...], dialect: Dialect) -> list[dict[str, Any]]:
        processors = self._processors.get(dialect.name)
        if processors is None:
            processors = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in self.columns)
            self._processors[dialect.name] = processors
        values = [value if process is None else process(value) for value, process in zip(row, processors, strict=True)]
        found = []
        start = 0
        for (_entity, columns), names in zip(self.parts, self._names, strict=True):
            found.append(
                {names[c.name]: value for c, value in zip(columns, values[start : start + len(columns)], strict=True)}
            )
            start += len(columns)
        return found


def _attribute_names(entity: type) -> dict[str, str]:
    """Column name -> mapped attribute name of an entity (the same in these models, but they need not be)."""
    mapper: Any = sa_inspect(entity)
    return {column.name: prop.key for prop in mapper.column_attrs for column in prop.columns}
