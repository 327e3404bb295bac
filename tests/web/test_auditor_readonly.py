"""Auditors read everything and change nothing: every mutating endpoint of the app answers 403 to an auditor.

The endpoints are enumerated from app.url_map at run time, so an endpoint added later is covered without
editing this test; only the ones listed in NOT_A_CHANGE (with why) are left out.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from engine.models import AuditEvent, HumanTask, ProcessInstance, db
from engine.services import access_log
from tests.sops.test_issuance_ams import start_and_register
from tests.web_login import csrf_of, login

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Endpoints that change nothing of the RA's records, open to anyone (or to one's own session):
NOT_A_CHANGE = {
    "auth.login": "logging in",
    "auth.logout": "ending one's own session",
    "auth.api_logout": "ending one's own token",
    "api.token": "obtaining one's own API token",
    "auth.revoke_token": "revoking one's own API token",
    "pki.ocsp_post": "OCSP status query (RFC 6960 protocol, public)",
    "pki.tsa": "RFC 3161 timestamp request (protocol, public)",
    "signing.validate_page": "validating an uploaded PDF (public, read-only)",
    "signing.validate_api": "validating an uploaded PDF (public, read-only)",
    "signing.validate_etsi_api": "validating an uploaded PDF (public, read-only)",
    "replay.check": "re-executing a case from its log to check it (the auditor's own tool; changes no record)",
}


def mutating_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, a URL of the rule with placeholder arguments) of every mutating rule."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        methods = sorted((rule.methods or set()) & MUTATING)
        if not methods or rule.endpoint in NOT_A_CHANGE:
            continue
        converters = rule._converters
        values = {name: 1 if isinstance(converters[name], IntegerConverter) else "x" for name in rule.arguments}
        url = adapter.build(rule.endpoint, values, method=methods[0])
        found.extend((rule.endpoint, method, url) for method in methods)
    return sorted(found)


def _counts() -> tuple[int, int, int]:
    return (
        db.session.execute(select(func.count()).select_from(ProcessInstance)).scalar_one(),
        db.session.execute(select(func.count()).select_from(HumanTask).where(HumanTask.status != "open")).scalar_one(),
        db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
    )


def test_every_mutating_endpoint_answers_403_to_an_auditor(app: Flask, client: FlaskClient, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)  # a case with an open task (#1 exists), so ids resolve
    login(client, "auditor")
    token = csrf_of(client.get("/audit/kasus").get_data(as_text=True))
    bearer = {"Authorization": f"Bearer {api('auditor').headers['Authorization'].removeprefix('Bearer ')}"}
    with app.app_context():
        before = _counts()
    rules = mutating_rules(app)
    assert len(rules) >= 20, rules
    answers = {}
    for endpoint, method, url in rules:
        url = url.replace("/1/", f"/{case_id}/") if "/kasus/" in url else url
        if url.startswith("/api/"):
            response = client.open(url, method=method, headers=bearer, json={})
        else:
            response = client.open(url, method=method, headers={"X-CSRF-Token": token}, data={"csrf_token": token})
        answers[f"{method} {url} ({endpoint})"] = response.status_code
    assert {k: v for k, v in answers.items() if v != 403} == {}
    with app.app_context():
        after = _counts()
    # Nothing changed but the log of the auditor's own logins (two: the form and the API token).
    assert after[:2] == before[:2]


@pytest.mark.parametrize("endpoint", sorted(NOT_A_CHANGE))
def test_the_exempt_endpoints_exist(app: Flask, endpoint: str) -> None:
    assert endpoint in app.view_functions, f"{endpoint} is gone: drop it from NOT_A_CHANGE"


def test_an_auditors_views_of_a_case_and_its_documents_are_logged(app: Flask, client: FlaskClient, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    login(client, "auditor")
    page = client.get(f"/kasus/{case_id}")
    assert page.status_code == 200 and f'href="/audit/kasus/{case_id}/paket"' in page.get_data(as_text=True)
    auditor = api("auditor")
    documents = auditor.get(f"/cases/{case_id}").get_json()["documents"]
    assert auditor.get(f"/documents/{documents[0]['id']}").status_code == 200
    verifikator = app.test_client()
    login(verifikator, "verifikator")
    assert verifikator.get(f"/kasus/{case_id}").status_code == 200  # staff working the case: not logged here
    with app.app_context():
        logged = [
            (e.actor, e.kind, json.loads(e.payload_json))
            for e in db.session.execute(
                select(AuditEvent).where(AuditEvent.stream == access_log.ACCESS_STREAM).order_by(AuditEvent.seq)
            ).scalars()
        ]
    assert logged == [
        ("auditor", "case_viewed", {"case_id": case_id}),
        ("auditor", "case_viewed", {"case_id": case_id}),
    ]
    # The download is logged once, on the case's own stream, with the auditor's reason.
    with app.app_context():
        viewed = [
            (e.actor, json.loads(e.payload_json))
            for e in db.session.execute(
                select(AuditEvent).where(AuditEvent.kind == "document_viewed").order_by(AuditEvent.id)
            ).scalars()
        ]
    assert [(actor, p["document_id"], p["why"]) for actor, p in viewed] == [("auditor", documents[0]["id"], "audit")]
