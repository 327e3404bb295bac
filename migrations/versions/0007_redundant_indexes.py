"""Drop four indexes that a wider index leading with the same column already serves.

ix_audit_events_stream (stream) is served by the unique (stream, seq) index; ix_process_instances_sop_key,
_applicant_id and _agency_id by (sop_key, status, id), (applicant_id, id) and (agency_id, id). Each was written
on every insert (five audit events per case step) and on every non-HOT update of a case, for no query.

Revision ID: 0007_redundant_indexes
Revises: 0006_pdfs
Create Date: 2026-12-05 12:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0007_redundant_indexes"
down_revision = "0006_pdfs"
branch_labels = None
depends_on = None

DROPPED = {
    "ix_audit_events_stream": ("audit_events", ["stream"]),
    "ix_process_instances_sop_key": ("process_instances", ["sop_key"]),
    "ix_process_instances_applicant_id": ("process_instances", ["applicant_id"]),
    "ix_process_instances_agency_id": ("process_instances", ["agency_id"]),
}


def upgrade() -> None:
    for name, (table, _columns) in DROPPED.items():
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, (table, columns) in DROPPED.items():
        op.create_index(name, table, columns, unique=False)
