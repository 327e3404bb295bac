"""Process drafts and rollbacks (issue 9): process_drafts, process_deployments.rolled_back_from, and the
unique (key, sha256) on process_deployments made a plain index (a rollback publishes a definition again).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Names for the constraints create_all left unnamed, so batch mode can drop one on SQLite (where they have
# no name to reflect); PostgreSQL named them itself and reports the name.
UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _unique_name(table: str, columns: list[str]) -> str:
    for constraint in sa.inspect(op.get_bind()).get_unique_constraints(table):
        if constraint["column_names"] == columns:
            return constraint["name"] or f"uq_{table}_{'_'.join(columns)}"
    raise LookupError(f"no unique constraint on {table} {columns}")


def upgrade() -> None:
    op.create_table(
        "process_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.String(length=80), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    key_sha256 = _unique_name("process_deployments", ["key", "sha256"])
    with op.batch_alter_table("process_deployments", naming_convention=UNNAMED) as batch_op:
        batch_op.add_column(sa.Column("rolled_back_from", sa.Integer(), nullable=True))
        batch_op.drop_constraint(key_sha256, type_="unique")
        batch_op.create_index("ix_process_deployments_key_sha256", ["key", "sha256"], unique=False)


def downgrade() -> None:
    """Back to 0001; fails (unique violation) once a rollback has published a definition a second time."""
    with op.batch_alter_table("process_deployments", naming_convention=UNNAMED) as batch_op:
        batch_op.drop_index("ix_process_deployments_key_sha256")
        batch_op.drop_column("rolled_back_from")
        batch_op.create_unique_constraint("process_deployments_key_sha256_key", ["key", "sha256"])
    op.drop_table("process_drafts")
