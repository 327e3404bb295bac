"""Figures computed ahead of time so a page never scans every case to show them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Model, utcnow


class DashboardSnapshot(Model):
    """The dashboard's case counts as of `computed_at` (one row per computation; the newest is shown)."""

    __tablename__ = "dashboard_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    figures_json: Mapped[str] = mapped_column(Text)
