"""A case step's cost: audit appends lock a head once per transaction, definitions are parsed once,
a finished case's state is stored small; and none of it changes what the log proves or the case shows."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy import inspect as sa_inspect

from engine import runtime
from engine.models import AuditEvent, HumanTask, ProcessInstance, User, db
from engine.services import accounts, audit, audit_verify, cases, transactions
from tests.sops.builders import APPROVE, RECOMMEND
from tests.sops.test_issuance_ams import approve_and_deliver, case_of, start_and_register
from tests.web.test_query_counts import counted


def test_appends_in_one_transaction_lock_the_head_once_and_still_verify(app: Flask) -> None:
    with app.app_context():
        seen: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement)

        audit.append("bench:one", "stream_test", "tester", {"n": 0})  # opens the stream
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            for n in range(1, 5):
                audit.append("bench:one", "step_completed", "tester", {"n": n})
            db.session.commit()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        # The head is read (locked) once for the four events, not once each; it is written once at commit
        # (on SQLite also once before the one max(gseq) read, to take the writer lock while numbering: this
        # transaction did not begin with begin_write's BEGIN IMMEDIATE).
        head_reads = [s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH")) and "audit_heads" in s]
        assert len(head_reads) == 1, head_reads
        head_writes = [s for s in seen if s.lstrip().upper().startswith("UPDATE") and "audit_heads" in s]
        assert len(head_writes) == (2 if db.engine.dialect.name == "sqlite" else 1), head_writes
        numbering = [s for s in seen if "max(audit_events.gseq)" in s or "nextval" in s]
        # Numbered with one statement: one max() on SQLite; on PostgreSQL one block of sequence numbers, drawn by
        # the statement that locks the head.
        assert len(numbering) == 1, numbering
        if db.engine.dialect.name == "postgresql":
            assert numbering == head_reads
        events = list(
            db.session.execute(select(AuditEvent).where(AuditEvent.stream == "bench:one").order_by(AuditEvent.seq))
        )
        rows = [e for (e,) in events]
        assert [e.seq for e in rows] == [1, 2, 3, 4, 5]
        assert all(a.gseq < b.gseq for a, b in pairwise(rows))
        assert all(b.prev_hash == a.hash for a, b in pairwise(rows))
        # A second transaction re-locks the head (nothing is carried over a commit) and continues the chain.
        audit.append("bench:one", "step_completed", "tester", {"n": 5})
        db.session.commit()
        assert audit_verify.verify() == []


def test_a_rolled_back_append_leaves_no_trace_and_the_next_one_continues_the_chain(app: Flask) -> None:
    with app.app_context():
        audit.append("bench:two", "step_completed", "tester", {"n": 0})
        db.session.commit()
        audit.append("bench:two", "step_completed", "tester", {"n": 1})
        db.session.rollback()
        audit.append("bench:two", "step_completed", "tester", {"n": 2})
        db.session.commit()
        rows = list(
            db.session.execute(select(AuditEvent).where(AuditEvent.stream == "bench:two").order_by(AuditEvent.seq))
            .scalars()
            .all()
        )
        assert [(e.seq, e.payload_json) for e in rows] == [(1, '{"n":0}'), (2, '{"n":2}')]
        assert audit_verify.verify() == []


def test_a_finished_case_is_stored_compressed_and_still_shows_its_path_data_and_outcome(api: Any, app: Flask) -> None:
    pemohon, case_id = start_and_register(api)
    with app.app_context():
        running = db.session.get(ProcessInstance, case_id)
        assert running is not None and running.state_json.startswith("{")
    assert approve_and_deliver(api, pemohon, case_id).status_code == 200
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.status == "completed"
        stored = case.state_json
        assert not stored.startswith("{")
        state = runtime.state_dict(stored)
        # Finished call activities keep their path but not their copy of the case data.
        assert state["subprocesses"]
        assert all(sub["data"] == {} for sub in state["subprocesses"].values())
        assert len(stored) < 12_000
        workflow = runtime.load(case.deployment.spec_json, stored, runtime.SertelScriptEngine({}))
        assert runtime.is_completed(workflow)
        assert runtime.end_event(workflow) == "end_delivered"
        assert "verification" in runtime.completed_path(workflow)
    shown = case_of(api("verifikator"), case_id)
    assert shown["case"]["outcome"] == "end_delivered"
    assert shown["data"]["registration_form"]["nik"] == "3375 •••• •••• 0001"  # masked outside verification
    assert case_of(api("pemohon"), case_id)["data"]["registration_form"]["nik"] == "3375011507900001"


def load_workflow(case_id: int) -> Any:
    """The case's workflow as a step loads it: from its deployment's definition and its stored state."""
    case = db.session.get(ProcessInstance, case_id)
    assert case is not None
    return runtime.load(case.deployment.spec_json, case.state_json, runtime.SertelScriptEngine({}))


def test_a_definition_is_deserialised_once_and_shared_by_the_cases_loaded_from_it(api: Any, app: Flask) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        first = load_workflow(case_id)
        second = load_workflow(case_id)
        assert first.spec is second.spec
        assert first is not second and first.get_tasks() != second.get_tasks()
        assert [t.task_spec.name for t in first.get_tasks()] == [t.task_spec.name for t in second.get_tasks()]


def recommend_recording_statements(case_id: int, expire_actor: bool = False) -> tuple[int, list[str]]:
    """Complete the case's open task (the recommendation) as the atasan, read as a request's login reads it (or
    expired since, with `expire_actor`), in the app context; return the task's id and every SQL statement the
    step ran, as sent."""
    task = db.session.execute(
        select(HumanTask).where(HumanTask.instance_id == case_id, HumanTask.status == "open")
    ).scalar_one()
    atasan_id = db.session.execute(select(User.id).where(User.username == "atasan")).scalar_one()
    atasan = accounts.acting_user(atasan_id)
    assert atasan is not None
    if expire_actor:
        db.session.expire(atasan)
    task_id = task.id
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        cases.complete_task(task_id, atasan, dict(RECOMMEND))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return task_id, seen


@pytest.mark.parametrize("expire_actor", [False, True], ids=["actor-as-logged-in", "actor-expired"])
def test_a_step_reads_each_account_once(app: Flask, api: Any, expire_actor: bool) -> None:
    """The acting user is not read again for the handlers, nor the applicant by each check and service task."""
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        bound: list[Any] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            if "FROM users" in statement and "user_roles" in statement:  # the step's, not the helper's own reads
                bound.append(parameters)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            _task_id, seen = recommend_recording_statements(case_id, expire_actor)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        reads = [s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        account_reads = [s for s in reads if "FROM users" in s or "JOIN users" in s]
        # One statement reads the applicant with roles, person record and agencies; the acting user is the
        # login's read (begin_write keeps it), or, when it was expired since, is read by that same statement.
        assert "FROM process_instances" in account_reads[0]  # the applicant, found through the task's case
        assert len(account_reads) == 1 and len(bound) == 1, account_reads
        case = db.session.get(ProcessInstance, case_id)
        atasan_id = db.session.execute(select(User.id).where(User.username == "atasan")).scalar_one()
        # The applicant found through the task's case; the acting account by its id, or no second account.
        values = list(bound[0].values()) if isinstance(bound[0], dict) else list(bound[0])
        assert values.count(_task_id) == 1 and (atasan_id if expire_actor else None) in values, bound
        assert not [s for s in seen if "FROM roles" in s or "FROM agencies" in s or "FROM persons" in s], seen
        assert case.status == "running"


def test_a_write_keeps_the_acting_account_as_read_and_expires_the_rest(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        atasan_id = db.session.execute(select(User.id).where(User.username == "atasan")).scalar_one()
        atasan = accounts.acting_user(atasan_id)
        assert atasan is not None and atasan.person is not None
        case = db.session.get(ProcessInstance, case_id)
        applicant = db.session.get(User, case.applicant_id)
        transactions.begin_write(keep=atasan)
        kept = [atasan, atasan.person, atasan.person.agency, atasan.agency, *atasan.roles]
        assert all(not sa_inspect(item).expired_attributes for item in kept if item is not None)
        assert sa_inspect(case).expired_attributes and sa_inspect(applicant).expired_attributes
        db.session.rollback()


def test_after_a_step_the_case_and_the_acting_account_are_used_as_written_without_reading_them_again(
    app: Flask, api: Any
) -> None:
    """The answer to a click reads the case and the account after the commit: they hold the committed values."""
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        task = db.session.execute(
            select(HumanTask).where(HumanTask.instance_id == case_id, HumanTask.status == "open")
        ).scalar_one()
        atasan = accounts.acting_user(db.session.execute(select(User.id).where(User.username == "atasan")).scalar_one())
        assert atasan is not None
        case = cases.complete_task(task.id, atasan, dict(RECOMMEND))
        with counted(app) as seen:
            used = (case.id, case.status, case.state_json, case.row_version, case.current_steps, atasan.id)
            roles = atasan.role_names
        assert seen == [], seen
        stored = db.session.execute(
            select(
                ProcessInstance.id,
                ProcessInstance.status,
                ProcessInstance.state_json,
                ProcessInstance.row_version,
                ProcessInstance.current_steps,
            ).where(ProcessInstance.id == case_id)
        ).one()
        assert used[:5] == tuple(stored) and used[5] == atasan.id and "Atasan" in roles
        assert db.session().expire_on_commit  # only the step's commit keeps its objects


# Statements of one recommendation step (SOP 088.9) with no-op handlers, pinned so that they cannot grow
# unnoticed. SQLite: BEGIN IMMEDIATE; the case with its deployment (no XML, no definition JSON) and the task,
# locked, in one; the case's open rows and those the user completed (duty check and inbox projection); the
# applicant's account with roles, person record and agencies (the acting one is the login's read); the audit head
# with max(gseq) and max(id) in one; the head UPDATE; the case UPDATE; the task UPDATE; the five audit events in
# one executemany; the new inbox row's INSERT. PostgreSQL: no BEGIN IMMEDIATE, and no max read: the statement that
# locks the audit head also draws a block of sequence numbers; the rows, the account and the head are read in one
# round trip, and the writes are sent together (driver_sql.batch).
STEP_STATEMENTS = {"sqlite": 10, "postgresql": 9}


def test_a_step_runs_a_fixed_number_of_statements_and_locks_the_case_then_the_task(
    app: Flask, api: Any, monkeypatch: Any
) -> None:
    import dataclasses

    from engine import registry

    _pemohon, case_id = start_and_register(api)
    for key, op in list(registry._operators.items()):
        monkeypatch.setitem(registry._operators, key, dataclasses.replace(op, func=lambda _context: {}))
    with app.app_context():
        task_id, sent = recommend_recording_statements(case_id)
        seen = [" ".join(statement.split()) for statement in sent]
        dialect = db.engine.dialect.name
        assert len(seen) == STEP_STATEMENTS[dialect], "\n".join(seen)
        reads = [s for s in seen if s.startswith(("SELECT", "WITH"))]
        # The case first, then the task (one lock order everywhere), both locked on PostgreSQL, in one statement:
        # the case in a MATERIALIZED CTE, the task by the outer query, which joins the deployment.
        lock = reads[0]
        assert lock.startswith("WITH locked_case AS MATERIALIZED (SELECT process_instances."), lock
        assert "JOIN human_tasks ON human_tasks.id =" in lock and "JOIN process_deployments" in lock
        assert "process_deployments.xml" not in lock and "process_deployments_1.xml" not in lock
        assert "spec_json" not in lock  # the definition is known by its deployment's identity (advance.load_case)
        if dialect == "postgresql":
            case_part, outer = lock.split(" SELECT locked_case.", 1)
            assert case_part.endswith("FOR UPDATE)"), case_part
            assert outer.endswith("FOR UPDATE OF human_tasks"), outer
        else:
            assert seen[0] == "BEGIN IMMEDIATE"
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.status == "running"
        rows = db.session.execute(select(HumanTask.id, HumanTask.status).where(HumanTask.instance_id == case_id))
        statuses = {row_id: status for row_id, status in rows}
        assert statuses[task_id] == "completed"
        assert "open" in set(statuses.values())  # the next task was projected into the inbox
        assert audit_verify.verify() == []


def test_the_stored_state_is_spiffworkflows_own_serialisation_less_the_specs(api: Any, app: Flask) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        workflow = load_workflow(case_id)
        full = runtime._serializer.to_dict(workflow)
        full.pop("spec")
        full.pop("subprocess_specs")
        assert runtime._instance_to_dict(workflow) == full
        assert list(runtime._instance_to_dict(workflow)) == list(full)


def test_sqlite_reads_where_the_audit_numbering_stands_from_indexes_not_a_scan(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            return
        query = audit.sqlite_numbering_query().compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {query}"))]
        assert not [step for step in plan if step.startswith("SCAN audit_events")], plan


def _step(app: Flask, case_id: int, task_name: str, username: str, body: dict[str, Any]) -> list[str]:
    """Complete the case's open task `task_name` as `username`; the statements the step ran."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.username == username)).scalar_one()
        task_id = db.session.execute(
            select(HumanTask.id).where(
                HumanTask.instance_id == case_id, HumanTask.task_name == task_name, HumanTask.status == "open"
            )
        ).scalar_one()
        with counted(app) as seen:
            cases.complete_task(task_id, user, dict(body))
        assert db.session.get(HumanTask, task_id).status == "completed"  # type: ignore[union-attr]
    return [" ".join(s.split()) for s in seen]


