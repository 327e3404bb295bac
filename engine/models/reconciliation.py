"""Differences between the RA's certificate records and the PSrE's books, as the reconciliation found them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Model, utcnow


class ReconciliationFinding(Model):
    """One difference: repaired by a clear rule, or open until the Admin settles it (or it disappears)."""

    __tablename__ = "reconciliation_findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    # unknown_at_ra, unknown_at_psre, status_followed_psre, revoked_at_ra_only, key_mismatch, lock_followed_psre
    kind: Mapped[str] = mapped_column(String(40), index=True)
    serial: Mapped[str] = mapped_column(String(64), index=True)
    subject_id: Mapped[str] = mapped_column(String(80), default="")
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    # "repaired" (a rule fixed the RA's record), "open" (for the Admin), "resolved" (gone on a later run)
    state: Mapped[str] = mapped_column(String(20), default="open")
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
