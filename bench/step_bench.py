"""Step benchmark: one case step, engine + persistence (handlers excluded), against bare SpiffWorkflow.

    .venv/bin/python bench/step_bench.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/bench_step]
                                         [--runs 3] [--steps 15] [--profile]

The step is SOP 088.9's recommendation by the agency head (`cases.complete_task`): lock the case and the
inbox row, load the workflow, validate the form, complete the user task, run the engine through the
recommendation PDF, the gateway, the automated checks and into the verification call activity (its SLA
timers), save the state, project the inbox, append the audit events and commit. Every service-task
handler is replaced by a no-op returning {} in this process, so what is measured is the engine and its
persistence, not PDF rendering or the PSrE. With `--handlers` the real handlers run (the step with its
handlers: recommendation PDF sealed by the embedded PSrE, the automated checks); `--background` adds the
production setting SERTEL_BACKGROUND_STEPS, which leaves the form PDF and its seal to after the step.

The floor runs interleaved with it, case by case, on the same diagram and the same stored state: bare
SpiffWorkflow (`from_dict` of the stored state and definition, set the submission, `task.run()`,
`do_engine_steps()` with the same no-op services, serialise the instance part) then one raw `UPDATE` of a
state column through the driver and a commit. The same-work floor does the floor's work plus the statements of
our step through the bare driver (on PostgreSQL its reads under the lock, BEGIN included, and then its writes each
sent together in psycopg's pipeline mode, as ours).
Each run reports the median of each, the ratios, and the SQL statements per step (counted with a SQLAlchemy
event listener); the summary gives the range over runs.

The database at --url is DESTROYED (its public schema, or the SQLite file, is recreated). Without --url a
temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import gc
import hashlib
import hmac
import json
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

from bench.datagen import bench_settings, ensure_database  # noqa: E402
from engine import registry, runtime, sandbox  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.models import HumanTask, ProcessInstance, User, db  # noqa: E402
from engine.services import accounts, cases, deploy, setup, timers  # noqa: E402
from engine.services.runtime_context import settings  # noqa: E402

SOP = "issuance_ams"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# Identity fields (name, NIK, NIP, agency, e-mail) are filled from the applicant's person record.
REGISTRATION = {"phone": "0812-3456-7890", "statement_true": True}
RECOMMEND = {
    "decision": "approve",
    "head_name": "Dr. Agus Prasetyo, M.Kom.",
    "head_nip": "197501102000031003",
    "head_position": "Kepala Dinas Komunikasi dan Informatika",
}


def no_op_handlers() -> None:
    """Replace every registered service-task handler (in this process) by one that returns {}."""
    for key, op in list(registry._operators.items()):
        registry._operators[key] = dataclasses.replace(op, func=lambda _context: {})


def build(url: str, instance: Path, background: bool = False) -> Any:
    """A fresh schema with demo accounts and the deployed processes; returns the app.

    `background`: the production setting SERTEL_BACKGROUND_STEPS (form PDFs and seals after the request); what
    a step leaves to the background is run untimed before the next one, by the scheduler's own function."""
    ensure_database(url)
    app = create_app({**bench_settings(url, instance), "BACKGROUND_STEPS": background, "BACKGROUND_KICK": False})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        setup.create_schema()
        setup.initialise_psre()
        setup.load_demo()
        deploy.deploy_files(sorted(deploy.PROCESSES_DIR.glob("*.bpmn")), "bench")
    return app


def user(username: str) -> User:
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def open_task(case_id: int, name: str) -> int:
    return int(
        db.session.execute(
            select(HumanTask.id).where(
                HumanTask.instance_id == case_id, HumanTask.task_name == name, HumanTask.status == "open"
            )
        ).scalar_one()
    )


def applicant(number: int) -> User:
    """A bench applicant of the agency head's agency (one running 088.9 case per person is allowed)."""
    found = db.session.execute(select(User).where(User.username == f"bench{number}")).scalar_one_or_none()
    if found is not None:
        return found
    return accounts.create_user(
        f"bench{number}",
        setup.DEMO_PASSWORD,
        f"Pemohon Uji {number}",
        f"bench{number}@pekalongankota.go.id",
        ["Pemohon"],
        "diskominfo",
        nip=f"198501012010011{number:03d}",
        nik=f"337501010185{number:04d}",
        actor="bench",
        position="Pranata Komputer",
    )


NEXT = [0]


