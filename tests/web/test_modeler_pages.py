"""The process owner's pages: Admin only, served with the bundled modeler (no CDN)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

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
