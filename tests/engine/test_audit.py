"""The hash-chained event log: a real case verifies, and every kind of tampering is reported."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from flask import Flask
from sqlalchemy import delete, update

from engine.cli import audit_verify
from engine.models import AuditEvent, db
from engine.services import audit
from tests.sops.test_issuance_ams import recommend, start_and_register


def run_case(api: Any) -> int:
    """Run the issuance case up to verification: a stream with several events."""
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    return case_id


def case_events(case_id: int) -> list[AuditEvent]:
    return audit.events_of_case(case_id)


def middle_event(case_id: int) -> AuditEvent:
    events = case_events(case_id)
    assert len(events) >= 3, [e.kind for e in events]
    return events[len(events) // 2]


def tamper(app: Flask, case_id: int, change: Callable[[AuditEvent], Any]) -> tuple[str, int]:
    """Change the stored log behind the app's back; return the stream and seq of the event changed."""
    with app.app_context():
        event = middle_event(case_id)
        stream, seq = event.stream, event.seq
        db.session.execute(change(event))
        db.session.commit()
    return stream, seq


def problems(app: Flask) -> list[str]:
    with app.app_context():
        db.session.expire_all()
        return audit.verify()


def test_log_of_a_real_case_verifies(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    with app.app_context():
        events = case_events(case_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].prev_hash == audit.GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
        assert audit.verify() == []
        assert audit.verify(audit.case_stream(case_id)) == []
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 0 and "Log peristiwa utuh." in result.output


def test_edited_payload_is_reported(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream, seq = tamper(app, case_id, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(payload_json='{"edited": true}'))
    assert problems(app) == [f"{stream} #{seq}: isi peristiwa telah diubah"]


@pytest.mark.parametrize("column", ["actor", "kind", "task_name"])
def test_edited_header_field_is_reported(app: Flask, api: Any, column: str) -> None:
    case_id = run_case(api)
    stream, seq = tamper(app, case_id, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values({column: "mallory"}))
    assert problems(app) == [f"{stream} #{seq}: isi peristiwa telah diubah"]


def test_deleted_event_is_reported(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream, seq = tamper(app, case_id, lambda e: delete(AuditEvent).where(AuditEvent.id == e.id))
    found = problems(app)
    assert f"{stream}: peristiwa #{seq} hilang (ditemukan #{seq + 1})" in found
    assert f"{stream} #{seq + 1}: rantai hash terputus" in found


def test_changed_prev_hash_is_reported(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream, seq = tamper(app, case_id, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(prev_hash="f" * 64))
    found = problems(app)
    assert f"{stream} #{seq}: rantai hash terputus" in found
    assert f"{stream} #{seq}: isi peristiwa telah diubah" in found


def test_cli_verify_exits_1_and_lists_the_problem(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream, seq = tamper(app, case_id, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(payload_json="{}"))
    result = app.test_cli_runner().invoke(audit_verify)
    assert result.exit_code == 1
    assert f"{stream} #{seq}: isi peristiwa telah diubah" in result.stderr


def test_tampering_one_case_does_not_implicate_another(app: Flask, api: Any) -> None:
    first, second = run_case(api), run_case(api)
    tamper(app, first, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(payload_json="{}"))
    with app.app_context():
        assert audit.verify(audit.case_stream(second)) == []
        assert audit.verify(audit.case_stream(first)) != []



def test_deleted_last_event_is_reported(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    with app.app_context():
        last = case_events(case_id)[-1]
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == last.id))
        db.session.commit()
    assert problems(app) != []