def case_at_recommendation() -> int:
    """A new 088.9 case whose registration is done: it waits for the agency head's recommendation."""
    NEXT[0] += 1
    pemohon = applicant(NEXT[0])
    case = cases.start_case(SOP, pemohon)
    task_id = open_task(case.id, "registration_form")
    uploads = {"ktp_scan": ("ktp.png", PNG), "asn_proof": ("sk-cpns.pdf", PDF)}
    cases.complete_task(task_id, pemohon, dict(REGISTRATION), uploads)
    drain()
    return case.id


def drain() -> None:
    """Run what steps left to the background (with background steps on), untimed, as the scheduler would."""
    while timers.fire_due_timers():
        pass


class FloorEngine(PythonScriptEngine):  # type: ignore[misc]
    """SpiffWorkflow's own script engine with the diagram helpers and no-op services."""

    def call_service(self, *_args: Any, **_kwargs: Any) -> str:
        return "{}"


def floor_step(raw: Any, definition: dict[str, Any], state_json: str, engine: Any, target_id: int) -> None:
    """Bare SpiffWorkflow: from_dict, complete the recommendation, run, serialise, one UPDATE, commit."""
    state = bare_run(definition, state_json, engine)
    cursor = raw.cursor()
    cursor.execute(f"UPDATE process_instances SET state_json = {PARAM[0]} WHERE id = {PARAM[0]}", (state, target_id))
    raw.commit()


def bare_run(definition: dict[str, Any], state_json: str, engine: Any) -> str:
    """The floors' engine part: from_dict, complete the recommendation, run, serialise the instance."""
    serializer = runtime._serializer
    dct = json.loads(state_json)
    dct.update(definition)
    workflow = serializer.from_dict(dct)
    workflow.script_engine = engine
    # With background steps on, stop before the same service tasks as ours does (runtime.load marks them).
    runtime._mark_background(workflow, BACKGROUND, True)
    task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
    task.data["recommendation"] = dict(RECOMMEND)
    task.run()
    workflow.do_engine_steps()
    out = serializer.to_dict(workflow)
    out.pop("spec", None)
    out.pop("subprocess_specs", None)
    return json.dumps(out)


def same_work_step(
    raw: Any, definition: dict[str, Any], state_json: str, engine: Any, target: dict[str, int], mac_key: bytes
) -> None:
    """The floor plus the rest of our step's work through the bare driver: the same reads and locks, the five
    chained audit events (HMAC over the same material), the head, case and task writes and the new inbox row.

    What is left between this and ours is our own code: the ORM, the checks, the form validation."""
    p = PARAM[0]
    lock = " FOR UPDATE" if p == "%s" else ""
    stream = f"case:{target['case']}"
    reads = [
        (f"SELECT * FROM process_instances WHERE id = {p}{lock}", (target["case"],)),
        (f"SELECT * FROM human_tasks WHERE id = {p}{lock}", (target["task"],)),
        (
            f"SELECT * FROM human_tasks WHERE instance_id = {p} AND (status = 'open' OR completed_by_id = {p})",
            (target["case"], target["actor"]),
        ),
        # The applicant's account (the acting one is the request's login's read, untimed for both).
        (
            "SELECT * FROM users LEFT JOIN persons ON persons.id = users.person_id"
            " LEFT JOIN agencies ON agencies.id = users.agency_id LEFT JOIN user_roles ON user_roles.user_id = users.id"
            f" LEFT JOIN roles ON roles.id = user_roles.role_id WHERE users.id = {p}",
            (target["applicant"],),
        ),
        (f"SELECT seq, hash FROM audit_heads WHERE stream = {p}{lock}", (stream,)),
    ]
    if p == "%s":
        reads.append(("SELECT nextval('audit_gseq') FROM generate_series(1, 8)", ()))
        # Our step sends its reads under the lock together, the transaction's BEGIN included: so does this floor.
        cursors = [raw.cursor() for _ in reads]
        with raw.driver_connection.pipeline():
            for cursor, (sql, args) in zip(cursors, reads, strict=True):
                cursor.execute(sql, args)
        found = [cursor.fetchall() for cursor in cursors]
        numbers = sorted(int(row[0]) for row in found[-1])
        seq, prev = found[-2][0]
    else:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        found = []
        for sql, args in reads:
            cursor.execute(sql, args)
            found.append(cursor.fetchall())
        seq, prev = found[-1][0]
        cursor.execute("SELECT coalesce(max(gseq), 0) + 1 FROM audit_events")
        first = int(cursor.fetchone()[0])
        numbers = list(range(first, first + 8))
    state = bare_run(definition, state_json, engine)
    cursor = raw.cursor()
    rows = []
    now = datetime.now(UTC).replace(tzinfo=None)
    for number in range(5):  # task_completed and the four engine steps
        seq += 1
        payload = json.dumps({"step": number, "submission": RECOMMEND}, sort_keys=True, separators=(",", ":"))
        material = json.dumps([stream, seq, numbers[number], now.isoformat(), "atasan", "step", None, payload, prev, 1])
        link = hmac.new(mac_key, material.encode("utf-8"), hashlib.sha256).hexdigest()
        rows.append((stream, seq, numbers[number], 1, target["case"], now, "atasan", "step", payload, prev, link))
        prev = link
    # Our step sends its writes together on PostgreSQL (driver_sql.batch): so does this floor.
    with raw.driver_connection.pipeline() if p == "%s" else contextlib.nullcontext():
        _same_work_writes(cursor, p, rows, seq, prev, stream, state, now, target)
    raw.commit()


