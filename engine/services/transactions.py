"""Write transactions of use cases: SQLite's write lock taken up front, and races turned into answers."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from engine.models import db
from engine.services.errors import Busy, Conflict, ServiceError

RETRY = "Data ini sedang diubah oleh pengguna lain pada saat yang sama; muat ulang halaman dan coba lagi."
BUSY = "Sistem sedang sibuk melayani permintaan lain; silakan coba lagi sebentar lagi."
# PostgreSQL SQLSTATEs of a transaction that lost a race: serialization failure, deadlock, lock not available.
RACE_SQLSTATES = {"40001", "40P01", "55P03"}


def begin_write(keep: Any = None) -> None:
    """Start a use case's write transaction; on SQLite take the database write lock now (BEGIN IMMEDIATE).

    SQLite has no row locks and pysqlite begins a transaction only at the first write, so two requests
    could both read the same inbox row or audit head and the second writer would fail on a unique key or
    overwrite the first. Taking the lock before the first read makes writers take turns (waiting up to
    SQLITE_BUSY_TIMEOUT). PostgreSQL needs nothing here: the use cases lock rows (FOR UPDATE, conditional
    UPDATEs). Objects read earlier in the request are expired, so the use case re-reads them under the lock.

    `keep`: the acting account, as the request's login read it, with its roles, person record and agencies,
    which are not expired: no use case locks accounts, so reading them again in this transaction would be no
    more current than the login's read a moment ago (READ COMMITTED), only slower.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    if keep is None:
        db.session.expire_all()
        return
    kept = {id(item) for item in account_graph(keep)}
    session = db.session()
    for item in list(session.identity_map.values()):
        if id(item) not in kept:
            session.expire(item)


def commit_as_written() -> None:
    """Commit a step, leaving the session's objects as the transaction wrote and read them instead of expired.

    The rows a step writes (case, inbox rows, audit head) are locked until this commit, so the objects hold the
    committed values; what it read is as current as a read made a moment ago (READ COMMITTED). Expired, the
    caller's next use of the case (the answer, the redirect) would read the whole row again, state included.
    Columns the database fills in are expired by the flush itself and still load on first use.
    """
    session = db.session()
    expiring = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


def account_graph(account: Any) -> list[Any]:
    """The account and what of its roles, person record and agencies is loaded (read without loading more)."""
    loaded = sa_inspect(account).dict
    person = loaded.get("person")
    found = [account, *loaded.get("roles", ()), loaded.get("agency")]
    if person is not None:
        found += [person, sa_inspect(person).dict.get("agency")]
    return [item for item in found if item is not None]


def race_error(exc: BaseException) -> ServiceError | None:
    """The answer to a database error caused by a concurrent writer (409, or 503 when locked), else None."""
    if isinstance(exc, StaleDataError | IntegrityError):
        return Conflict(RETRY)
    if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
        return Busy(BUSY)
    if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RACE_SQLSTATES:
        return Conflict(RETRY)
    return None


def abandon() -> None:
    """Roll back whatever the failed request left in the session, so an error page can still read."""
    # With the database gone even the rollback fails; the error page must still be answered.
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
