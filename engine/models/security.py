"""The security log of anonymous requests, and the audit MAC keys of retired KEKs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Model, utcnow


class SecurityEvent(Model):
    """An anonymous request worth knowing about (validation, failed login), outside the audit chain.

    `count` grows instead of new rows once a source exceeds its per-minute allowance, so a flood of
    anonymous requests costs one row per source and minute.
    """

    __tablename__ = "security_events"
    __table_args__ = (UniqueConstraint("source", "minute", "slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(64))
    # The minute the row belongs to (UTC, "YYYY-MM-DDTHH:MM").
    minute: Mapped[str] = mapped_column(String(16))
    # 1..limit for ordinary rows of the minute; limit + 1 is the single counter row of a flooding source.
    slot: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(60))
    detail_json: Mapped[str] = mapped_column(Text, default="{}")
    count: Mapped[int] = mapped_column(Integer, default=1)


class AuditKeyArchive(Model):
    """An audit MAC key of an older KEK, wrapped under the current KEKs, so old events still verify."""

    __tablename__ = "audit_key_archive"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    wrapped: Mapped[str] = mapped_column(Text)
