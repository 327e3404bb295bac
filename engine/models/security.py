"""The security log, login attempts, server-side sessions, API tokens and the audit MAC keys of retired KEKs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class WebSession(Model):
    """A browser session kept on the server; the cookie carries only a random id, stored here as its SHA-256.

    Logging out deletes the row, and an Admin can revoke every session of a user: a copied cookie then opens
    nothing.
    """

    __tablename__ = "web_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    data_json: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiToken(Model):
    """A bearer token of the JSON API, stored as its SHA-256; listed and revoked by its owner or an Admin."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class LoginAttempt(Model):
    """A failed login, kept for throttling per account and per client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_source_at", "source", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(64))
