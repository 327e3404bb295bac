"""Load benchmark: 50 concurrent users on the inbox and case pages, served by gunicorn with 1 and 4 workers.

    .venv/bin/python bench/load_bench.py --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Run it on a data set made by bench/datagen.py. For each worker count the script starts the production
server (`sertel serve`, gthread workers) on the data set, logs in the users (verifikator accounts and
applicants of the data set, each with its own session), then every user requests, in a loop for
--seconds, its inbox `/` and one of its case pages `/kasus/N` over real HTTP. It reports requests per
second, median and p95 latency of each page and the number of non-200 answers. With --think S each user
pauses a random time (exponential, mean S seconds) between two pages, as a person reading the page does;
--think 0 is a closed loop (every user clicks again the moment a page arrives). Client and server share
the machine: on 2 cores the client's threads take part of the CPU the server would have. Every user
requests both pages once before the clock starts (each worker builds its app and caches on first use).
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from engine.services.setup import DEMO_PASSWORD  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def pick_users(url: str, count: int) -> list[tuple[str, list[int]]]:
    """(username, case ids the user may open): the demo verifikator accounts and applicants with cases."""
    engine = create_engine(url)
    with engine.connect() as conn:
        verifier_cases = [
            row[0]
            for row in conn.execute(
                text(
                    "SELECT instance_id FROM human_tasks WHERE status = 'open' AND role = 'Verifikator' "
                    "ORDER BY id LIMIT 200"
                )
            )
        ]
        applicants = conn.execute(
            text(
                "SELECT u.username, min(p.id) FROM users u JOIN process_instances p ON p.applicant_id = u.id "
                "WHERE u.username LIKE 'pegawai%' GROUP BY u.username ORDER BY u.username LIMIT :n"
            ),
            {"n": count},
        ).all()
    engine.dispose()
    verifiers = max(count // 5, 1)
    users: list[tuple[str, list[int]]] = [
        (("verifikator", "verifikator2")[i % 2], verifier_cases[i::verifiers] or verifier_cases)
        for i in range(verifiers)
    ]
    users += [(name, [case_id]) for name, case_id in applicants[: count - verifiers]]
    return users


def role_of(username: str) -> str:
    """The role a load-bench user plays: 'verifikator' (the RA's work queue) or 'pemohon' (an applicant)."""
    return "verifikator" if username.startswith("verifikator") else "pemohon"


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    # The role in the User-Agent lets the server's access log (request time in ms) be split by role.
    session.headers["User-Agent"] = f"load-bench {role_of(username)}"
    # A browser retries an idempotent request once when the server closed the kept-alive connection just as
    # it was reused (gunicorn closes idle connections after its keepalive); so does this client.
    session.mount("http://", HTTPAdapter(max_retries=Retry(total=1, connect=1, read=1, status=0)))
    page = session.get(f"{base}/masuk", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    answer = session.post(
        f"{base}/masuk",
        data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, (username, answer.status_code)
    return session


def wait_until_up(base: str, server: subprocess.Popen[bytes], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server stopped while starting")
        try:
            if requests.get(f"{base}/masuk", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not start in time")


def start_server(
    url: str, workers: int, threads: int, port: int, instance: Path, access_log: Any
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SERTEL_ENV": "testing",
        "SERTEL_INSTANCE_DIR": str(instance),
        "SERTEL_DATABASE_URL": url,
        "SERTEL_ARGON2_TIME_COST": "1",
        "SERTEL_ARGON2_MEMORY_KIB": "1024",
    }
    sertel = str(Path(sys.executable).with_name("sertel"))
    command = [sertel, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads)]
    return subprocess.Popen(command, env=env, stdout=access_log, stderr=subprocess.DEVNULL)


# gunicorn's access log line (engine/gunicorn_conf.py): ... "GET /path HTTP/1.1" status bytes "referer" "agent" ms
_ACCESS = re.compile(
    r'"GET (?P<path>\S+) HTTP/[^"]*" (?P<status>\d+) \S+ "[^"]*" "load-bench (?P<role>\w+)" (?P<ms>\d+)$'
)


def _cpu_ticks(pid: int) -> int:
    """User + system CPU of one process in clock ticks (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (gunicorn's master and workers), from /proc (Linux)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += _tree(int(child))
    return found


def cpu_ms(server_pid: int, url: str) -> tuple[float, float]:
    """CPU so far (ms) of the app server's processes and of the PostgreSQL backends serving the data set.

    The backends are those of pg_stat_activity on the data set's database (this benchmark's only clients).
    A backend that closes between two readings takes its CPU with it: with a pool that opens and closes
    overflow connections the PostgreSQL figure is too low (it can even come out negative).
    """
    tick = os.sysconf("SC_CLK_TCK")
    app = sum(_cpu_ticks(p) for p in _tree(server_pid))
    engine = create_engine(url)
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).scalars()
        backends = sum(_cpu_ticks(p) for p in pids)
    engine.dispose()
    return app * 1000 / tick, backends * 1000 / tick


def server_times(log: Path, since: float) -> dict[str, list[float]]:
    """Server-side request times (ms, gunicorn's %(M)s) of the timed requests, by page and role."""
    times: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines()[int(since) :]:
        found = _ACCESS.search(line)
        if not found:
            continue
        page = "inbox" if found["path"] == "/" else "case" if found["path"].startswith("/kasus/") else ""
        if page:
            times.setdefault(f"{page} {found['role']}", []).append(float(found["ms"]))
    return times


def run_load(
    base: str,
    users: list[tuple[str, list[int]]],
    seconds: float,
    think: float,
    log: Path,
    cpu: Callable[[], tuple[float, float]] | None = None,
    together: bool = False,
) -> dict[str, Any]:
    sessions = [(login(base, name), cases, role_of(name)) for name, cases in users]
    # Warm-up, untimed: every worker process builds its app, pools and caches on its first requests.
    for session, cases, _ in sessions:
        session.get(f"{base}/", timeout=60)
        session.get(f"{base}/kasus/{cases[0]}", timeout=60)
    time.sleep(0.5)
    warm_lines = len(log.read_text(errors="replace").splitlines())
    latencies: dict[str, list[float]] = {"inbox": [], "case": []}
    by_role: dict[str, list[float]] = {}
    failures: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(sessions))
    stop_at: list[float] = []

    def user(session: requests.Session, cases: list[int], role: str) -> None:
        start.wait()
        if not stop_at:
            stop_at.append(time.monotonic() + seconds)
        # Users arrive as they do in an office, not all in the same millisecond: each first thinks, like
        # between its pages. (Without this, the 50 first requests, all of them inboxes, came as one burst at
        # the start of every run, and that burst alone was more than the inbox's top 5 %.)
        if think and not together:
            time.sleep(random.expovariate(1 / think))
        n = 0
        while time.monotonic() < stop_at[0]:
            for page, path in (("inbox", "/"), ("case", f"/kasus/{cases[n % len(cases)]}")):
                began = time.perf_counter()
                try:
                    status = session.get(base + path, timeout=60).status_code
                except requests.RequestException:
                    status = 0  # no answer at all: counted as a failure
                spent = (time.perf_counter() - began) * 1000
                with lock:
                    latencies[page].append(spent)
                    by_role.setdefault(f"{page} {role}", []).append(spent)
                    if status != 200:
                        failures.append(status)
                if think:
                    time.sleep(random.expovariate(1 / think))
            n += 1

    threads = [threading.Thread(target=user, args=pair) for pair in sessions]
    cpu_before = cpu() if cpu else (0.0, 0.0)
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    cpu_after = cpu() if cpu else (0.0, 0.0)
    time.sleep(0.5)
    server = server_times(log, warm_lines)
    total = sum(len(v) for v in latencies.values())
    return {
        "requests_per_s": total / elapsed,
        "cpu_ms_per_request": tuple(
            (after - before) / max(total, 1) for before, after in zip(cpu_before, cpu_after, strict=True)
        ),
        "pages": {
            page: {"n": len(v), "p50": statistics.median(v), "p95": percentile(v, 0.95)}
            for page, v in latencies.items()
        },
        "by_role": {
            key: {"n": len(v), "p50": statistics.median(v), "p95": percentile(v, 0.95)}
            for key, v in sorted(by_role.items())
        },
        "server": {
            key: {"n": len(v), "p50": statistics.median(v), "p95": percentile(v, 0.95)}
            for key, v in sorted(server.items())
        },
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", default="1,4", help="worker counts to measure, comma separated")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between pages, seconds (0: none)")
    parser.add_argument(
        "--together", action="store_true", help="every user's first request at the same instant (a burst of inboxes)"
    )
    args = parser.parse_args()

    users = pick_users(args.url, args.users)
    print(f"{len(users)} users, {args.seconds:.0f} s per run, think {args.think} s, {args.threads} threads per worker")
    print("| workers | run | req/s | inbox p50 | inbox p95 | case p50 | case p95 | non-200 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    failed = False
    details: list[tuple[int, int, dict[str, Any]]] = []
    for workers in [int(w) for w in args.workers.split(",")]:
        for run in range(1, args.runs + 1):
            port = free_port()
            instance = Path(tempfile.mkdtemp(prefix="sertel-load-bench-"))
            log = instance / "access.log"
            with log.open("wb") as access_log:
                server = start_server(args.url, workers, args.threads, port, instance, access_log)
                try:
                    base = f"http://127.0.0.1:{port}"
                    wait_until_up(base, server)
                    cpu = functools.partial(cpu_ms, server.pid, args.url)
                    result = run_load(base, users, args.seconds, args.think, log, cpu, args.together)
                finally:
                    server.terminate()
                    server.wait(timeout=30)
            inbox, case = result["pages"]["inbox"], result["pages"]["case"]
            print(
                f"| {workers} | {run} | {result['requests_per_s']:.0f} | {inbox['p50']:.0f} ms | {inbox['p95']:.0f} ms "
                f"| {case['p50']:.0f} ms | {case['p95']:.0f} ms | {len(result['failures'])} |",
                flush=True,
            )
            failed = failed or bool(result["failures"])
            details.append((workers, run, result))
    print(
        "\nCPU per request (timed window; all pages): app server (gunicorn master and workers), PostgreSQL backends\n"
    )
    for workers, run, result in details:
        app_ms, pg_ms = result["cpu_ms_per_request"]
        print(f"- {workers} workers, run {run}: app {app_ms:.1f} ms, PostgreSQL {pg_ms:.1f} ms")
    print("\nBy role (client: whole round trip; server: gunicorn's request time, from the access log):\n")
    print("| workers | run | page, role | n | client p50 | client p95 | server p50 | server p95 |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for workers, run, result in details:
        for key, client in result["by_role"].items():
            server = result["server"].get(key, {"p50": float("nan"), "p95": float("nan")})
            print(
                f"| {workers} | {run} | {key} | {client['n']} | {client['p50']:.0f} ms | {client['p95']:.0f} ms "
                f"| {server['p50']:.0f} ms | {server['p95']:.0f} ms |"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
