"""Service tasks a diagram marks `background=true` run after the person's request, with retries.

Driven like a person would: 088.9 with its registration PDF marked as a background step; the applicant's
submit answers before the PDF exists, the scheduler's poll (or the app server's own thread) makes it, a
failing step is recorded and retried later, and nothing of the diagram's order changes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from engine import registry
from engine.models import AuditEvent, Document, ProcessInstance, db
from engine.models.base import utcnow
from engine.services import deploy, timers
from engine.services.errors import Invalid
from engine.services.replay_cases import replay_case
from tests.conftest import Api, build_app
from tests.sops.builders import RECOMMEND, registration

BACKGROUND = (
    '<bpmn:extensionElements><sertel:properties><sertel:property name="background" value="true"/></sertel:properties>'
)


def with_background_pdf(xml: str, every: bool = False) -> str:
    """088.9 whose registration PDF (the first service task rendering a form PDF), or every form PDF, runs in
    the background."""
    operator = '<spiffworkflow:serviceTaskOperator id="common.form_pdf"'
    marked, start = xml, 0
    while (start := marked.find(operator, start)) >= 0:
        at = marked.rindex("<bpmn:extensionElements>", 0, start)
        marked = marked[:at] + BACKGROUND + marked[at + len("<bpmn:extensionElements>") :]
        start += len(BACKGROUND) + len(operator)
        if not every:
            break
    return marked


def background_app(tmp_path: Path, psre_template: Path, every: bool = False, **overrides: Any) -> Flask:
    app = build_app(tmp_path, psre_template, BACKGROUND_STEPS=True, **overrides)
    with app.app_context():
        xml = (deploy.PROCESSES_DIR / "issuance_ams.bpmn").read_text(encoding="utf-8")
        deploy.deploy(with_background_pdf(xml, every), "issuance_ams", "pemilik")
    return app


@pytest.fixture
def bg_app(tmp_path: Path, psre_template: Path) -> Iterator[Flask]:
    app = background_app(tmp_path, psre_template, BACKGROUND_KICK=False)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def submit_registration(app: Flask) -> int:
    pemohon = Api(app.test_client(), "pemohon")
    case_id = pemohon.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"]
    [task] = [t for t in pemohon.get("/tasks").get_json()["mine"] if t["case_id"] == case_id]
    answer = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_json()
    return int(case_id)


def form_pdfs(case_id: int) -> list[Document]:
    return list(
        db.session.execute(select(Document).where(Document.instance_id == case_id, Document.kind == "form")).scalars()
    )


def test_the_submit_answers_before_the_background_pdf_and_the_scheduler_makes_it(bg_app: Flask) -> None:
    case_id = submit_registration(bg_app)
    with bg_app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        assert form_pdfs(case_id) == []
        assert "(diproses sistem)" in case.current_steps
        assert case.next_timer_at is not None and case.next_timer_at <= utcnow()
        assert timers.fire_due_timers() == 1
        db.session.expire_all()
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        assert len(form_pdfs(case_id)) == 1
        assert "(diproses sistem)" not in case.current_steps
        assert "rekomendasi" in case.current_steps.lower()  # the next person's task, as without background
        assert case.next_timer_at is None or case.next_timer_at > utcnow()
        # The PDF step ran for the person who submitted, not for the scheduler that picked it up.
        steps = db.session.execute(
            select(AuditEvent.payload_json).where(AuditEvent.instance_id == case_id, AuditEvent.kind == "step_completed")
        ).scalars()
        triggered = {json.loads(p).get("triggered_by") for p in steps}
        assert "pemohon" in triggered and "penjadwal" not in triggered
        stored_by = db.session.execute(
            select(AuditEvent.actor).where(AuditEvent.instance_id == case_id, AuditEvent.kind == "document_stored")
        ).scalars()
        assert set(stored_by) == {"pemohon"}
        # The log proves the case as it does without background steps: replay runs them where the submit
        # left them and finds the same steps and the same state.
        replayed = replay_case(case_id)
        assert replayed.result.equal, replayed.summary()


def test_a_failing_background_step_is_recorded_and_retried_later(bg_app: Flask, monkeypatch: Any) -> None:
    case_id = submit_registration(bg_app)
    calls = {"n": 0}

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        raise RuntimeError("layanan segel sedang tidak tersedia")

    real = registry.operator

    def failing(name: str) -> Any:
        found = real(name)
        return dataclasses.replace(found, func=broken) if found.name == "common.form_pdf" else found

    monkeypatch.setattr(registry, "operator", failing)
    with bg_app.app_context():
        assert timers.fire_due_timers() == 0
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.error and "tidak tersedia" in case.error
        first_retry = case.next_timer_at
        assert first_retry is not None and first_retry > utcnow()
        assert form_pdfs(case_id) == []
        # Not due yet: the poll leaves it.
        assert timers.fire_due_timers() == 0 and calls["n"] == 1
        with time_machine.travel(first_retry, tick=False):
            assert timers.fire_due_timers() == 0
        db.session.expire_all()
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.next_timer_at is not None
        # The second failure in a row waits twice as long.
        assert (case.next_timer_at - first_retry).total_seconds() >= 2 * 60 - 1
        kinds = db.session.execute(
            select(AuditEvent.kind, AuditEvent.actor).where(AuditEvent.instance_id == case_id)
        ).all()
        assert kinds.count(("background_step_failed", "sistem")) == 2
        monkeypatch.undo()
        with time_machine.travel(case.next_timer_at, tick=False):
            assert timers.fire_due_timers() == 1
        db.session.expire_all()
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.error is None
        assert len(form_pdfs(case_id)) == 1
        replayed = replay_case(case_id)
        assert replayed.result.equal, replayed.summary()


def test_the_app_server_starts_the_background_step_at_once(tmp_path: Path, psre_template: Path) -> None:
    app = background_app(tmp_path, psre_template)
    try:
        case_id = submit_registration(app)
        with app.app_context():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not form_pdfs(case_id):
                time.sleep(0.2)
                db.session.rollback()
            assert len(form_pdfs(case_id)) == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_without_the_setting_a_background_step_runs_in_the_request(app: Flask) -> None:
    with app.app_context():
        xml = (deploy.PROCESSES_DIR / "issuance_ams.bpmn").read_text(encoding="utf-8")
        deploy.deploy(with_background_pdf(xml), "issuance_ams", "pemilik")
    case_id = submit_registration(app)
    with app.app_context():
        assert len(form_pdfs(case_id)) == 1


def refusal(xml: str) -> str:
    try:
        deploy.parse_and_check(xml, "issuance_ams")
    except Invalid as exc:
        return str(exc.fields)
    return ""


def test_publishing_refuses_an_unknown_task_property_or_a_bad_value(app: Flask) -> None:
    marked = with_background_pdf((deploy.PROCESSES_DIR / "issuance_ams.bpmn").read_text(encoding="utf-8"))
    with app.app_context():
        assert refusal(marked) == ""
        unknown = marked.replace('name="background" value="true"', 'name="latar" value="true"')
        assert "properti tugas 'latar' tidak dikenal" in refusal(unknown)
        bad = marked.replace('name="background" value="true"', 'name="background" value="ya"')
        assert "harus 'true' atau 'false', bukan 'ya'" in refusal(bad)


def test_a_background_step_after_a_typed_passphrase_runs_in_the_request(tmp_path: Path, psre_template: Path) -> None:
    """The passphrase exists for one request only: the form PDF it signs cannot wait for the background."""
    from tests.sops.test_form_pdfs import HEAD_PASSPHRASE, give_head_esign_key
    from tests.sops.test_issuance_ams import case_of, recommend

    app = background_app(tmp_path, psre_template, every=True, BACKGROUND_KICK=False)
    try:
        give_head_esign_key(app)
        case_id = submit_registration(app)
        with app.app_context():
            assert timers.fire_due_timers() == 1  # the registration PDF, in the background
        client = app.test_client()
        api = lambda username: Api(client, username)  # noqa: E731 - the SOP helpers take such a factory
        refused = recommend(api, case_id, {**RECOMMEND, "signing_passphrase": "Salah-Tebak-1"})
        assert refused.status_code == 422, refused.get_json()
        assert "Passphrase eSign salah" in refused.get_json()["fields"]["signing_passphrase"][0]
        answer = recommend(api, case_id, {**RECOMMEND, "signing_passphrase": HEAD_PASSPHRASE})
        assert answer.status_code == 200, answer.get_json()
        assert case_of(api("atasan"), case_id)["data"]["recommendation_pdf"]["signed_by"] == "owner"
        with app.app_context():
            assert len(form_pdfs(case_id)) == 2
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_user_tasks_priority_is_checked_at_publish(app: Flask) -> None:
    xml = (deploy.PROCESSES_DIR / "revocation.bpmn").read_text(encoding="utf-8")
    assert 'name="priority" value="urgent"' in xml
    with app.app_context():
        try:
            deploy.parse_and_check(xml.replace('value="urgent"', 'value="segera"'), "revocation")
        except Invalid as exc:
            assert "harus 'urgent' atau 'normal', bukan 'segera'" in str(exc.fields)
        else:
            raise AssertionError("a misspelt priority was published")
