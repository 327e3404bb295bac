"""EXPLAIN ANALYZE and timings of the auditor's case search and the admin dashboard on a bench data set.

    .venv/bin/python bench/datagen.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench --cases 20000
    .venv/bin/python bench/search_explain.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Each search is the service's own query (case_search.search_query, first page of 50); timings are the
median and max of --runs calls of the service (query, rows and the applicants' person records).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

from bench.datagen import bench_settings  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.models import db  # noqa: E402
from engine.services import case_search, dashboard  # noqa: E402


def samples() -> dict[str, dict[str, Any]]:
    """Criteria with values taken from the data set (a NIK, a serial, a verifikator…)."""
    one = db.session.execute(
        text("SELECT p.nik, p.nip FROM persons p JOIN users u ON u.person_id = p.id ORDER BY p.id DESC LIMIT 1")
    ).one()
    serial = db.session.execute(text("SELECT serial FROM certificates ORDER BY id LIMIT 1")).scalar_one()
    agency = db.session.execute(text("SELECT code FROM agencies ORDER BY id DESC LIMIT 1")).scalar_one()
    return {
        "no filter (newest 50)": {},
        "NIK": {"nik": one.nik},
        "NIP": {"nip": one.nip},
        "name contains 'pegawai 123'": {"name": "pegawai 123"},
        "agency": {"agency": agency},
        "SOP + status": {"sop": "revocation", "status": "running"},
        "SOP + version": {"sop": "issuance_ams", "version": 1},
        "outcome rejected": {"outcome": "rejected"},
        "verifikator": {"verifikator": "verifikator2"},
        "started in a week": {"started_from": "2026-11-01", "started_to": "2026-11-07"},
        "ended in a week": {"ended_from": "2026-11-01", "ended_to": "2026-11-07"},
        "certificate serial": {"serial": serial},
    }


def timed(call: Any, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(times), max(times)


def explain(query: Any) -> str:
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    rows = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}")).scalars()
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--plans", action="store_true", help="print every EXPLAIN ANALYZE")
    args = parser.parse_args()
    app = create_app(bench_settings(args.url, Path(tempfile.mkdtemp())))
    with app.app_context():
        cases = db.session.execute(text("SELECT count(*) FROM process_instances")).scalar_one()
        print(f"{cases:,} cases; pg_trgm: {case_search.has_trigram()}\n")
        print("| search | rows | median ms | max ms |\n|---|---:|---:|---:|")
        plans = []
        for label, values in samples().items():
            criteria = case_search.parse_criteria({case_search_param(k): str(v) for k, v in values.items()})
            page = case_search.search(criteria)
            median, worst = timed(lambda c=criteria: case_search.search(c), args.runs)
            print(f"| {label} | {len(page.rows)} | {median:.1f} | {worst:.1f} |")
            plans.append((label, explain(case_search.search_query(criteria))))
        median, worst = timed(dashboard.dashboard, args.runs)
        print(f"| admin dashboard (4 GROUP BY) | - | {median:.1f} | {worst:.1f} |")
        if args.plans:
            for label, plan in plans:
                print(f"\n### {label}\n```\n{plan}\n```")


PARAMS = {name: param for param, name in case_search.FIELDS.items()}


def case_search_param(name: str) -> str:
    """The query parameter of a criteria field."""
    return PARAMS[name]


if __name__ == "__main__":
    main()
