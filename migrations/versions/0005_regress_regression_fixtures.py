"""Stored regression fixtures (issue 11): regression_fixtures, a finished case's inputs and path per process.

Revision ID: 0005_regress
Revises: 0005_privacy
Create Date: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_regress"
down_revision = "0005_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "regression_fixtures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("fixture_json", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.String(length=80), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "name"),
    )
    with op.batch_alter_table("regression_fixtures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_regression_fixtures_key"), ["key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("regression_fixtures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_regression_fixtures_key"))
    op.drop_table("regression_fixtures")
