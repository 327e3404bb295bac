"""Every case a SOP test creates must replay: re-executed from its log, equal to its stored state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from engine.models import db
from engine.services.replay_cases import case_ids, replay_case


@pytest.fixture(autouse=True)
def every_case_replays(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test, replay each case in its database; a difference fails the test."""
    app: Flask | None = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is None:
        return
    with app.app_context():
        db.session.remove()  # read what the test committed, not a session it left behind
        replays = [replay_case(case_id) for case_id in case_ids()]
        db.session.rollback()
    failures = [r.summary() for r in replays if not r.result.equal]
    if failures:
        pytest.fail("Replay tidak cocok dengan yang tersimpan:\n" + "\n".join(failures))