def _pipelined(app: Flask, case_id: int, task_name: str, username: str, body: dict[str, Any]) -> list[str]:
    """The statements of the step that psycopg sent in pipeline mode (sent together, results read later)."""
    sent: list[str] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.connection.driver_connection.pgconn.pipeline_status:
            sent.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        _step(app, case_id, task_name, username, body)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return sent


def _reads_spec_json(statements: list[str]) -> bool:
    return any(s.startswith(("SELECT", "WITH")) and "spec_json" in s for s in statements)


def test_the_definition_json_is_read_only_when_the_process_has_not_deserialised_it(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    runtime._DEFINITIONS.clear()  # as in a process that has not run this deployment yet
    cold = _step(app, case_id, "recommendation", "atasan", RECOMMEND)
    assert _reads_spec_json(cold)
    # Deserialised now: the next step's locking read defers the column and nothing else reads it.
    warm = _step(app, case_id, "verification", "verifikator", APPROVE)
    assert not _reads_spec_json(warm)


def test_on_postgresql_the_step_sends_its_reads_under_the_lock_and_its_writes_together(app: Flask, api: Any) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("psycopg's pipeline mode: SQLite runs the same statements one by one")
    _pemohon, case_id = start_and_register(api)
    sent = _pipelined(app, case_id, "recommendation", "atasan", RECOMMEND)
    # The locks on the case and the task, the case's inbox rows, the applicant's account and the lock on the case's
    # audit head, in one round trip (the acting account is the one read before the step, kept by begin_write).
    assert sent[0].startswith("WITH locked_case AS MATERIALIZED") and sent[0].endswith("FOR UPDATE OF human_tasks")
    assert "FROM human_tasks WHERE human_tasks.instance_id" in sent[1]
    assert sent[2].startswith("SELECT users.id") and "LEFT OUTER JOIN persons" in sent[2]
    assert sent[3].startswith("WITH locked_head")
    # Then the step's writes together: the case, its audit head, the events and the new inbox row (the completed
    # task's row too, unless a handler's query flushed it earlier, as the real handlers here do).
    writes = {" ".join(s.split()[:3]) for s in sent[4:]}
    assert {
        "UPDATE process_instances SET",
        "UPDATE audit_heads SET",
        "INSERT INTO audit_events",
        "INSERT INTO human_tasks",
    } <= writes
