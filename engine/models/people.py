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


# Kinds of certificate owner the seed names; only ASN have a NIP and appear in the roster.
PERSON_CATEGORIES: dict[str, str] = {
    "asn": "ASN (PNS/PPPK)",
    "wali_kota": "Wali Kota",
    "wakil_wali_kota": "Wakil Wali Kota",
    "lainnya": "Pihak lain",
}


class Person(Model):
    """The identity of a certificate owner (NIK, name, NIP for ASN), set by the RA (Admin) or the roster import.

    An applicant never types it: forms show it read-only and the engine fills it in (engine/services/people.py).
    """

    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    nip: Mapped[str | None] = mapped_column(String(18), unique=True, nullable=True)
    category: Mapped[str] = mapped_column(String(20), default="asn")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    position: Mapped[str] = mapped_column(String(200), default="")
    # Who last set the record: "admin" (the RA) or "roster" (the ASN roster import).
    source: Mapped[str] = mapped_column(String(20), default="admin")
    updated_by: Mapped[str] = mapped_column(String(80), default="sistem")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    agency: Mapped[Agency | None] = relationship()

    @property
    def is_asn(self) -> bool:
        """Tell whether the owner is a civil servant (PNS/PPPK): NIP, roster and ASN proof apply."""
        return self.category == "asn"


class User(Model):
    """Someone who logs in: applicant, agency head, verifikator, admin or auditor."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    # The person this account belongs to; None for staff accounts that never own a certificate (admin, auditor).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), unique=True, nullable=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    agency: Mapped[Agency | None] = relationship()
    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy="selectin")
    person: Mapped[Person | None] = relationship(lazy="joined")

    @property
    def nik(self) -> str | None:
        """The NIK of the account's person record (never typed by the user)."""
        return self.person.nik if self.person else None

    @property
    def nip(self) -> str | None:
        """The NIP of the account's person record, for ASN."""
        return self.person.nip if self.person else None

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
