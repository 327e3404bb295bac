"""Alembic environment: migrate the database of the current Flask app (engine.models.db) online.

Run inside an app context (`sertel db …`, engine/services/setup.py); there is no offline (--sql) mode.
Batch mode is on so that ALTERs work on SQLite as on PostgreSQL. On PostgreSQL the whole upgrade is one
transaction under an advisory lock, so app servers started together migrate once, one after the other.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context

from engine.models import db

# pg_advisory_xact_lock key of Sertel's migrations (any constant; held until the upgrade commits).
MIGRATION_LOCK = 7_305_210_001

# Tables the models do not own: APScheduler's job store creates and manages its own.
UNMANAGED_TABLES = {"scheduler_jobs"}


# Expression indexes a revision owns outside the models (their form depends on the database: 0004's name
# search index is a trigram GIN index where pg_trgm exists, else a prefix index).
REVISION_OWNED_INDEXES = {"ix_persons_name_search", "ix_human_tasks_queue", "ix_audit_events_erasures"}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave tables that are not Sertel's models, and the revision-owned indexes, out of the comparison."""
    if type_ == "index" and name in REVISION_OWNED_INDEXES:
        return False
    return not (type_ == "table" and name in UNMANAGED_TABLES)


def run_migrations_online() -> None:
    with db.engine.connect() as connection:
        _run(connection)


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Taken before Alembic reads the current revision: a second upgrader waits, then finds it done.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Sertel's migrations run online only: `sertel db upgrade`.")
run_migrations_online()
