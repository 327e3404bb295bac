"""Dashboard snapshots: the case counts computed ahead by the scheduler.

Revision ID: 0005_dashboard
Revises: 0005_queue
Create Date: 2026-12-04 15:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_dashboard"
down_revision = "0005_queue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("figures_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dashboard_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dashboard_snapshots_computed_at"), ["computed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dashboard_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_snapshots_computed_at"))
    op.drop_table("dashboard_snapshots")
