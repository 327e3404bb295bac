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
from engine.services.adopt import RowShape, adopt

_USERS = User.__table__
_PERSONS = Person.__table__
_USER_AGENCY = Agency.__table__.alias("user_agency")
_PERSON_AGENCY = Agency.__table__.alias("person_agency")
_ROLES = Role.__table__
# The statement's columns, by entity, in order.
_SHAPE = RowShape(
    (
        (User, tuple(_USERS.c)),
        (Person, tuple(_PERSONS.c)),
        (Agency, tuple(_USER_AGENCY.c)),
        (Agency, tuple(_PERSON_AGENCY.c)),
        (Role, tuple(_ROLES.c)),
    )
)


@cache
def _statement(first: Any) -> Any:
    """The account whose id the SQL expression `first` gives and the account `second` (bound; None for none), a
    row per role. Built once per `first`."""
    joined = (
        _USERS.outerjoin(_PERSONS, _PERSONS.c.id == _USERS.c.person_id)
        .outerjoin(_USER_AGENCY, _USER_AGENCY.c.id == _USERS.c.agency_id)
        .outerjoin(_PERSON_AGENCY, _PERSON_AGENCY.c.id == _PERSONS.c.agency_id)
        .outerjoin(user_roles, user_roles.c.user_id == _USERS.c.id)
        .outerjoin(_ROLES, _ROLES.c.id == user_roles.c.role_id)
    )
    return (
        select(*_SHAPE.columns)
        .select_from(joined)
        .where(
            or_(
                _USERS.c.id == first,
                _USERS.c.id == bindparam("second"),
            )
        )
        .order_by(_USERS.c.id, _ROLES.c.id)
    )


class Accounts:
    """Accounts being read in an open driver_sql batch; `adopt()` once the batch has ended."""

    def __init__(self, found: driver_sql.Later, dialect: Dialect) -> None:
        self._found = found
        self._dialect = dialect

    @classmethod
    def read_where(cls, session: Session, first: Any, params: dict[str, Any], other_id: int | None = None) -> Accounts:
        """Read the account whose id the SQL expression `first` gives (built once per process: pass the same
        object each time), with `params` for its bound values (and the account `other_id`), with roles, person
        records and agencies."""
        return cls(
            driver_sql.later(session, _statement(first), {**params, "second": other_id}), session.get_bind().dialect
        )

    def adopt(self, session: Session) -> dict[int, User]:
        """The accounts read, by id, as the session's objects with their roles, person records and agencies."""
        found: dict[int, User] = {}
        roles: dict[int, list[Role]] = {}
        for row in self._found.rows():
            values = _SHAPE.split(row, self._dialect)
            user_id = values[0]["id"]
            if user_id not in found:
                found[user_id] = _adopt_account(session, values)
                roles[user_id] = []
            if values[4]["id"] is not None:
                roles[user_id].append(adopt(session, Role, values[4]))
        for user_id, user in found.items():
            set_committed_value(user, "roles", roles[user_id])
        return found


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
