"""SLA timers of the shared verification step: a reminder after 2 days, an escalation after 3, each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select

from engine.models import OutboxMail, ProcessInstance, db
from engine.services.timers import fire_due_timers
from tests.sops.builders import APPROVE
from tests.sops.test_issuance_ams import only_task, recommend, start_and_register, verify

# After the test PSrE is created (the RA seal and TSA certificates start then): the form PDFs are sealed.
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def mails(app: Flask, template: str) -> list[OutboxMail]:
    """The outbox mails sent from a template."""
    with app.app_context():
        return list(db.session.execute(select(OutboxMail).where(OutboxMail.template == template)).scalars())


def fire(app: Flask) -> int:
    """Run the scheduler's timer job once, as `sertel scheduler` would."""
    with app.app_context():
        return fire_due_timers()


def case_waiting_for_verification(api: Any) -> int:
    """An 088.9 case whose verification has just become due."""
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    assert only_task(api("verifikator"), case_id, "verification")["status"] == "open"
    return case_id


def test_verification_timers_are_scheduled_from_the_called_process(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False):
        case_id = case_waiting_for_verification(api)
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.next_timer_at == (START + timedelta(days=2)).replace(tzinfo=None)


def test_reminder_then_escalation_each_sent_once_and_verification_stays_open(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False):
        case_id = case_waiting_for_verification(api)

    with time_machine.travel(START + timedelta(days=1, hours=23), tick=False):
        assert fire(app) == 0
    assert mails(app, "verification_reminder") == []

    with time_machine.travel(START + timedelta(days=2, minutes=1), tick=False):
        assert fire(app) == 1
        assert fire(app) == 0
    reminders = mails(app, "verification_reminder")
    assert [(m.recipient, m.instance_id) for m in reminders] == [("verifikator@pekalongankota.go.id", case_id)]
    assert f"#{case_id}" in reminders[0].subject
    assert mails(app, "verification_escalation") == []
    assert only_task(api("verifikator"), case_id, "verification")["status"] == "open"

    with time_machine.travel(START + timedelta(days=3, minutes=1), tick=False):
        assert fire(app) == 1
        assert fire(app) == 0
    escalations = mails(app, "verification_escalation")
    assert [(m.recipient, m.instance_id) for m in escalations] == [("diskominfo@pekalongankota.go.id", case_id)]
    assert len(mails(app, "verification_reminder")) == 1

    with time_machine.travel(START + timedelta(days=3, hours=2), tick=False):
        assert verify(api, case_id, APPROVE).status_code == 200
        assert only_task(api("pemohon"), case_id, "activation")["status"] == "open"
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.next_timer_at is None


def test_verification_decided_in_time_cancels_both_timers(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False):
        case_id = case_waiting_for_verification(api)
        assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN Kota Pekalongan."}).status_code == 200
    with time_machine.travel(START + timedelta(days=4), tick=False):
        assert fire(app) == 0
    assert mails(app, "verification_reminder") == mails(app, "verification_escalation") == []
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.outcome == "end_rejected"
