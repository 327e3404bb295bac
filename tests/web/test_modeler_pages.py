"""The process owner's pages (Admin only) and the catalogue the modeler loads (Admin and Auditor)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.cli import catalogue_command
from tests.web_login import login

PAGES = ("/admin/proses", "/admin/proses/issuance_ams", "/admin/proses/issuance_ams/versi")


@pytest.mark.parametrize("path", PAGES)
def test_admin_gets_the_process_pages_with_the_bundled_modeler(client: FlaskClient, path: str) -> None:
    login(client, "admin")
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'lang="id"' in html
    assert "cdn" not in html.lower()  # everything is served by the app
    if path != "/admin/proses":
        assert "/static/vendor/modeler.js" in html
        assert "/static/vendor/modeler.css" in html
        assert 'data-key="issuance_ams"' in html


@pytest.mark.parametrize("username", ["pemohon", "verifikator", "auditor"])
def test_only_admin_gets_the_process_pages(client: FlaskClient, username: str) -> None:
    login(client, username)
    for path in PAGES:
        assert client.get(path).status_code == 403


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/proses/issuance_ams")
    assert response.status_code == 302
    assert "/masuk" in response.headers["Location"]


def test_a_key_that_cannot_be_a_process_is_not_found(client: FlaskClient) -> None:
    login(client, "admin")
    assert client.get("/admin/proses/..%2Fetc").status_code == 404
    assert client.get("/admin/proses/a%20b/versi").status_code == 404


def test_catalogue_lists_what_diagrams_may_name(api: Any) -> None:
    body = api("admin").get("/catalogue").get_json()
    assert set(body) == {"forms", "operators", "roles", "settings"}
    forms = {form["name"]: form for form in body["forms"]}
    assert forms, body
    assert all(isinstance(field["required"], bool) for form in forms.values() for field in form["fields"])
    operators = {op["name"]: op for op in body["operators"]}
    assert "common.form_pdf" in operators
    assert operators["common.form_pdf"]["version"] in operators["common.form_pdf"]["versions"]
    assert {"lane": "Verifikator", "role": "Verifikator"} in body["roles"]
    settings = {s["name"]: s for s in body["settings"]}
    assert settings["sla_verification_reminder"] == {
        "name": "sla_verification_reminder",
        "default": "P2D",
        "kind": "duration",
    }
    assert not any("secret" in name or "kek" in name or "database" in name for name in settings)  # never secrets


def test_catalogue_is_for_admin_and_auditor(api: Any) -> None:
    assert api("auditor").get("/catalogue").status_code == 200
    assert api("pemohon").get("/catalogue").status_code == 403
    assert api("verifikator").get("/catalogue").status_code == 403


def test_cli_dumps_the_same_catalogue_as_the_api(app: Any, api: Any) -> None:
    result = app.test_cli_runner().invoke(catalogue_command, ["--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :]) == api("admin").get("/catalogue").get_json()
