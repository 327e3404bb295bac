"""Security headers on every answer, private documents never cached, and no 5xx from bad input."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from engine.app import create_app
from engine.config import ROOT
from tests.web.test_html_flow import WebUser, html_of, register, start_case


def test_every_answer_carries_the_security_headers(client: FlaskClient) -> None:
    for path in ("/masuk", "/api/v1/openapi.json", "/tidak-ada", "/static/css/sertel.css"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Werkzeug" not in headers.get("Server", "") and "Python" not in headers.get("Server", "")
        assert "Strict-Transport-Security" not in headers  # plain http: HSTS would be ignored, and wrong


def test_hsts_over_tls(client: FlaskClient) -> None:
    headers = client.get("/masuk", base_url="https://localhost").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_is_secure_outside_development(app: Flask, tmp_path: Path) -> None:
    assert app.config["SESSION_COOKIE_SECURE"] is False  # testing/development serve plain http
    prod = create_app({"ENV": "production", "INSTANCE_DIR": str(tmp_path / "p"), "DATABASE_URL": "sqlite://",
                       "SECRET_KEY": "s" * 48, "KEK_KEYS": Fernet.generate_key().decode()})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True


def test_no_inline_script_or_style_in_templates() -> None:
    for folder in (ROOT / "engine" / "web" / "templates", ROOT / "webforms"):
        for template in folder.rglob("*.html"):
            text = template.read_text()
            assert "<style" not in text, template
            assert " style=" not in text, template
            for line in text.splitlines():
                if "<script" in line:
                    # A JSON data block is never executed (CSP allows no inline script, and needs none here).
                    assert "src=" in line or 'type="application/json"' in line, (template, line)
            assert " onclick=" not in text and " onload=" not in text and " onsubmit=" not in text, template


def test_private_documents_are_never_cached(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert register(pemohon, task_id).status_code in (302, 303)
    links = html_of(pemohon.get(f"/kasus/{case_id}")).xpath("//a[starts-with(@href, '/dokumen/')]/@href")
    assert links
    for link in links:
        response = pemohon.get(link)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", link


def test_deeply_nested_json_on_token_login_is_a_400(client: FlaskClient) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.get_json()


def test_ids_beyond_32_bits_are_404_not_500(app: Flask) -> None:
    user = WebUser(app, "admin")
    for path in ("/kasus/2147483648", "/dokumen/99999999999999999999", "/tugas/9223372036854775808"):
        assert user.get(path).status_code == 404, path
    token = app.test_client().post("/api/v1/auth/token", json={"username": "admin", "password": "demo-sertel-2026"})
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
    assert app.test_client().get("/api/v1/cases/2147483648", headers=bearer).status_code == 404


def test_a_bad_page_number_is_a_400(app: Flask) -> None:
    user = WebUser(app, "admin")
    for page in ("abc", "-1", "0", "99999999999999999999"):
        response = user.get(f"/admin/surel?halaman={page}")
        assert response.status_code == 400, page
        assert "Nomor halaman tidak valid" in response.get_data(as_text=True)


def test_control_characters_in_text_are_refused_with_a_clear_message(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    _, task_id = start_case(pemohon)
    response = register(pemohon, task_id, phone="0812\x003456")
    assert response.status_code == 422
    assert "karakter kontrol" in response.get_data(as_text=True)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "pemohon", "password": "demo-sertel-2026"})
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
    answer = client.post("/api/v1/cases", headers=bearer, json={"process_key": "issuance_ams", "data": {"note": "a\x07b"}})
    assert answer.status_code == 422
    assert "karakter kontrol" in answer.get_json()["error"]
    # Newlines and tabs are ordinary text, not refused as control characters.
    plain = client.post("/api/v1/cases", headers=bearer, json={"process_key": "issuance_ams", "data": {"note": "a\tb\r\n"}})
    assert "karakter kontrol" not in plain.get_data(as_text=True)


def test_internal_sql_never_reaches_a_response_body(app: Flask) -> None:
    from engine.services.errors import Unavailable

    @app.get("/_boom")
    def boom() -> str:
        raise Unavailable("(psycopg.errors.UndefinedTable) relation \"x\" [SQL: SELECT secret FROM x WHERE nik = %s] [parameters: ('3375011507900001',)]")

    for path in ("/_boom",):
        body = app.test_client().get(path).get_data(as_text=True)
        assert "SQL" not in body and "3375011507900001" not in body
