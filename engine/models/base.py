"""The shared SQLAlchemy handle and column helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every Sertel table."""


db = SQLAlchemy(model_class=Base)

# Flask-SQLAlchemy builds `db.Model` at runtime (a copy of `Base` plus its mixins), so to mypy it is a variable,
# not a class: subclasses would be `Any` and no column would be checked. Type-check against `Base` instead.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def utcnow() -> datetime:
    """Timezone-aware now; stored naive-UTC so SQLite and PostgreSQL agree."""
    return datetime.now(UTC).replace(tzinfo=None)
