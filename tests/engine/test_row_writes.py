"""A step's rows written without the unit of work: the same rows the ORM would write, the version check kept,
the session clean afterwards, anything else still flushed by the ORM."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.orm.exc import StaleDataError

from engine.models import AuditEvent, HumanTask, ProcessInstance, db
from engine.models.base import utcnow
from engine.services import audit, row_writes
from tests.sops.test_issuance_ams import start_and_register


def test_changed_case_and_inbox_rows_are_written_and_the_session_is_clean(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        version = case.row_version
        row = db.session.execute(select(HumanTask).where(HumanTask.instance_id == case_id)).scalars().first()
        assert row is not None
        case.current_steps = "Langkah uji"
        case.check_errors = 3
        row.label = "Label uji"
        assert db.session.dirty
        row_writes.write_changes(db.session)
        assert not db.session.dirty  # written: nothing left for a flush or the commit to write again
        assert case.row_version == version + 1
        db.session.commit()
        stored = db.session.execute(
            text("SELECT current_steps, check_errors, row_version FROM process_instances WHERE id = :id"),
            {"id": case_id},
        ).one()
        assert tuple(stored) == ("Langkah uji", 3, version + 1)
        label = db.session.execute(text("SELECT label FROM human_tasks WHERE id = :id"), {"id": row.id}).scalar()
        assert label == "Label uji"


def test_a_case_another_transaction_changed_is_refused_as_the_orm_would(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        # Another writer moved the row's version after this session read it.
        db.session.execute(
            update(ProcessInstance.__table__)
            .where(ProcessInstance.__table__.c.id == case_id)
            .values(row_version=ProcessInstance.__table__.c.row_version + 1)
        )
        case.current_steps = "Ditimpa"
        with pytest.raises(StaleDataError):
            row_writes.write_changes(db.session)
        db.session.rollback()


def test_other_changes_and_new_rows_are_left_to_the_orm_and_audit_events_follow(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        case.current_steps = "Langkah uji"
        audit.append(audit.case_stream(case_id), "note_test", "tester", {"n": 1}, case_id)
        row_writes.write_changes(db.session)
        audit.write_events(db.session)
        # Written before the commit: a query in the same transaction sees the event.
        kinds = db.session.execute(select(AuditEvent.kind).where(AuditEvent.instance_id == case_id)).scalars().all()
        assert "note_test" in kinds
        row_writes.insert_rows(
            db.session,
            HumanTask,
            [
                {
                    "instance_id": case_id,
                    "task_uuid": "00000000-0000-4000-8000-000000000001",
                    "task_name": "uji",
                    "form_key": "issuance_ams.uji",
                    "label": "Uji",
                    "lane": "Verifikator",
                    "role": "Verifikator",
                    "agency_id": None,
                    "owner_user_id": None,
                    "due_at": None,
                    "priority": None,
                }
            ],
        )
        db.session.commit()
        inserted = db.session.execute(
            select(HumanTask).where(HumanTask.task_uuid == "00000000-0000-4000-8000-000000000001")
        ).scalar_one()
        # The model's defaults apply as they do for an ORM insert.
        assert inserted.status == "open"
        assert inserted.created_at is not None and inserted.created_at <= utcnow()


def test_case_rows_are_plain_rows_and_a_cancelled_one_is_written_by_id(app: Flask, api: Any) -> None:
    from engine.models import User
    from engine.services import advance, transactions

    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        atasan = db.session.execute(select(User).where(User.username == "atasan")).scalar_one()
        task_id = db.session.execute(
            select(HumanTask.id).where(HumanTask.instance_id == case_id, HumanTask.status == "open")
        ).scalar_one()
        row_writes.insert_rows(
            db.session,
            HumanTask,
            [
                {
                    "instance_id": case_id,
                    "task_uuid": "baris-lain",
                    "task_name": "lain",
                    "form_key": "lain",
                    "label": "Lain",
                    "lane": "Verifikator",
                    "role": "Verifikator",
                }
            ],
        )
        db.session.commit()
        transactions.begin_write()
        case, task, rows = advance.lock_task(task_id, atasan)
        assert sorted(r.task_uuid for r in rows.open_rows()) == sorted([task.task_uuid, "baris-lain"])
        assert all(isinstance(r, advance.RowState) for r in rows.open_rows())
        task.status = "completed"  # the step's own task, an ORM object: its status in the session counts
        assert [r.task_uuid for r in rows.open_rows()] == ["baris-lain"]
        advance._cancel(rows.open_rows())
        status = db.session.execute(text("SELECT status FROM human_tasks WHERE task_uuid = 'baris-lain'")).scalar()
        assert status == "cancelled"  # written at once, in this transaction
        db.session.rollback()
        status = db.session.execute(text("SELECT status FROM human_tasks WHERE task_uuid = 'baris-lain'")).scalar()
        assert status == "open"
