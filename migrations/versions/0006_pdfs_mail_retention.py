"""Retention of sent mails: the outbox remembers when a mail's content was erased and the SHA-256 of that content.

And the recommendations and decision letters generated before those PDFs masked the applicant's NIK/NIP are marked
(documents.unmasked_identifiers): they carry the full values, so the agency head no longer opens them.

Revision ID: 0006_pdfs
Revises: 0006_erasures
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_pdfs"
down_revision = "0006_erasures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unmasked_identifiers", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE documents SET unmasked_identifiers = TRUE "
        "WHERE kind = 'letter' OR (kind = 'form' AND filename LIKE 'recommendation-kasus-%')"
    )


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("unmasked_identifiers")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("content_sha256")
        batch_op.drop_column("erased_at")
