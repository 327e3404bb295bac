"""Indexes of the auditor's case search and the admin dashboard; a trigram (or prefix) index on names.

Revision ID: 0004_auditsearch
Revises: 0003
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_auditsearch"
down_revision = "0003"
branch_labels = None
depends_on = None

CASE_INDEXES = {
    "ix_process_instances_sop_status_id": ["sop_key", "status", "id"],
    "ix_process_instances_agency_id_id": ["agency_id", "id"],
    "ix_process_instances_deployment_id_id": ["deployment_id", "id"],
    "ix_process_instances_outcome_id": ["outcome", "id"],
    "ix_process_instances_applicant_id_id": ["applicant_id", "id"],
    "ix_process_instances_created_at": ["created_at"],
    "ix_process_instances_ended_at": ["ended_at"],
}


def _trigram_available(bind: sa.Connection) -> bool:
    """Install pg_trgm where the database role may (in a savepoint: a refusal leaves the upgrade intact)."""
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def upgrade() -> None:
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        for name, columns in CASE_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_human_tasks_status_due", ["status", "due_at", "role"], unique=False)
    bind = op.get_bind()
    # Name search: lower(full_name) LIKE '%…%' through a trigram index, else a prefix search (pattern ops).
    # An expression index is not in the models (autogenerate does not compare them); this revision owns it.
    if bind.dialect.name == "postgresql":
        if _trigram_available(bind):
            op.execute("CREATE INDEX ix_persons_name_search ON persons USING gin (lower(full_name) gin_trgm_ops)")
        else:
            op.execute("CREATE INDEX ix_persons_name_search ON persons (lower(full_name) text_pattern_ops)")
    else:
        op.execute("CREATE INDEX ix_persons_name_search ON persons (lower(full_name))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_persons_name_search")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_status_due")
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        for name in reversed(list(CASE_INDEXES)):
            batch_op.drop_index(name)
