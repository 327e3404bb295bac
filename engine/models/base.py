"""The shared SQLAlchemy handle and column helpers."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every Sertel table."""


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """Timezone-aware now; stored naive-UTC so SQLite and PostgreSQL agree."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
