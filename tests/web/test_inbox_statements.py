"""The inbox reuses the statements it built for the same user and filters, and never another user's."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from engine.models import User, db
from engine.services import worklist


def _user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def test_the_same_user_and_filters_reuse_the_statements_another_user_gets_their_own(app: Flask) -> None:
    with app.app_context():
        verifikator, other, pemohon = _user("verifikator"), _user("verifikator2"), _user("pemohon")
        worklist._STATEMENTS.clear()
        worklist.inbox_board(verifikator, worklist.Filters())
        built = dict(worklist._STATEMENTS)
        assert len(built) == 1
        worklist.inbox_board(verifikator, worklist.Filters())
        ((key, statements),) = built.items()
        assert list(worklist._STATEMENTS) == [key]
        assert all(a is b for a, b in zip(worklist._STATEMENTS[key], statements, strict=True))  # the same objects
        worklist.inbox_board(other, worklist.Filters())
        worklist.inbox_board(pemohon, worklist.Filters())
        worklist.inbox_board(verifikator, worklist.Filters(sop="issuance_ams"))
        worklist.inbox_board(verifikator, worklist.Filters(), mine_after=worklist.Cursor(1, "", 5))
        assert len(worklist._STATEMENTS) == 5  # one entry per user, filters and cursor
        # A statement depends on the clock through the SLA filter only: those are built each time, never kept.
        worklist.inbox_board(verifikator, worklist.Filters(sla="terlambat"))
        assert len(worklist._STATEMENTS) == 5


def test_the_kept_statements_are_bounded(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worklist, "_STATEMENTS_MAX", 2)
    with app.app_context():
        verifikator = _user("verifikator")
        worklist._STATEMENTS.clear()
        for sop in ("a", "b", "c"):
            worklist.inbox_board(verifikator, worklist.Filters(sop=sop))
        assert len(worklist._STATEMENTS) == 1  # full at 2: cleared, then the third kept
