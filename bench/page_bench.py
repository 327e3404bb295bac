"""Page benchmark: inbox, task API, case page and outbox against the floor of the same indexed query.

    .venv/bin/python bench/page_bench.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench [--explain]

Run it on a data set made by bench/datagen.py. Each page is requested through the app in-process (Flask
test client: routing, login check, queries, rendering; no HTTP server), interleaved with its floor: the
same indexed query with LIMIT 50 sent through psycopg on its own connection (for the case page, the
four reads a case page needs). Each run reports the median and p95 of both and the statements per
request; the table gives the range over runs. --explain prints EXPLAIN ANALYZE of the statements the
inbox and the case page send.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

from bench.datagen import bench_settings  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.models import HumanTask, User, db  # noqa: E402
from engine.services import setup  # noqa: E402


def login_html(client: Any, username: str) -> None:
    page = client.get("/masuk").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    response = client.post(
        "/masuk", data={"username": username, "password": setup.DEMO_PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, response.status_code


def api_token(client: Any, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": setup.DEMO_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30, help="requests per page per run")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="sertel-page-bench-"))
    app = create_app(bench_settings(args.url, instance))
    driver_url = args.url.replace("postgresql+psycopg://", "postgresql://")
    floor = psycopg.connect(driver_url, autocommit=True)

    with app.app_context():
        users = {
            u.username: u
            for u in db.session.execute(
                select(User).where(User.username.in_(("pemohon", "atasan", "verifikator")))
            ).scalars()
        }
        case_id = db.session.execute(
            select(HumanTask.instance_id)
            .where(HumanTask.status == "open", HumanTask.role == "Verifikator")
            .order_by(HumanTask.id)
            .offset(10)
            .limit(1)
        ).scalar_one()
        n_cases = db.session.execute(text("SELECT count(*) FROM process_instances")).scalar_one()
        outbox_middle = db.session.execute(text("SELECT min(id) + (max(id) - min(id)) / 2 FROM outbox")).scalar_one()
        engine = db.engine
    pemohon, atasan = users["pemohon"], users["atasan"]

    html = app.test_client()
    login_html(html, "verifikator")
    admin_html = app.test_client()
    login_html(admin_html, "admin")
    api = app.test_client()
    tokens = {name: api_token(api, name) for name in ("verifikator", "pemohon", "atasan")}

    def run_floor(sql: str, *params: Any) -> Callable[[], None]:
        def go() -> None:
            for statement in sql.split(";"):
                floor.execute(statement, params[: statement.count("%s")]).fetchall()

        return go

    task_cols = "SELECT * FROM human_tasks WHERE status = 'open' AND "
    pages: list[tuple[str, Callable[[], Any], Callable[[], None]]] = [
        (
            "verifikator inbox page `/`",
            lambda: html.get("/"),
            run_floor(task_cols + "role = 'Verifikator' AND claimed_by_id IS NULL ORDER BY id LIMIT 50"),
        ),
        (
            "`GET /api/v1/tasks` verifikator",
            lambda: api.get("/api/v1/tasks", headers=tokens["verifikator"]),
            run_floor(task_cols + "role = 'Verifikator' AND claimed_by_id IS NULL ORDER BY id LIMIT 50"),
        ),
        (
            "`GET /api/v1/tasks` pemohon",
            lambda: api.get("/api/v1/tasks", headers=tokens["pemohon"]),
            run_floor(task_cols + "role = 'Pemohon' AND owner_user_id = %s ORDER BY id LIMIT 50", pemohon.id),
        ),
        (
            "`GET /api/v1/tasks` atasan",
            lambda: api.get("/api/v1/tasks", headers=tokens["atasan"]),
            run_floor(task_cols + "role = 'Atasan' AND agency_id = %s ORDER BY id LIMIT 50", atasan.agency_id),
        ),
        (
            f"case page `/kasus/{case_id}`",
            lambda: html.get(f"/kasus/{case_id}"),
            _case_floor(floor, case_id),
        ),
        (
            f"`GET /api/v1/cases/{case_id}`",
            lambda: api.get(f"/api/v1/cases/{case_id}", headers=tokens["verifikator"]),
            _case_floor(floor, case_id),
        ),
        (
            "outbox deep page `/admin/surel?sebelum=…`",
            lambda: admin_html.get(f"/admin/surel?sebelum={outbox_middle}"),
            run_floor("SELECT * FROM outbox WHERE id < %s ORDER BY id DESC LIMIT 50", outbox_middle),
        ),
        (
            "admin dashboard `/admin/dasbor`",
            lambda: admin_html.get("/admin/dasbor"),
            run_floor(
                "SELECT * FROM dashboard_snapshots ORDER BY id DESC LIMIT 1;"
                "SELECT role, count(*) FROM human_tasks WHERE status = 'open' GROUP BY role;"
                "SELECT role, count(*) FROM human_tasks WHERE status = 'open' AND due_at < now() GROUP BY role"
            ),
        ),
    ]

    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        statements.append((statement, parameters))

    results: dict[str, list[tuple[float, float, float, float, int]]] = {name: [] for name, _, _ in pages}
    for name, page, floor_query in pages:  # warm up: caches, plans, first connection
        assert page().status_code == 200, name
        floor_query()
    for run in range(args.runs):
        for name, page, floor_query in pages:
            page_times: list[float] = []
            floor_times: list[float] = []
            counts: list[int] = []
            for _ in range(args.requests):
                statements.clear()
                event.listen(engine, "before_cursor_execute", record)
                started = time.perf_counter()
                response = page()
                page_times.append((time.perf_counter() - started) * 1000)
                event.remove(engine, "before_cursor_execute", record)
                assert response.status_code == 200, (name, response.status_code)
                counts.append(len(statements))
                started = time.perf_counter()
                floor_query()
                floor_times.append((time.perf_counter() - started) * 1000)
            results[name].append(
                (
                    statistics.median(page_times),
                    percentile(page_times, 0.95),
                    statistics.median(floor_times),
                    percentile(floor_times, 0.95),
                    max(counts),
                )
            )
        print(f"run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)

    print(f"\n{n_cases:,} cases; {args.runs} runs of {args.requests} requests per page, page and floor interleaved\n")
    print("| page | median ms | p95 ms | floor median ms | floor p95 ms | SQL statements |")
    print("|---|---:|---:|---:|---:|---:|")

    def span(values: list[float]) -> str:
        low, high = min(values), max(values)
        return f"{low:.1f}" if abs(high - low) < 0.05 else f"{low:.1f}–{high:.1f}"

    for name, rows in results.items():
        columns = [span([row[i] for row in rows]) for i in range(4)]
        print(f"| {name} | {' | '.join(columns)} | {max(row[4] for row in rows)} |")

    if args.explain:
        for name, page in (
            ("verifikator inbox page", lambda: html.get("/")),
            ("case page", lambda: html.get(f"/kasus/{case_id}")),
        ):
            statements.clear()
            event.listen(engine, "before_cursor_execute", record)
            page()
            event.remove(engine, "before_cursor_execute", record)
            print(f"\n### EXPLAIN ANALYZE: {name}\n")
            with engine.connect() as conn:
                for statement, parameters in list(statements):
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).scalars().all()
                    print("```")
                    print(statement.strip())
                    print("--")
                    print("\n".join(plan))
                    print("```")
    floor.close()


def _case_floor(conn: psycopg.Connection[Any], case_id: int) -> Callable[[], None]:
    """The reads of a case page through the driver: the case, its documents, certificates and events."""

    def go() -> None:
        conn.execute("SELECT * FROM process_instances WHERE id = %s", (case_id,)).fetchall()
        conn.execute("SELECT * FROM documents WHERE instance_id = %s ORDER BY id LIMIT 50", (case_id,)).fetchall()
        conn.execute("SELECT * FROM certificates WHERE instance_id = %s LIMIT 50", (case_id,)).fetchall()
        conn.execute(
            "SELECT * FROM audit_events WHERE stream = %s ORDER BY seq LIMIT 50", (f"case:{case_id}",)
        ).fetchall()

    return go


if __name__ == "__main__":
    main()