def _same_work_writes(
    cursor: Any, p: str, rows: list[Any], seq: int, prev: str, stream: str, state: str, now: datetime, target: Any
) -> None:
    cursor.executemany(
        "INSERT INTO audit_events (stream, seq, gseq, key_id, instance_id, at, actor, kind, payload_json, prev_hash,"
        f" hash) VALUES ({', '.join([p] * 11)})",
        rows,
    )
    cursor.execute(f"UPDATE audit_heads SET seq = {p}, hash = {p} WHERE stream = {p}", (seq, prev, stream))
    cursor.execute(
        f"UPDATE process_instances SET state_json = {p}, current_steps = {p}, updated_at = {p} WHERE id = {p}",
        (state, "Verifikasi", now, target["case"]),
    )
    cursor.execute(
        f"UPDATE human_tasks SET status = {p}, completed_at = {p}, completed_by_id = {p} WHERE id = {p}",
        ("open", now, target["actor"], target["task"]),  # left open: the next step finds it again
    )
    cursor.execute(
        "INSERT INTO human_tasks (instance_id, task_uuid, task_name, form_key, label, lane, role, status, created_at)"
        f" VALUES ({', '.join([p] * 9)})",
        (target["case"], str(uuid.uuid4()), "verify", "verify", "Verifikasi", "Verifikator", "Verifikator", "x", now),
    )


PARAM = ["?"]
BACKGROUND: dict[str, list[str]] = {}


PROFILE_ORDER = ["cumulative"]


