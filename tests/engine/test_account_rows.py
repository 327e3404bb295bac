"""Accounts read as plain rows become the session's objects, with their roles, person records and agencies, as the
ORM's own loading would make them: values converted, relationships set, nothing left to load, a held copy updated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import Integer, bindparam, event, select, text
from sqlalchemy import inspect as sa_inspect

from engine.models import User, db
from engine.services import driver_sql
from engine.services.account_rows import Accounts

# An account's id, bound (built once: the statement is built once per expression).
_USER_ID = bindparam("user_id", type_=Integer)


def _read(user_id: int, other_id: int | None = None) -> dict[int, User]:
    session = db.session()
    with driver_sql.batch(session):
        accounts = Accounts.read_where(session, _USER_ID, {"user_id": user_id}, other_id)
    return accounts.adopt(session)


def _id(username: str) -> int:
    return int(db.session.execute(select(User.id).where(User.username == username)).scalar_one())


def test_accounts_read_as_rows_match_the_orm_and_need_no_further_reads(app: Flask) -> None:
    with app.app_context():
        pemohon_id, atasan_id = _id("pemohon"), _id("atasan")
        expected: dict[int, dict[str, Any]] = {}
        for user_id in (pemohon_id, atasan_id):
            user = db.session.get(User, user_id)
            assert user is not None and user.person is not None
            expected[user_id] = {
                "columns": {c.key: getattr(user, c.key) for c in sa_inspect(User).column_attrs},
                "roles": user.role_names,
                "person": (
                    user.person.nik,
                    user.person.full_name,
                    user.person.agency.code if user.person.agency else None,
                ),
                "agency": user.agency.code if user.agency else None,
            }
        db.session.expunge_all()
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        found = _read(pemohon_id, atasan_id)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            for user_id, user in found.items():
                assert {c.key: getattr(user, c.key) for c in sa_inspect(User).column_attrs} == expected[user_id][
                    "columns"
                ]
                assert isinstance(user.created_at, datetime) and user.active is True
                assert user.role_names == expected[user_id]["roles"]
                assert user.person is not None
                person = (
                    user.person.nik,
                    user.person.full_name,
                    user.person.agency.code if user.person.agency else None,
                )
                assert person == expected[user_id]["person"]
                assert (user.agency.code if user.agency else None) == expected[user_id]["agency"]
                assert user in db.session and not db.session.dirty
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert seen == []  # everything the step reads of an account is there
        assert sorted(found) == sorted([pemohon_id, atasan_id])


def test_an_account_the_session_holds_takes_the_values_read(app: Flask) -> None:
    with app.app_context():
        pemohon_id = _id("pemohon")
        held = db.session.get(User, pemohon_id)
        assert held is not None and held.person is not None
        person_id = held.person.id
        db.session.execute(text("UPDATE persons SET full_name = 'Nama Baru' WHERE id = :id"), {"id": person_id})
        db.session.execute(text("DELETE FROM user_roles WHERE user_id = :id"), {"id": pemohon_id})
        assert held.person.full_name != "Nama Baru"  # the session's copy is stale until read again
        found = _read(pemohon_id)
        assert found[pemohon_id] is held
        assert held.person.full_name == "Nama Baru" and held.roles == []
        assert not db.session.dirty
        db.session.rollback()


def test_an_account_without_a_person_record_or_roles(app: Flask) -> None:
    with app.app_context():
        pemohon_id = _id("pemohon")
        db.session.execute(
            text("UPDATE users SET person_id = NULL, agency_id = NULL WHERE id = :id"), {"id": pemohon_id}
        )
        db.session.execute(text("DELETE FROM user_roles WHERE user_id = :id"), {"id": pemohon_id})
        db.session.expunge_all()
        user = _read(pemohon_id)[pemohon_id]
        assert user.person is None and user.agency is None and user.roles == [] and user.nik is None
        db.session.rollback()
