"""Anonymous requests go to the rate-limited security log, never to the case log or the audit chain."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import AuditEvent, SecurityEvent, db
from engine.services import audit_verify
from engine.services.security_log import RATE_LIMITED
from tests.web_login import csrf_of

NOT_A_SIGNED_PDF = b"%PDF-1.4\n%%EOF\n"


def audit_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def security_rows(app: Flask) -> list[tuple[str, str, int, int]]:
    with app.app_context():
        rows = db.session.execute(select(SecurityEvent).order_by(SecurityEvent.id)).scalars()
        return [(r.kind, r.source, r.slot, r.count) for r in rows]


def test_anonymous_validation_writes_only_the_security_log(app: Flask, client: FlaskClient) -> None:
    before = audit_count(app)
    assert client.post("/api/v1/validate", data=NOT_A_SIGNED_PDF).status_code == 200
    page = client.get("/validasi").get_data(as_text=True)
    upload = {"file": (io.BytesIO(NOT_A_SIGNED_PDF), "x.pdf"), "csrf_token": csrf_of(page)}
    assert client.post("/validasi", data=upload, content_type="multipart/form-data").status_code == 200
    assert audit_count(app) == before
    assert [row[0] for row in security_rows(app)] == ["document_validated", "document_validated"]
    assert security_rows(app)[0][1] == "127.0.0.1"


def test_failed_logins_write_only_the_security_log(app: Flask, client: FlaskClient) -> None:
    before = audit_count(app)
    for username in ("tidak-ada", "pemohon"):
        response = client.post("/api/v1/auth/token", json={"username": username, "password": "salah-sekali"})
        assert response.status_code == 401
    assert audit_count(app) == before
    assert [row[0] for row in security_rows(app)] == ["login_failed", "login_failed"]


def test_an_anonymous_flood_costs_one_counter_row_per_source_and_minute(app: Flask, client: FlaskClient) -> None:
    app.config["SERTEL"]["SECURITY_LOG_PER_MINUTE"] = 3
    before = audit_count(app)
    with time_machine.travel(datetime(2026, 12, 3, 9, 30, 5), tick=False):  # one minute for every request
        for _ in range(10):
            client.post("/api/v1/auth/token", json={"username": "penyerang", "password": "tebak-tebak"})
        client.post("/api/v1/validate", data=NOT_A_SIGNED_PDF, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    rows = security_rows(app)
    assert rows == [
        ("login_failed", "127.0.0.1", 1, 1),
        ("login_failed", "127.0.0.1", 2, 1),
        ("login_failed", "127.0.0.1", 3, 1),
        (RATE_LIMITED, "127.0.0.1", 4, 7),
        ("document_validated", "10.0.0.7", 1, 1),
    ]
    assert audit_count(app) == before
    with app.app_context():
        assert audit_verify.verify() == []


def test_authenticated_validation_and_login_stay_in_the_audit_log(app: Flask, client: FlaskClient, api: Any) -> None:
    before = audit_count(app)
    pemohon = api("pemohon")  # a successful login
    assert pemohon.post("/validate", data=NOT_A_SIGNED_PDF).status_code == 200
    with app.app_context():
        kinds = db.session.execute(select(AuditEvent.kind).order_by(AuditEvent.id)).scalars().all()
    # Each goes to its kind's stream of the day, opened in the registry by its first event.
    assert [k for k in kinds[before:] if k != "stream_opened"] == ["login", "document_validated"]
    assert security_rows(app) == []
