"""The daily work: task priority (fast tracks first), automated-check flags and the outcome's label on cases.

Revision ID: 0004_daily
Revises: 0004_forms
Create Date: 2026-12-03 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_daily"
down_revision = "0004_forms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.String(length=20), nullable=True))
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_errors", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("check_warnings", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome_label", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_column("outcome_label")
        batch_op.drop_column("check_warnings")
        batch_op.drop_column("check_errors")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_column("priority")
