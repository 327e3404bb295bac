"""A row read as plain values and adopted into the session behaves as a row the ORM loaded: persistent and clean,
columns left out of the read loaded on first use, a change written as an UPDATE of that column only, and a copy the
session already holds updated in place."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect

from engine.models import Agency, db
from engine.services.adopt import adopt


def _values(agency_id: int, *, leave_out: str | None = None) -> dict[str, Any]:
    row = db.session.execute(select(Agency.__table__).where(Agency.id == agency_id)).mappings().one()
    names = {column.name: prop.key for prop in sa_inspect(Agency).column_attrs for column in prop.columns}
    return {names[name]: value for name, value in row.items() if names[name] != leave_out}


def _statements(app: Flask) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_an_adopted_row_is_persistent_clean_and_loads_what_was_left_out(app: Flask) -> None:
    with app.app_context():
        agency_id = db.session.execute(select(Agency.id).order_by(Agency.id)).scalars().first()
        assert agency_id is not None
        name = db.session.get(Agency, agency_id).name  # type: ignore[union-attr]
        db.session.expunge_all()
        values = _values(agency_id, leave_out="name")
        agency = adopt(db.session(), Agency, values)
        state = sa_inspect(agency)
        assert state.persistent and not state.modified and agency not in db.session.dirty
        assert db.session.get(Agency, agency_id) is agency  # in the identity map, under its key
        assert "name" in state.unloaded
        seen = _statements(app)
        assert agency.name == name  # loaded on first use, as a deferred column is
        assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT")
        seen.clear()
        agency.name = "Dinas Uji Adopsi"
        db.session.flush()
        assert len(seen) == 1 and seen[0].lstrip().upper().startswith("UPDATE")
        assert "name" in seen[0] and "code" not in seen[0].split("WHERE")[0]
        db.session.rollback()


def test_a_held_copy_takes_the_values_read(app: Flask) -> None:
    with app.app_context():
        agency = db.session.execute(select(Agency).order_by(Agency.id)).scalars().first()
        assert agency is not None
        values = {**_values(agency.id), "name": "Dibaca ulang"}
        assert adopt(db.session(), Agency, values) is agency
        assert agency.name == "Dibaca ulang" and not sa_inspect(agency).modified
