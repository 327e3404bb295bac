"""The retention report reads the erasure events newest first: a partial index on them.

Revision ID: 0006_erasures
Revises: 0005_regress
Create Date: 2026-12-04 18:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0006_erasures"
down_revision = "0005_regress"
branch_labels = None
depends_on = None

# engine/services/erasure_report.ERASURE_KINDS: a few rows among millions of events, so the index is tiny and the
# report's page (ORDER BY gseq DESC LIMIT 51) reads only them. A partial index is not in the models; this
# revision owns it (migrations/env.py REVISION_OWNED_INDEXES). Both SQLite and PostgreSQL support the WHERE.
PREDICATE = "kind IN ('document_erased')"


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_audit_events_erasures ON audit_events (gseq) WHERE {PREDICATE}")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_audit_events_erasures")
