"""Documents say what they are: the form field an upload answers (ktp_scan, selfie…), labelled by its form.

Revision ID: 0004_forms
Revises: 0004_auditsearch
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_forms"
down_revision = "0004_auditsearch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_field", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("form_field")
