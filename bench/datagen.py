"""Generate a benchmark data set in bulk: N cases in mixed SOPs and states, people, agencies, tasks, documents.

    .venv/bin/python bench/datagen.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench --cases 100000

DESTRUCTIVE: drops and recreates the `public` schema of the database it is pointed at (or the SQLite file).
The schema, roles, demo accounts and deployed processes come from the app (`sertel demo` without a CA); the
bulk rows are written straight into the tables (PostgreSQL COPY, SQLite executemany), not through the
engine, so the data set takes minutes rather than days. What is and is not realistic:

- Each case's state is a real SpiffWorkflow state of its SOP's deployment (so the case page can load it):
  that of a case started through the engine where that works without input, else of a fresh workflow
  (the log says which). Running and completed cases share it, so states are smaller (5-7 KB) than
  those of cases that ran to the end (~19 KB).
- Audit events have placeholder hashes: `sertel audit verify` fails on this data set, by design.
- Every case has one task row per step it went through (completed) plus, when running, one open task.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from engine import runtime  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.models import Agency, ProcessDeployment, User, db  # noqa: E402
from engine.services import cases, deploy, setup  # noqa: E402

# Share of cases per SOP, and of running cases by the role of their open task.
SOP_WEIGHTS = {
    "issuance_ams": 30,
    "issuance_esign": 30,
    "renewal_rekey": 15,
    "revocation": 10,
    "data_change": 8,
    "passphrase_lock": 7,
}
RUNNING_SHARE = 0.15
OPEN_ROLE_WEIGHTS = {"Pemohon": 55, "Atasan": 35, "Verifikator": 8, "Admin": 2}
STEPS = ("Pemohon", "Atasan", "Verifikator", "Pemohon")
LABELS = {
    "Pemohon": ("isi_formulir", "Isi formulir permohonan"),
    "Atasan": ("rekomendasi", "Rekomendasi atasan"),
    "Verifikator": ("verifikasi", "Verifikasi berkas"),
    "Admin": ("arsip", "Pemeriksaan arsip"),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_settings(url: str, instance: Path) -> dict[str, Any]:
    """App settings of the benchmark: cheap password hashing (the data set's, not production's)."""
    return {
        "ENV": "testing",
        "INSTANCE_DIR": str(instance),
        "DATABASE_URL": url,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "ESIGN_SCRYPT_N": 1024,
    }


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` when it does not exist yet."""
    if not url.startswith("postgresql"):
        return
    import psycopg

    server, _, name = url.replace("postgresql+psycopg://", "postgresql://").rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def build_base(url: str, instance: Path) -> Any:
    """A fresh schema with roles, demo accounts and deployed processes; returns the app."""
    ensure_database(url)
    app = create_app(bench_settings(url, instance))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
        setup.create_schema()
        setup.initialise_psre()
        setup.load_demo()
        deploy.deploy_files(sorted(deploy.PROCESSES_DIR.glob("*.bpmn")), "bench")
    return app


def template_states(app: Any) -> dict[str, tuple[int, str]]:
    """SOP key -> (deployment id, a real state of a case of it)."""
    found: dict[str, tuple[int, str]] = {}
    with app.app_context():
        pemohon = db.session.execute(select(User).where(User.username == "pemohon")).scalar_one()
        for key in SOP_WEIGHTS:
            deployment = deploy.latest(key)
            if deployment is None:
                continue
            state = None
            try:
                case = cases.start_case(key, pemohon)
                db.session.commit()
                state = case.state_json
            except Exception:  # noqa: BLE001 - SOPs that need a certificate to start: a fresh workflow
                db.session.rollback()
            how = "a started case"
            if state is None:
                workflow = runtime.new_workflow(deployment.spec_json, runtime.SertelScriptEngine({}))
                state = runtime.dump_state(workflow)
                how = "a fresh workflow"
            found[key] = (deployment.id, state)
            log(f"{key}: state of {how}, {len(state):,} bytes")
        # The template cases themselves are not part of the data set.
        with db.engine.begin() as conn:
            for table in ("audit_events", "audit_heads", "human_tasks", "documents", "outbox"):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM process_instances"))
    return found


