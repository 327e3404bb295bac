"""People and organisation: users with roles, agencies (Perangkat Daerah) and the ASN roster."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.models.base import Model, db, utcnow

ROLE_NAMES = ("Pemohon", "Atasan", "Verifikator", "Admin", "Auditor")

user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)


class Role(Model):
    """A role a user holds; BPMN lanes map to role names."""

    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class Agency(Model):
    """A Perangkat Daerah of the city."""

    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class User(Model):
    """Someone who logs in: applicant, agency head, verifikator, admin or auditor."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    nip: Mapped[str | None] = mapped_column(String(18), nullable=True)
    nik: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    agency: Mapped[Agency | None] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")

    def has_role(self, name: str) -> bool:
        """Tell whether the user holds the role `name`."""
        return any(role.name == name for role in self.roles)

    @property
    def role_names(self) -> list[str]:
        """The names of the user's roles, sorted."""
        return sorted(role.name for role in self.roles)


class RosterEntry(Model):
    """One ASN of the city as the imported roster lists them."""

    __tablename__ = "roster"
    nip: Mapped[str] = mapped_column(String(18), primary_key=True)
    nik: Mapped[str | None] = mapped_column(String(16), nullable=True)
    full_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    position: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="aktif")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    agency: Mapped[Agency] = relationship()
