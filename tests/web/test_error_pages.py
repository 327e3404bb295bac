"""Error pages are Indonesian whatever failed: werkzeug's HTTP errors, database races, a broken page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from werkzeug.exceptions import InternalServerError

import engine.web
from engine.models import Role, db
from tests.web_login import login

ENGLISH = ("Internal Server Error", "The server encountered", "A conflict happened", "Service Unavailable")


def add_route(app: Flask, path: str, view: Any) -> None:
    app.add_url_rule(path, path.strip("/").replace("/", "_"), view)


def assert_indonesian(body: str) -> None:
    assert not any(phrase in body for phrase in ENGLISH), body[:500]
    assert 'lang="id"' in body


def test_a_werkzeug_500_shows_the_indonesian_page(app: Flask, client: FlaskClient) -> None:
    def fail() -> Any:
        raise InternalServerError()

    add_route(app, "/uji/500", fail)

    response = client.get("/uji/500")

    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert_indonesian(body)
    assert "Terjadi kesalahan pada server" in body


def test_a_werkzeug_409_and_503_have_indonesian_messages(app: Flask, client: FlaskClient) -> None:
    add_route(app, "/uji/409", lambda: abort(409))
    add_route(app, "/uji/503", lambda: abort(503))

    conflict, unavailable = client.get("/uji/409"), client.get("/uji/503")

    assert (conflict.status_code, unavailable.status_code) == (409, 503)
    assert_indonesian(conflict.get_data(as_text=True))
    assert "muat ulang halaman dan coba lagi" in conflict.get_data(as_text=True)
    assert "coba lagi" in unavailable.get_data(as_text=True)


def test_a_database_conflict_behind_a_page_answers_409_in_indonesian(app: Flask, client: FlaskClient) -> None:
    def duplicate_role() -> Any:
        # What a lost race looks like: a flush breaks on a unique key and leaves the session needing a rollback.
        db.session.add(Role(name="Admin"))
        db.session.flush()
        return "unreachable"

    add_route(app, "/uji/bentrok", duplicate_role)
    login(client, "admin")  # the page's header then needs the user's roles from the (broken) session

    response = client.get("/uji/bentrok")

    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert_indonesian(body)
    assert "coba lagi" in body
    assert "Admin Diskominfo" in body  # the ordinary page, header included, not a bare fallback


def test_an_error_page_that_cannot_render_still_answers_in_indonesian(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_template(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("template broken")

    def fail() -> Any:
        raise InternalServerError()

    add_route(app, "/uji/500", fail)
    monkeypatch.setattr(engine.web, "render_template", broken_template)

    response = client.get("/uji/500")

    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert_indonesian(body)
    assert "Terjadi kesalahan pada server" in body