class Bulk:
    """Rows per table, written in bulk at the end (COPY on PostgreSQL)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}

    def add(self, table: str, columns: list[str], row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, (columns, []))[1].append(row)

    def write(self, conn: Any, dialect: str) -> None:
        for table, (columns, rows) in self.rows.items():
            started = time.monotonic()
            if dialect == "postgresql":
                with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            if len(rows) > 1000:
                log(f"{table}: {len(rows):,} rows in {time.monotonic() - started:.1f} s")
        self.rows.clear()


def generate(app: Any, n_cases: int, n_people: int, n_agencies: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    states = template_states(app)
    with app.app_context():
        dialect = db.engine.dialect.name
        demo = {u.username: u for u in db.session.execute(select(User)).scalars()}
        password_hash = demo["pemohon"].password_hash
        roles = {name: rid for rid, name in db.session.execute(text("SELECT id, name FROM roles")).all()}
        agencies = [a.id for a in db.session.execute(select(Agency).order_by(Agency.id)).scalars()]
        next_agency = max(agencies) + 1
        max_user = max(u.id for u in demo.values())
        max_person = db.session.execute(text("SELECT coalesce(max(id), 0) FROM persons")).scalar_one()
        deployments = {d.key: d.id for d in db.session.execute(select(ProcessDeployment)).scalars()}
    bulk = Bulk()
    for n in range(len(agencies), n_agencies):
        bulk.add("agencies", ["id", "code", "name"], (next_agency, f"opd{n:03d}", f"Perangkat Daerah {n:03d}"))
        agencies.append(next_agency)
        next_agency += 1
    now = datetime.now(UTC).replace(tzinfo=None)
    people: list[tuple[int, int]] = []  # (user id, agency id)
    heads: dict[int, int] = {}
    for n in range(n_people):
        person_id, user_id = max_person + 1 + n, max_user + 1 + n
        agency = agencies[n % len(agencies)]
        nik = f"33759{n:011d}"
        bulk.add(
            "persons",
            [
                "id",
                "nik",
                "full_name",
                "nip",
                "category",
                "agency_id",
                "position",
                "source",
                "updated_by",
                "updated_at",
            ],
            (person_id, nik, f"Pegawai {n}", f"19900101{n:010d}", "asn", agency, "Staf", "bench", "bench", now),
        )
        bulk.add(
            "users",
            ["id", "username", "full_name", "email", "password_hash", "person_id", "agency_id", "active", "created_at"],
            (
                user_id,
                f"pegawai{n}",
                f"Pegawai {n}",
                f"pegawai{n}@pekalongankota.go.id",
                password_hash,
                person_id,
                agency,
                True,
                now,
            ),
        )
        bulk.add("user_roles", ["user_id", "role_id"], (user_id, roles["Pemohon"]))
        if agency not in heads:
            heads[agency] = user_id
            bulk.add("user_roles", ["user_id", "role_id"], (user_id, roles["Atasan"]))
        people.append((user_id, agency))
    # The demo applicant and heads get their share, so their inboxes are realistic.
    people += [(demo["pemohon"].id, demo["pemohon"].agency_id)] * max(n_cases // 7000, 2)
    heads[demo["atasan"].agency_id or 0] = demo["atasan"].id
    verifiers = [demo["verifikator"].id, demo["verifikator2"].id]
    sop_keys = [k for k in SOP_WEIGHTS if k in states]
    weights = [SOP_WEIGHTS[k] for k in sop_keys]
    open_roles, open_weights = list(OPEN_ROLE_WEIGHTS), list(OPEN_ROLE_WEIGHTS.values())
    gseq = 0
    task_id = 0
    doc_id = 0
    counts = {"running": 0, "open_verifikator": 0}
    case_columns = [
        "id", "deployment_id", "sop_key", "status", "outcome", "state_json", "applicant_id", "started_by_id",
        "agency_id", "current_steps", "applicant_json", "created_at", "updated_at", "ended_at", "row_version",
    ]  # fmt: skip
    task_columns = [
        "id", "instance_id", "task_uuid", "task_name", "form_key", "label", "lane", "role", "owner_user_id",
        "agency_id", "claimed_by_id", "status", "created_at", "completed_at", "completed_by_id",
    ]  # fmt: skip
    with app.app_context():
        raw = db.engine.raw_connection()
    conn = raw.driver_connection if dialect == "postgresql" else raw
    for case_id in range(1, n_cases + 1):
        if case_id % 10_000 == 0:
            bulk.write(conn, dialect)
            raw.commit()
        key = rng.choices(sop_keys, weights)[0]
        applicant, agency = rng.choice(people)
        created = now - timedelta(minutes=(n_cases - case_id) * 5)
        running = rng.random() < RUNNING_SHARE
        open_role = rng.choices(open_roles, open_weights)[0] if running else None
        # The steps a case went through: all of them when it ended, those before its open task when running.
        steps = (
            list(STEPS)
            if open_role is None
            else list(STEPS[: STEPS.index(open_role)] if open_role in STEPS else STEPS[:3])
        )
        status, outcome = ("running", None) if running else ("completed", rng.choice(["issued", "issued", "rejected"]))
        applicant_json = json.dumps({"nik": f"33759{applicant:011d}", "full_name": f"Pegawai {applicant}"})
        bulk.add(
            "process_instances",
            case_columns,
            (
                case_id, deployments[key], key, status, outcome, states[key][1], applicant, applicant, agency,
                LABELS[open_role][1] if open_role else "", applicant_json, created, created, None if running else created, 1,
            ),
        )  # fmt: skip
        seq = 0
        for role, is_open in [*((r, False) for r in steps), *([(open_role, True)] if open_role else [])]:
            task_id += 1
            name, label = LABELS[role]
            done_by = {"Pemohon": applicant, "Atasan": heads.get(agency), "Verifikator": rng.choice(verifiers)}.get(
                role
            )
            bulk.add(
                "human_tasks",
                task_columns,
                (
                    task_id, case_id, f"b-{task_id}", name, f"{key}.{name}", label, role, role,
                    applicant if role == "Pemohon" else None, agency if role == "Atasan" else None, None,
                    "open" if is_open else "completed", created, None if is_open else created,
                    None if is_open else done_by,
                ),
            )  # fmt: skip
            if is_open:
                counts["running"] += 1
                counts["open_verifikator"] += role == "Verifikator"
        for kind in ("ktp", "sk", "surat_keputusan") if not running else ("ktp", "sk"):
            doc_id += 1
            bulk.add(
                "documents",
                [
                    "id",
                    "instance_id",
                    "sha256",
                    "filename",
                    "media_type",
                    "size",
                    "kind",
                    "uploaded_by_id",
                    "created_at",
                ],
                (doc_id, case_id, f"{doc_id:064x}", f"{kind}.pdf", "application/pdf", 40_000, kind, applicant, created),
            )
        if not running and outcome == "issued" and key in ("issuance_ams", "issuance_esign"):
            bulk.add(
                "certificates",
                [
                    "serial", "subject_id", "instance_id", "user_id", "subject", "status", "kind", "not_before",
                    "not_after", "certificate_pem", "chain_pem", "created_at", "locked",
                ],
                (
                    f"{case_id:032x}", f"subj-{applicant}", case_id, applicant, f"CN=Pegawai {applicant}", "active",
                    "esign" if key == "issuance_esign" else "ams", created, created + timedelta(days=730), "-", "-",
                    created, False,
                ),
            )  # fmt: skip
        for kind in ("case_started", "task_completed", "task_completed", "document_stored", "case_ended")[
            : 3 if running else 5
        ]:
            gseq += 1
            seq += 1  # noqa: SIM113 - seq continues across the cases, not per loop
            bulk.add(
                "audit_events",
                [
                    "stream",
                    "seq",
                    "gseq",
                    "key_id",
                    "instance_id",
                    "at",
                    "actor",
                    "kind",
                    "payload_json",
                    "prev_hash",
                    "hash",
                ],
                (
                    f"case:{case_id}",
                    seq,
                    gseq,
                    "bench",
                    case_id,
                    created,
                    "bench",
                    kind,
                    '{"bench": true}',
                    "0" * 64,
                    "0" * 64,
                ),
            )
        bulk.add(
            "outbox",
            ["instance_id", "recipient", "subject", "body", "template", "created_at"],
            (case_id, f"u{applicant}@pekalongankota.go.id", f"Permohonan #{case_id}", "Isi surel.", "bench", created),
        )
    counts["tasks"] = task_id
    bulk.write(conn, dialect)
    raw.commit()
    raw.close()
    with app.app_context(), db.engine.begin() as conn:
        if dialect == "postgresql":
            for table in (
                "agencies",
                "persons",
                "users",
                "process_instances",
                "human_tasks",
                "documents",
                "certificates",
                "outbox",
                "audit_events",
            ):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("SELECT setval('audit_gseq', :g)"), {"g": gseq + 1})
            conn.execute(text("ANALYZE"))
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of a database to overwrite")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--agencies", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sertel-bench-") as instance:
        app = build_base(args.url, Path(instance))
        log("schema, demo accounts and processes ready")
        counts = generate(app, args.cases, args.people, args.agencies, args.seed)
    log(f"{args.cases:,} cases, {counts['tasks']:,} task rows, {counts['running']:,} running "
        f"({counts['open_verifikator']:,} open Verifikator tasks) in {time.monotonic() - started:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
