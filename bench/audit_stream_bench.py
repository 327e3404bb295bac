"""Audit stream contention: concurrent logins, validations and signings appending to the log on PostgreSQL.

    .venv/bin/python bench/audit_stream_bench.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit
                                                 [--threads 8] [--appends 40] [--hold-ms 2]

Each thread runs transactions that append one event of a system kind (login, document_validated,
signing) and commit, as those use cases do; `--hold-ms` is the work the use case does between its
append and its commit (the head stays locked meanwhile). Two layouts are compared, interleaved:
- "one stream": every event goes to the single "system" stream (one head row, one lock for all);
- "split": `audit.system_stream(kind)`, a stream per kind and UTC day ("login:2026-12-03", ...).
It reports appends per second and the median and p95 latency of one transaction, and checks that
`sertel audit verify` still finds nothing wrong. The database at --url is DESTROYED.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.datagen import bench_settings, ensure_database  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.models import db  # noqa: E402
from engine.services import audit, audit_verify, setup  # noqa: E402

KINDS = ("login", "document_validated", "signing")


def build(url: str) -> Any:
    ensure_database(url)
    instance = Path(tempfile.mkdtemp(prefix="sertel-audit-bench-"))
    app = create_app(bench_settings(url, instance))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            raise SystemExit("PostgreSQL only: SQLite has one writer at a time anyway")
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        setup.create_schema()
    return app


def worker(app: Any, split: bool, appends: int, hold: float, number: int, latencies: list[float]) -> None:
    with app.app_context():
        for i in range(appends):
            kind = KINDS[(number + i) % len(KINDS)]
            stream = audit.system_stream(kind) if split else "system"
            start = time.perf_counter()
            audit.append(stream, kind, f"user{number}", {"n": i})
            if hold:
                time.sleep(hold)
            db.session.commit()
            latencies.append((time.perf_counter() - start) * 1000)
        db.session.remove()


def one_run(app: Any, split: bool, threads: int, appends: int, hold: float) -> dict[str, float]:
    latencies: list[float] = []
    pool = [threading.Thread(target=worker, args=(app, split, appends, hold, n, latencies)) for n in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "rate": len(latencies) / elapsed,
        "median": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--appends", type=int, default=40, help="transactions per thread and run")
    parser.add_argument("--hold-ms", type=float, default=2.0, help="work between append and commit")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    app = build(args.url)
    # Open the split streams once (the first append of a day registers them), so runs compare steady state.
    one_run(app, True, 1, len(KINDS), 0)
    rows: dict[str, list[dict[str, float]]] = {"one stream": [], "split": []}
    for run in range(args.runs):
        for split in (run % 2 == 0, run % 2 != 0):
            name = "split" if split else "one stream"
            result = one_run(app, split, args.threads, args.appends, args.hold_ms / 1000)
            rows[name].append(result)
            print(
                f"run {run + 1} {name:<10}: {result['rate']:7.1f} appends/s, "
                f"median {result['median']:6.1f} ms, p95 {result['p95']:6.1f} ms",
                flush=True,
            )
    for name, results in rows.items():
        rates = [r["rate"] for r in results]
        p95s = [r["p95"] for r in results]
        print(
            f"{name:<10}: {statistics.median(rates):.1f} appends/s ({min(rates):.1f}–{max(rates):.1f}), "
            f"p95 {statistics.median(p95s):.1f} ms ({min(p95s):.1f}–{max(p95s):.1f})"
        )
    with app.app_context():
        findings = audit_verify.verify()
        print("verify:", findings or "Log peristiwa utuh.")


if __name__ == "__main__":
    main()
