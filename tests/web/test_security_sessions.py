"""Sessions live on the server (logout and an Admin end them), API tokens are revocable, logins throttled."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from engine.models import ApiToken, WebSession, db
from engine.services.setup import DEMO_PASSWORD
from tests.web.test_html_flow import WebUser, csrf_of


def _token(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def test_the_cookie_carries_only_a_random_id_and_the_server_keeps_its_hash(app: Flask) -> None:
    user = WebUser(app, "admin")
    cookie = user.client.get_cookie("session")
    assert cookie is not None and "." not in cookie.value and len(cookie.value) >= 40  # no signed payload
    with app.app_context():
        rows = list(db.session.execute(db.select(WebSession)).scalars())
    assert rows and all(row.id_hash != cookie.value for row in rows)


def test_a_session_cookie_no_longer_works_after_logout(app: Flask) -> None:
    user = WebUser(app, "admin")
    stolen = user.client.get_cookie("session").value  # type: ignore[union-attr]
    assert user.client.get("/admin/surel").status_code == 200
    assert user.client.post("/keluar", data={"csrf_token": user.csrf}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/admin/surel")
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_an_admin_revokes_every_session_and_token_of_a_user(app: Flask, client: FlaskClient) -> None:
    victim = WebUser(app, "verifikator")
    token = _token(client, "verifikator").get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 200
    admin_token = _token(client, "admin").get_json()["token"]
    refused = client.post("/api/v1/users/admin/revoke-access", headers=bearer)
    assert refused.status_code == 403  # only an Admin may
    answer = client.post("/api/v1/users/verifikator/revoke-access", headers={"Authorization": f"Bearer {admin_token}"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"sessions": 1, "tokens": 1}
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 401
    assert victim.client.get("/").status_code == 302


def test_api_tokens_are_stored_hashed_listed_and_revocable(app: Flask, client: FlaskClient) -> None:
    first = _token(client, "pemohon").get_json()["token"]
    second = _token(client, "pemohon").get_json()["token"]
    with app.app_context():
        hashes = {t.token_hash for t in db.session.execute(db.select(ApiToken)).scalars()}
    assert first not in hashes and second not in hashes
    bearer = {"Authorization": f"Bearer {first}"}
    listed = client.get("/api/v1/auth/tokens", headers=bearer).get_json()["tokens"]
    assert len(listed) == 2
    other = next(t["id"] for t in listed)
    assert client.delete(f"/api/v1/auth/tokens/{other}", headers=bearer).status_code == 200
    remaining = [t for t in (first, second) if client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {t}"}).status_code == 200]
    assert len(remaining) == 1
    # Someone else's token is not theirs to revoke.
    intruder = {"Authorization": f"Bearer {_token(client, 'pemohon2').get_json()['token']}"}
    mine = client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {remaining[0]}"}).get_json()["tokens"]
    assert client.delete(f"/api/v1/auth/tokens/{mine[0]['id']}", headers=intruder).status_code == 404
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {remaining[0]}"}).status_code == 200
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {remaining[0]}"}).status_code == 401


def test_login_is_throttled_per_account_even_with_the_right_password(app: Flask, client: FlaskClient) -> None:
    for _ in range(5):
        assert _token(client, "pemohon", "salah-sekali").status_code == 401
    refused = _token(client, "pemohon")
    assert refused.status_code == 429
    assert "Tunggu" in refused.get_json()["error"]
    # Another account from the same address is not locked by five failures.
    assert _token(client, "pemohon2").status_code == 200


def test_login_is_throttled_per_address(app: Flask) -> None:
    client = app.test_client()
    for i in range(20):
        client.post("/api/v1/auth/token", json={"username": f"tebakan{i}", "password": "x"})
    assert _token(client, "atasan").status_code == 429
    other = app.test_client()
    answer = other.post(
        "/api/v1/auth/token",
        json={"username": "atasan", "password": DEMO_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert answer.status_code == 200


def test_the_login_page_says_to_wait_when_throttled(app: Flask) -> None:
    client = app.test_client()
    for _ in range(5):
        client.post("/masuk", data={"csrf_token": csrf_of(client.get("/masuk")), "username": "sekda", "password": "x"})
    page = client.post("/masuk", data={"csrf_token": csrf_of(client.get("/masuk")), "username": "sekda", "password": DEMO_PASSWORD})
    assert page.status_code == 429
    assert "Terlalu banyak percobaan masuk" in page.get_data(as_text=True)


def _login_with_next(app: Flask, target: str) -> str:
    client = app.test_client()
    response = client.post(
        "/masuk",
        query_string={"next": target},
        data={"csrf_token": csrf_of(client.get("/masuk")), "username": "admin", "password": DEMO_PASSWORD},
    )
    assert response.status_code == 302
    return str(response.headers["Location"])


def test_after_login_the_redirect_stays_on_the_site(app: Flask) -> None:
    for evil in ("/\t/evil.example/phish", "//evil.example", "/\\evil.example", "https://evil.example/"):
        assert _login_with_next(app, evil) == "/", evil
    assert _login_with_next(app, "/admin/surel") == "/admin/surel"


def test_login_url_with_an_encoded_tab_does_not_leave_the_site(app: Flask) -> None:
    client = app.test_client()
    response = client.post(
        "/masuk?next=/%09/evil.example/phish",
        data={"csrf_token": csrf_of(client.get("/masuk")), "username": "admin", "password": DEMO_PASSWORD},
    )
    assert response.headers["Location"] == "/"


def test_an_admin_ends_a_users_sessions_from_the_identity_page(app: Flask) -> None:
    victim = WebUser(app, "auditor")
    assert victim.client.get("/").status_code == 200
    admin = WebUser(app, "admin")
    page = admin.get("/admin/orang")
    assert "Akhiri semua sesi auditor" in page.get_data(as_text=True)
    answer = admin.post("/admin/pengguna/auditor/cabut-sesi", {"kembali": "/admin/orang"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/orang"
    assert victim.client.get("/").status_code == 302  # back to the login page
    assert admin.get("/admin/orang").status_code == 200  # the admin's own session is untouched
