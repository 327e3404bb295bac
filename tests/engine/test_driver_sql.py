"""Statements run on the driver's cursor: the same rows SQLAlchemy would write (bind processors and Python
defaults applied), in the session's transaction, seen by statement listeners, errors wrapped as SQLAlchemy's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError

from engine.models import HumanTask, ProcessInstance, db
from engine.services import driver_sql
from tests.sops.test_issuance_ams import start_and_register
from tests.web.test_query_counts import counted

_INSERT_TASK = insert(HumanTask.__table__).inline()
_TABLE = ProcessInstance.__table__
_SET_STEPS = (
    _TABLE.update()
    .where(_TABLE.c.id == bindparam("pk"))
    .values(current_steps=bindparam("v_steps"), next_timer_at=bindparam("v_timer"))
)


def test_rows_are_inserted_with_the_columns_python_defaults_and_typed_values(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    due = datetime(2027, 1, 2, 3, 4, 5)
    with app.app_context():
        rows = [
            {
                "instance_id": case_id,
                "task_uuid": f"uji-{n}",
                "task_name": "uji",
                "form_key": "uji",
                "label": "Uji",
                "lane": "Verifikator",
                "role": "Verifikator",
                "due_at": due,
            }
            for n in range(3)
        ]
        driver_sql.execute_many(db.session, _INSERT_TASK, rows)
        # Same transaction: visible before commit, to the ORM as well.
        found = (
            db.session.execute(select(HumanTask).where(HumanTask.task_uuid.like("uji-%")).order_by(HumanTask.task_uuid))
            .scalars()
            .all()
        )
        assert [t.task_uuid for t in found] == ["uji-0", "uji-1", "uji-2"]
        assert all(t.due_at == due for t in found)  # SQLite's DATETIME bind processor applied
        assert all(t.status == "open" and t.created_at is not None for t in found)  # the model's defaults
        # Stored exactly as SQLAlchemy stores it (SQLite keeps datetimes as text in the dialect's own format).
        db.session.execute(insert(HumanTask.__table__), {**rows[0], "task_uuid": "uji-sa"})
        stored = db.session.execute(
            text("SELECT task_uuid, due_at FROM human_tasks WHERE task_uuid IN ('uji-0', 'uji-sa') ORDER BY task_uuid")
        ).all()
        assert stored[0][1] == stored[1][1]
        db.session.rollback()
        gone = db.session.execute(select(HumanTask).where(HumanTask.task_uuid.like("uji-%"))).scalars().all()
        assert gone == []  # it was the session's transaction


def test_an_update_reports_its_rowcount_and_every_statement_reaches_the_listeners(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        with counted(app) as seen:
            timer = datetime(2027, 5, 6, 7, 8, 9)
            changed = driver_sql.execute(db.session, _SET_STEPS, {"pk": case_id, "v_steps": "Uji", "v_timer": timer})
            assert changed == 1
            missing = driver_sql.execute(db.session, _SET_STEPS, {"pk": -1, "v_steps": "Uji", "v_timer": timer})
            assert missing == 0
            driver_sql.execute_many(
                db.session,
                _INSERT_TASK,
                [
                    {
                        "instance_id": case_id,
                        "task_uuid": "uji-x",
                        "task_name": "uji",
                        "form_key": "uji",
                        "label": "Uji",
                        "lane": "Verifikator",
                        "role": "Verifikator",
                    }
                ],
            )
        assert [s.split()[0] for s in seen] == ["UPDATE", "UPDATE", "INSERT"]
        stored = db.session.execute(
            text("SELECT current_steps, next_timer_at FROM process_instances WHERE id = :id"), {"id": case_id}
        ).one()
        assert stored[0] == "Uji"
        assert str(stored[1]).startswith("2027-05-06 07:08:09")
        db.session.rollback()


def test_a_driver_error_is_raised_as_sqlalchemys(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        task_uuid = (
            db.session.execute(select(HumanTask.task_uuid).where(HumanTask.instance_id == case_id)).scalars().first()
        )
        with pytest.raises(IntegrityError):  # task_uuid is unique
            driver_sql.execute_many(db.session, _INSERT_TASK, [_task_row(case_id, task_uuid)])
        db.session.rollback()


def test_an_expanding_parameter_is_refused_at_compile_time(app: Flask) -> None:
    statement = select(HumanTask.id).where(HumanTask.id.in_(bindparam("ids", expanding=True)))
    with app.app_context(), pytest.raises(ValueError, match="expanding"):
        driver_sql.execute(db.session, statement, {"ids": [1, 2]})


def test_values_the_statement_binds_itself_are_sent_with_the_callers(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    statement = select(HumanTask.task_name).where(
        HumanTask.instance_id == bindparam("case_id"), HumanTask.status == "open"
    )
    with app.app_context():
        found = driver_sql.rows(db.session, statement, {"case_id": case_id})
        assert [row[0] for row in found] == ["recommendation"]
        db.session.rollback()


def test_a_batch_sends_its_writes_together_and_checks_their_row_counts_at_its_end(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    timer = datetime(2027, 5, 6, 7, 8, 9)
    with app.app_context():
        refused: list[int] = []

        def stale(rowcount: int) -> Exception:
            refused.append(rowcount)
            return LookupError(f"{rowcount} rows")

        with counted(app) as seen, driver_sql.batch(db.session):
            driver_sql.expect(db.session, _SET_STEPS, {"pk": case_id, "v_steps": "Satu", "v_timer": timer}, 1, stale)
            driver_sql.execute_many(db.session, _INSERT_TASK, [_task_row(case_id, "uji-batch")])
            assert refused == []
            driver = db.session.connection().connection.driver_connection
            if db.session.get_bind().dialect.name == "postgresql":
                assert driver.pgconn.pipeline_status != 0  # sent in psycopg's pipeline mode
        assert [s.split()[0] for s in seen] == ["UPDATE", "INSERT"]
        assert (
            db.session.execute(select(ProcessInstance.current_steps).where(ProcessInstance.id == case_id)).scalar()
            == "Satu"
        )
        # A write that changes no row is refused when the batch ends, with what it changed.
        with pytest.raises(LookupError, match="0 rows"), driver_sql.batch(db.session):
            driver_sql.expect(db.session, _SET_STEPS, {"pk": -1, "v_steps": "Dua", "v_timer": timer}, 1, stale)
        assert refused == [0]
        # Outside a batch the same check is made at once.
        with pytest.raises(LookupError, match="0 rows"):
            driver_sql.expect(db.session, _SET_STEPS, {"pk": -1, "v_steps": "Dua", "v_timer": timer}, 1, stale)
        db.session.rollback()


def test_a_server_error_in_a_batch_is_raised_as_sqlalchemys_and_reads_are_refused_inside(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        with pytest.raises(IntegrityError), driver_sql.batch(db.session):
            # The second row repeats the first's unique task_uuid; on PostgreSQL the error comes at the batch's end.
            driver_sql.execute_many(db.session, _INSERT_TASK, [_task_row(case_id, "uji-dup")])
            driver_sql.execute_many(db.session, _INSERT_TASK, [_task_row(case_id, "uji-dup")])
        db.session.rollback()
        with pytest.raises(RuntimeError, match="inside a batch"), driver_sql.batch(db.session):
            driver_sql.rows(db.session, select(HumanTask.id).where(HumanTask.id == bindparam("pk")), {"pk": 1})
        db.session.rollback()
        # The session's connection works as before after either.
        assert driver_sql.rows(
            db.session, select(ProcessInstance.id).where(ProcessInstance.id == bindparam("pk")), {"pk": case_id}
        ) == [(case_id,)]
        db.session.rollback()


def _task_row(case_id: int, task_uuid: str) -> dict[str, Any]:
    return {
        "instance_id": case_id,
        "task_uuid": task_uuid,
        "task_name": "uji",
        "form_key": "uji",
        "label": "Uji",
        "lane": "Verifikator",
        "role": "Verifikator",
    }


def test_a_batched_read_hands_its_rows_over_when_the_batch_ends_in_the_order_sent(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    by_id = select(ProcessInstance.id, ProcessInstance.status).where(ProcessInstance.id == bindparam("pk"))
    with app.app_context():
        handed: list[Any] = []
        with driver_sql.batch(db.session):
            first = driver_sql.later(db.session, by_id, {"pk": case_id}, then=lambda rows: handed.append(rows))
            driver_sql.expect(
                db.session, _SET_STEPS, {"pk": case_id, "v_steps": "Tiga", "v_timer": None}, 1, LookupError
            )
            second = driver_sql.later(db.session, by_id, {"pk": -1}, then=lambda rows: handed.append(rows))
            with pytest.raises(RuntimeError, match="before its batch ended"):
                first.rows()
            assert handed == []
        assert first.rows() == [(case_id, "running")]
        assert second.rows() == []
        assert handed == [[(case_id, "running")], []]
        # Outside a batch a read runs at once.
        assert driver_sql.later(db.session, by_id, {"pk": case_id}).rows() == [(case_id, "running")]
        db.session.rollback()
