"""Alembic environment: migrate the database of the current Flask app (engine.models.db) online.

Run inside an app context (`sertel db …`, engine/services/setup.py); there is no offline (--sql) mode.
Batch mode is on so that ALTERs work on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from engine.models import db

# Tables the models do not own: APScheduler's job store creates and manages its own.
UNMANAGED_TABLES = {"scheduler_jobs"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave tables that are not Sertel's models out of autogenerate's comparison."""
    return not (type_ == "table" and name in UNMANAGED_TABLES)


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:  # a caller (a test) passed its own connection
        _run(connection)
        return
    with db.engine.connect() as conn:
        _run(conn)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Sertel's migrations run online only: `sertel db upgrade`.")
run_migrations_online()
