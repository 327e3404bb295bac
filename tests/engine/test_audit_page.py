"""The auditor's verification page: Auditor and Admin only, names the first misfit in Indonesian."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from engine.models import AuditEvent
from tests.engine.test_audit import run_case, tamper
from tests.web_login import login


def test_auditor_and_admin_see_an_intact_log_and_the_link_in_the_navigation(app: Flask, api: Any) -> None:
    run_case(api)
    for username in ("auditor", "admin"):
        browser = app.test_client()
        login(browser, username)
        page = browser.get("/audit/verifikasi")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Log peristiwa utuh" in html and 'href="/audit/verifikasi"' in html


def test_auditor_page_names_the_edited_event(app: Flask, client: FlaskClient, api: Any) -> None:
    case_id = run_case(api)
    event = tamper(app, case_id, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(actor="mallory"))
    login(client, "auditor")
    html = client.get("/audit/verifikasi").get_data(as_text=True)
    assert "Log peristiwa TIDAK utuh: 1 aliran bermasalah." in html
    assert f"<td>{event.stream}</td><td>#{event.seq}</td>" in html
    assert f"<td>{event.kind}</td><td>isi peristiwa telah diubah</td>" in html


def test_other_roles_may_not_open_the_auditor_page(app: Flask, client: FlaskClient) -> None:
    login(client, "pemohon")
    assert client.get("/audit/verifikasi").status_code == 403
    assert 'href="/audit/verifikasi"' not in client.get("/validasi").get_data(as_text=True)
