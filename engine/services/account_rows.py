"""Accounts read as plain rows, with their roles, person records and agencies, made the session's objects.

A case step reads the applicant (and the acting account, when the request does not hold it) in the round trip
that reads the case's inbox rows (driver_sql.batch). Loaded through the ORM's joined eager loading, an account
with its roles, person record and two agencies cost the step more than the database spent on it
(docs/benchmarks.md): here one Core statement reads them and `adopt` gives each row's values to the session's
instance, as a `populate_existing` load would, without the loader machinery.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Dialect, bindparam, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.models import Agency, Person, Role, User
from engine.models.people import user_roles
from engine.services import driver_sql
from engine.services.adopt import adopt

_USERS = User.__table__
_PERSONS = Person.__table__
_USER_AGENCY = Agency.__table__.alias("user_agency")
_PERSON_AGENCY = Agency.__table__.alias("person_agency")
_ROLES = Role.__table__
# The statement's columns, by entity, in order.
_PARTS: tuple[tuple[type, tuple[Any, ...]], ...] = (
    (User, tuple(_USERS.c)),
    (Person, tuple(_PERSONS.c)),
    (Agency, tuple(_USER_AGENCY.c)),
    (Agency, tuple(_PERSON_AGENCY.c)),
    (Role, tuple(_ROLES.c)),
)


@cache
def _statement() -> Any:
    """One or two accounts (`first`, `second`; the same id twice for one), a row per role. Built once."""
    joined = (
        _USERS.outerjoin(_PERSONS, _PERSONS.c.id == _USERS.c.person_id)
        .outerjoin(_USER_AGENCY, _USER_AGENCY.c.id == _USERS.c.agency_id)
        .outerjoin(_PERSON_AGENCY, _PERSON_AGENCY.c.id == _PERSONS.c.agency_id)
        .outerjoin(user_roles, user_roles.c.user_id == _USERS.c.id)
        .outerjoin(_ROLES, _ROLES.c.id == user_roles.c.role_id)
    )
    return (
        select(*(column for _entity, columns in _PARTS for column in columns))
        .select_from(joined)
        .where(or_(_USERS.c.id == bindparam("first"), _USERS.c.id == bindparam("second")))
        .order_by(_USERS.c.id, _ROLES.c.id)
    )


@cache
def _processors(dialect: Dialect) -> tuple[Any, ...]:
    """Each column's result processor for `dialect` (SQLite gives times as text and booleans as integers)."""
    return tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None)
        for _entity, columns in _PARTS
        for column in columns
    )


class Accounts:
    """Accounts being read in an open driver_sql batch; `adopt()` once the batch has ended."""

    def __init__(self, found: driver_sql.Later, dialect: Dialect) -> None:
        self._found = found
        self._dialect = dialect

    @classmethod
    def read(cls, session: Session, user_id: int, other_id: int | None = None) -> Accounts:
        """Read the account `user_id` (and `other_id`) with its roles, person record and agencies."""
        params = {"first": user_id, "second": user_id if other_id is None else other_id}
        return cls(driver_sql.later(session, _statement(), params), session.get_bind().dialect)

    def adopt(self, session: Session) -> dict[int, User]:
        """The accounts read, by id, as the session's objects with their roles, person records and agencies."""
        processors = _processors(self._dialect)
        found: dict[int, User] = {}
        roles: dict[int, list[Role]] = {}
        for raw in self._found.rows():
            row = [value if process is None else process(value) for value, process in zip(raw, processors, strict=True)]
            values = _split(row)
            user_id = values[0]["id"]
            if user_id not in found:
                found[user_id] = _adopt_account(session, values)
                roles[user_id] = []
            if values[4]["id"] is not None:
                roles[user_id].append(adopt(session, Role, values[4]))
        for user_id, user in found.items():
            set_committed_value(user, "roles", roles[user_id])
        return found


def _split(row: list[Any]) -> list[dict[str, Any]]:
    """A row's values per entity of `_PARTS`, by attribute name."""
    parts = []
    start = 0
    for entity, columns in _PARTS:
        names = _attribute_names(entity)
        parts.append({names[column.name]: value for column, value in zip(columns, row[start:], strict=False)})
        start += len(columns)
    return parts


@cache
def _attribute_names(entity: type) -> dict[str, str]:
    """Column name -> mapped attribute name of an entity (they are the same in these models, but need not be)."""
    mapper: Any = entity.__mapper__  # type: ignore[attr-defined]
    return {column.name: prop.key for prop in mapper.column_attrs for column in prop.columns}


def _adopt_account(session: Session, values: list[dict[str, Any]]) -> User:
    user: User = adopt(session, User, values[0])
    person = adopt(session, Person, values[1]) if values[1]["id"] is not None else None
    if person is not None:
        set_committed_value(
            person, "agency", adopt(session, Agency, values[3]) if values[3]["id"] is not None else None
        )
    set_committed_value(user, "person", person)
    set_committed_value(user, "agency", adopt(session, Agency, values[2]) if values[2]["id"] is not None else None)
    return user
