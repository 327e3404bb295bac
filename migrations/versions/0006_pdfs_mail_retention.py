"""Retention of sent mails: the outbox remembers when a mail's content was erased and the SHA-256 of that content.

Revision ID: 0006_pdfs
Revises: 0005_regress
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_pdfs"
down_revision = "0005_regress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("content_sha256")
        batch_op.drop_column("erased_at")
