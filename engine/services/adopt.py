"""Rows read as plain values, made the session's objects without the ORM's loading machinery.

A step reads a few rows whose ORM loading cost more than the database spent on them (docs/benchmarks.md): it
reads them through driver_sql and gives each row's values to the session's instance, as a `populate_existing`
load would.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value


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
        instance = entity(**values)
        make_transient_to_detached(instance)
        session.add(instance)
        return instance
    for name, value in values.items():
        set_committed_value(held, name, value)
    return held
