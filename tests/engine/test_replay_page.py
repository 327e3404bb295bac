"""The replay page over HTTP: who may open it, what it carries, and the logged re-execution check."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import AuditEvent, db
from tests.engine.test_replay import returned_then_delivered
from tests.sops.test_issuance_ams import recommend, start_and_register, verify
from tests.web_login import login


def browser_as(app: Flask, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def page_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="replay-data">(.*?)</script>', html, re.S)
    assert match, html[:2000]
    return json.loads(match.group(1))  # type: ignore[no-any-return]


def test_auditor_sees_every_logged_event_with_the_case_as_it_was(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    auditor = browser_as(app, "auditor")
    case_page = auditor.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert f'href="/kasus/{case_id}/putar-ulang"' in case_page
    answer = auditor.get(f"/kasus/{case_id}/putar-ulang")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "<script>" not in html and not re.search(r"<script(?![^>]*(src=|application/json))", html)
    data = page_data(html)
    with app.app_context():
        logged = list(
            db.session.execute(
                select(AuditEvent.seq).where(AuditEvent.instance_id == case_id).order_by(AuditEvent.seq)
            ).scalars()
        )
    assert [s["seq"] for s in data["steps"]] == logged
    assert data["replay_stopped"] is None
    forms = [s for s in data["steps"] if s["kind"] == "task_completed"]
    assert [(s["task_name"], s["actor"], s["role"]) for s in forms][:3] == [
        ("registration_form", "pemohon", "Pemohon"),
        ("recommendation", "atasan", "Atasan"),
        ("verification", "verifikator", "Verifikator"),
    ]
    returned = forms[2]
    assert returned["payload"]["submission"]["decision"] == "return"
    assert returned["data"]["verification"]["decision"] == "return"  # the case data right after the form
    services = [s for s in data["steps"] if s["kind"] == "step_completed" and "operator" in s["payload"]]
    assert any(s["service_inputs"] for s in services)  # the parameters the diagram passed, evaluated again
    called = [s for s in data["steps"] if s["in_called_process"]]
    assert {s["process"] for s in called} >= {"common_verification", "common_delivery", "common_archive"}
    assert all(s["process_title"] != s["process"] for s in called)
    assert data["steps"][-1]["completed"] and "end_delivered" in data["steps"][-1]["completed"]
    xml = auditor.get(f"/kasus/{case_id}/putar-ulang/diagram.xml")
    assert xml.mimetype == "application/xml" and b'id="issuance_ams"' in xml.data


def test_the_check_is_a_logged_post_with_the_csrf_token(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    auditor = browser_as(app, "auditor")
    html = auditor.get(f"/kasus/{case_id}/putar-ulang").get_data(as_text=True)
    assert auditor.post(f"/kasus/{case_id}/putar-ulang/periksa").status_code == 400
    token = re.search(r'data-csrf="([^"]+)"', html)
    assert token
    answer = auditor.post(f"/kasus/{case_id}/putar-ulang/periksa", headers={"X-CSRF-Token": token.group(1)})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["equal"] is True and body["seq"] is None and f"Kasus #{case_id}: cocok" in body["summary"]
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.kind == "case_replayed")).scalar_one()
        assert event.stream == "system" and event.actor == "auditor"
        assert json.loads(event.payload_json)["case_id"] == case_id


def test_only_auditors_and_ra_staff_open_the_replay(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    for username in ("pemohon", "atasan"):
        client = browser_as(app, username)
        assert client.get(f"/kasus/{case_id}/putar-ulang").status_code == 403
        assert client.get(f"/kasus/{case_id}/putar-ulang/diagram.xml").status_code == 403
    for username in ("auditor", "admin", "verifikator"):
        assert browser_as(app, username).get(f"/kasus/{case_id}/putar-ulang").status_code == 200
    assert browser_as(app, "auditor").get("/kasus/999999/putar-ulang").status_code == 404
    assert app.test_client().get(f"/kasus/{case_id}/putar-ulang").status_code == 302


def test_a_tampered_case_still_shows_and_says_where_replay_stopped(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    with app.app_context():
        step = db.session.execute(
            select(AuditEvent).where(AuditEvent.instance_id == case_id, AuditEvent.kind == "step_completed").limit(1)
        ).scalar_one()
        gone = step.seq
        db.session.delete(step)
        db.session.commit()
    answer = browser_as(app, "auditor").get(f"/kasus/{case_id}/putar-ulang")
    assert answer.status_code == 200
    data = page_data(answer.get_data(as_text=True))
    assert f"peristiwa #{gone} hilang" in data["replay_stopped"]
    assert 'id="replay-stopped"' in answer.get_data(as_text=True)


def test_recorded_text_cannot_break_out_of_the_data_block(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    hostile = "KTP buram </script><script>alert(1)</script> <!-- x"
    assert verify(api, case_id, {"decision": "return", "reasons": hostile}).status_code == 200
    html = browser_as(app, "auditor").get(f"/kasus/{case_id}/putar-ulang").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<!-- x" not in html
    forms = [s for s in page_data(html)["steps"] if s["kind"] == "task_completed"]
    assert forms[-1]["payload"]["submission"]["reasons"] == hostile
