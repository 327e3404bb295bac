"""A form submitted twice at once (a double click) through a real server: one result, one clean 409."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import race_harness as h
from tests.web_login import csrf_of, login

DOUBLE_SUBMITS = 20


@pytest.fixture
def race_app(app: Flask) -> Iterator[Flask]:
    """The app with the probe process deployed and three Admin officers."""
    with h.probe_registered():
        h.deploy_probe_and_officers(app)
        yield app


def browser_session(client: FlaskClient, username: str) -> tuple[str, str]:
    """A logged-in session cookie and its CSRF token, as a browser would hold them."""
    login(client, username)
    token = csrf_of(client.get("/").get_data(as_text=True))
    cookie = client.get_cookie("session")
    assert cookie is not None
    return f"session={cookie.value}", token


def test_a_double_submitted_task_form_completes_once_and_the_repeat_gets_an_indonesian_409(race_app: Flask) -> None:
    task_ids = h.start_probes(race_app, DOUBLE_SUBMITS)
    cookie, token = browser_session(race_app.test_client(), "admin")

    with h.live_server(race_app) as base:
        tally = h.Tally()
        for task_id in task_ids:
            submit = lambda i=task_id: h.form_post(base, cookie, f"/tugas/{i}", {"decision": "ok", "csrf_token": token})  # noqa: E731
            answers = h.race([submit, submit])
            tally.add(answers, winning_status=302)
            for answer in answers:
                assert "Internal Server Error" not in answer.body
                if answer.status == 409:
                    assert 'lang="id"' in answer.body and "Tugas ini sudah diselesaikan." in answer.body

    assert tally.server_errors == 0, tally.bodies_of_failures[:2]
    assert tally.statuses == {302: DOUBLE_SUBMITS, 409: DOUBLE_SUBMITS}, tally.summary()
    completed = h.events_per_case(race_app, "task_completed")
    assert len(completed) == DOUBLE_SUBMITS and set(completed.values()) == {1}
    assert h.chain_problems(race_app) == []