def run(app: Any, runs: int, steps: int, profile: bool, show_sql: bool = False) -> list[dict[str, float]]:
    results: list[dict[str, float]] = []
    with app.app_context():
        PARAM[0] = "%s" if db.engine.dialect.name == "postgresql" else "?"
        counter = {"n": 0}

        seen: list[str] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            counter["n"] += 1
            seen.append(" ".join(statement.split())[:150])

        deployment = deploy.latest(SOP)
        assert deployment is not None
        definition = json.loads(deployment.spec_json)
        sertel = definition.pop("sertel", None) or {}
        properties = sertel.get("properties") or {}
        # With background steps on, the floors leave the same service tasks to later, as ours does.
        BACKGROUND.clear()
        BACKGROUND.update((sertel.get("background") or {}) if settings().get("BACKGROUND_STEPS") else {})
        engine = FloorEngine(environment=TaskDataEnvironment(sandbox.helper_functions(settings(), properties)))
        raw = db.engine.raw_connection()
        spare = case_at_recommendation()  # the floors' write target
        atasan_id = user("atasan").id
        target = {
            "case": spare,
            "task": open_task(spare, "recommendation"),
            "actor": atasan_id,
            "applicant": db.session.get(ProcessInstance, spare).applicant_id,
        }
        mac_key = hashlib.sha256(b"step bench").digest()
        profiler = cProfile.Profile() if profile else None
        for number in range(runs + 1):  # run 0 warms caches and is not reported
            prepared = [case_at_recommendation() for _ in range(steps)]
            states = {
                cid: db.session.execute(
                    select(ProcessInstance.state_json).where(ProcessInstance.id == cid)
                ).scalar_one()
                for cid in prepared
            }
            tasks = {cid: open_task(cid, "recommendation") for cid in prepared}
            db.session.commit()
            db.session.expunge_all()
            # What the process holds by now (specs, mappers, caches) is left out of the collector's full passes,
            # as a server does after start-up: a full pass then costs about the same whichever side triggers it.
            gc.collect()
            gc.freeze()
            ours: list[float] = []
            floor: list[float] = []
            same: list[float] = []
            cpu: dict[str, list[float]] = {"ours": [], "floor": []}
            statements: list[int] = []
            for i, cid in enumerate(prepared):
                kinds = ("ours", "floor", "same")
                order = kinds[i % 3 :] + kinds[: i % 3]  # each goes first, second and third in turn
                for which in order:
                    if which == "floor":
                        start, start_cpu = time.perf_counter(), time.process_time()
                        floor_step(raw, definition, states[cid], engine, spare)
                        floor.append((time.perf_counter() - start) * 1000)
                        cpu["floor"].append((time.process_time() - start_cpu) * 1000)
                        continue
                    if which == "same":
                        start = time.perf_counter()
                        same_work_step(raw, definition, states[cid], engine, target, mac_key)
                        same.append((time.perf_counter() - start) * 1000)
                        continue
                    # Read as a request's login reads it (untimed, as the login is not the step).
                    atasan = accounts.acting_user(atasan_id)
                    counter["n"] = 0
                    seen.clear()
                    if profiler and number:
                        profiler.enable()
                    start, start_cpu = time.perf_counter(), time.process_time()
                    cases.complete_task(tasks[cid], atasan, dict(RECOMMEND))
                    ours.append((time.perf_counter() - start) * 1000)
                    cpu["ours"].append((time.process_time() - start_cpu) * 1000)
                    if profiler and number:
                        profiler.disable()
                    statements.append(counter["n"])
                    db.session.expunge_all()
            if number:
                row = {
                    "ours": statistics.median(ours),
                    "floor": statistics.median(floor),
                    "same": statistics.median(same),
                    "statements": statistics.median(statements),
                }
                row["ratio"] = row["ours"] / row["floor"]
                row["same_ratio"] = row["ours"] / row["same"]
                # This process's CPU time only (the database server's is not in it): the part of the ratio that
                # does not move with the server's and the disk's speed.
                row["cpu_ratio"] = statistics.median(cpu["ours"]) / statistics.median(cpu["floor"])
                results.append(row)
                print(
                    f"run {number}: ours {row['ours']:.2f} ms, floor {row['floor']:.2f} ms, "
                    f"ratio {row['ratio']:.2f}x, same-work floor {row['same']:.2f} ms, "
                    f"ratio {row['same_ratio']:.2f}x, client CPU ratio {row['cpu_ratio']:.2f}x, "
                    f"{row['statements']:.0f} statements/step",
                    flush=True,
                )
        raw.close()
        if show_sql:
            print("\n".join(seen))
        if profiler:
            pstats.Stats(profiler).sort_stats(PROFILE_ORDER[0]).print_stats(35)
    return results


def span(values: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="database (DESTROYED); default: a temporary SQLite file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=15, help="steps (cases) per run")
    parser.add_argument("--profile", action="store_true", help="cProfile our steps (not the warm-up run)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of the last step")
    parser.add_argument(
        "--handlers", action="store_true", help="keep the real handlers (PDF, seal, checks): the step with its handlers"
    )
    parser.add_argument(
        "--background", action="store_true", help="SERTEL_BACKGROUND_STEPS on: form PDFs and seals after the step"
    )
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="sertel-step-bench-"))
    url = args.url or f"sqlite:///{instance / 'bench.sqlite3'}"
    app = build(url, instance, background=args.background)
    if not args.handlers:
        no_op_handlers()
    results = run(app, args.runs, args.steps, args.profile, args.show_sql)
    print(
        f"\n{url.split('://')[0]}, {args.runs} runs x {args.steps} steps: "
        f"ours {span([r['ours'] for r in results])} ms, floor {span([r['floor'] for r in results])} ms, "
        f"ratio {span([r['ratio'] for r in results])}x; same-work floor {span([r['same'] for r in results])} ms, "
        f"ratio {span([r['same_ratio'] for r in results])}x; client CPU ratio "
        f"{span([r['cpu_ratio'] for r in results])}x; statements/step "
        f"{span([r['statements'] for r in results], '{:.0f}')}"
    )


if __name__ == "__main__":
    main()
