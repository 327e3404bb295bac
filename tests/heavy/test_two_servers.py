"""Two gunicorn app servers and two schedulers on one PostgreSQL: cases driven through both, each timer fires once.

Every request alternates between server A and server B (a case is started on one and its tasks are claimed
and completed on either), as a load balancer in front of several app servers would. The verification SLA of
the deployed diagrams is shortened to seconds, and the verifikator waits until the reminder and the escalation
were sent before approving: with two schedulers polling every second, each case must get exactly one mail of
each. Documents are stored in the database (SERTEL_DOCUMENT_STORE=database). Needs PostgreSQL
(SERTEL_DATABASE_URL names the server; the test creates and drops a database of its own there).
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.heavy.crash_flows import Flows
from tests.heavy.crash_server import SERTEL, sertel, sertel_env

LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
# Short SLA timers of verification for this test, set as process properties of the deployed diagrams.
SLA = '<sertel:properties><sertel:property name="sla_verification_reminder" value="PT2S" /><sertel:property name="sla_verification_escalation" value="PT4S" /></sertel:properties>'
PROCESSES = Path(__file__).resolve().parents[2] / "processes"
# Who applies for what: (applicant, their Atasan, SOP); one active certificate of a kind per person.
CASES = (
    ("pemohon", "atasan", "issuance_ams"),
    ("pemohon", "atasan", "issuance_esign"),
    ("pemohon2", "atasan2", "issuance_ams"),
)
TIMER_MAILS = ("verification_reminder", "verification_escalation")


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh database of our own on the PostgreSQL server of SERTEL_DATABASE_URL, dropped afterwards."""
    url = os.environ.get("SERTEL_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("two app servers share one PostgreSQL: set SERTEL_DATABASE_URL to a PostgreSQL server")
    name = f"sertel_two_servers_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


class Process:
    """One long-running `sertel` process of this test; its output goes to a log file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self.out: IO[str] = log.open("w")
        self.popen = subprocess.Popen(
            [str(SERTEL), *args], env=env, stdout=self.out, stderr=subprocess.STDOUT, text=True
        )

    def wait_for(self, pattern: re.Pattern[str], seconds: float = 120.0) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            match = pattern.search(self.log.read_text())
            if match:
                return match.group(1)
            assert self.popen.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.2)
        raise AssertionError(f"{self.log.name}: no {pattern.pattern}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=30)
        self.out.close()


class Balancer:
    """Stands where the Server of crash_server stands for Flows: sends each request to the next app server."""

    def __init__(self, base_urls: list[str]) -> None:
        self.base_urls = base_urls
        self.turn = itertools.cycle(range(len(base_urls)))
        self.lock = threading.Lock()
        self.served: Counter[str] = Counter()

    def request(self, method: str, path: str, _label: str, make: Any, headers: dict[str, str]) -> requests.Response:
        with self.lock:
            base = self.base_urls[next(self.turn)]
            self.served[base] += 1
        return requests.request(method, base + path, headers=headers, timeout=300, **make(0))


class Applicant(Flows):
    """One applicant's case through both servers; the verifikator approves only after both SLA timers fired."""

    def __init__(self, server: Balancer, applicant: str, head: str, mails: Any) -> None:
        super().__init__(server)  # type: ignore[arg-type]
        self.users = {"Pemohon": applicant, "Atasan": head, "Verifikator": "verifikator"}
        self.mails = mails
        self.applicant = applicant

    def call(self, user: str, method: str, path: str, make: Any = None) -> Any:
        # Flows speaks as "pemohon"/"atasan"; this applicant may be someone else.
        user = {"pemohon": self.users["Pemohon"], "atasan": self.users["Atasan"]}.get(user, user)
        return super().call(user, method, path, make)

    def payload(self, sop: str, user: str, task: dict[str, Any], start: dict[str, Any]) -> Any:
        if task["task_name"] == "verification":
            deadline = time.monotonic() + 120
            while not set(TIMER_MAILS) <= set(self.mails(task["case_id"])):
                assert time.monotonic() < deadline, f"SLA timers of case {task['case_id']} never fired"
                time.sleep(0.5)
        return super().payload(sop, user, task, start)


def deploy_short_sla(env: dict[str, str], tmp_path: Path) -> None:
    """Publish issuance_ams and issuance_esign again with verification SLAs of seconds."""
    paths = []
    for key in ("issuance_ams", "issuance_esign"):
        source = (PROCESSES / f"{key}.bpmn").read_text(encoding="utf-8")
        patched = re.sub(r'(<sertel:form name="[a-z_]+\.start" />)', r"\1" + SLA, source, count=1)
        assert patched != source or "<sertel:properties>" in source, key
        if patched == source:  # the diagram already has properties: add ours to them
            patched = source.replace("<sertel:properties>", SLA.removesuffix("</sertel:properties>"), 1)
        (tmp_path / f"{key}.bpmn").write_text(patched, encoding="utf-8")
        paths.append(str(tmp_path / f"{key}.bpmn"))
    result = sertel(env, "deploy", *paths)
    assert result.returncode == 0 and "versi baru" in result.stdout, result.stdout + result.stderr


def test_two_app_servers_and_two_schedulers_share_one_postgresql(database: str, tmp_path: Path) -> None:
    env = sertel_env(
        tmp_path / "instance",
        database,
        SERTEL_WEB_WORKERS="2",
        SERTEL_WEB_THREADS="2",
        SERTEL_BASE_URL="https://sertel.example.go.id",
        SERTEL_DOCUMENT_STORE="database",  # uploads and PDFs in PostgreSQL, where both servers see them
    )
    demo = sertel(env, "demo")
    assert demo.returncode == 0, demo.stderr[-2000:]
    deploy_short_sla(env, tmp_path)
    processes = [
        Process(env, tmp_path / "server-a.log", "serve", "--bind", "127.0.0.1:0"),
        Process(env, tmp_path / "server-b.log", "serve", "--bind", "127.0.0.1:0"),
        Process(env, tmp_path / "scheduler-1.log", "scheduler", "--interval", "1"),
        Process(env, tmp_path / "scheduler-2.log", "scheduler", "--interval", "1"),
    ]
    mail_db = create_engine(database)

    def mails(case_id: int) -> list[str]:
        with mail_db.connect() as conn:
            rows = conn.execute(text("SELECT template FROM outbox WHERE instance_id = :id"), {"id": case_id})
            return [row[0] for row in rows]

    try:
        balancer = Balancer([processes[0].wait_for(LISTENING), processes[1].wait_for(LISTENING)])
        assert len(set(balancer.base_urls)) == 2
        for scheduler in processes[2:]:
            scheduler.wait_for(re.compile(r"(Penjadwal berjalan)"))
        applicants = [Applicant(balancer, who, head, mails) for who, head, _sop in CASES]
        failures: list[BaseException] = []

        def drive(applicant: Applicant, sop: str) -> None:
            try:
                applicant.run(sop)
            except BaseException as exc:  # noqa: BLE001  # any failure of a thread fails the test below
                failures.append(exc)

        threads = [threading.Thread(target=drive, args=(a, c[2])) for a, c in zip(applicants, CASES, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        assert not failures, failures
        time.sleep(3)  # both schedulers keep polling the finished cases: nothing may fire again
        for process in processes:
            assert process.popen.poll() is None, process.log.read_text()[-3000:]
        case_ids = [case_id for applicant in applicants for case_id in applicant.cases]
        assert len(case_ids) == len(CASES)
        for case_id in case_ids:
            sent = Counter(mails(case_id))
            assert {name: sent[name] for name in TIMER_MAILS} == dict.fromkeys(TIMER_MAILS, 1), (case_id, sent)
        # Every document of the cases is a blob in the database (none in the shared instance directory).
        with mail_db.connect() as conn:
            missing = conn.execute(
                text(
                    "SELECT count(*) FROM documents d LEFT JOIN document_blobs b ON b.sha256 = d.sha256 WHERE b.sha256 IS NULL"
                )
            ).scalar_one()
            stored = conn.execute(text("SELECT count(*) FROM document_blobs")).scalar_one()
        assert missing == 0 and stored >= 2 * len(CASES), (missing, stored)
        assert not (tmp_path / "instance" / "documents").exists()
        # Both servers answered a good share of the requests (each case's steps went through both).
        assert min(balancer.served.values()) >= sum(balancer.served.values()) // 3, balancer.served
    finally:
        for process in processes:
            process.stop()
        mail_db.dispose()
