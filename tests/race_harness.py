"""Real concurrency for race tests: a probe process, a live WSGI server on 127.0.0.1 and a race runner."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask
from marshmallow import Schema, fields
from sqlalchemy import func, select
from werkzeug.serving import make_server

from engine import registry
from engine.models import AuditEvent, HumanTask, ProcessInstance, db
from engine.services import accounts, audit_verify, cases, deploy
from engine.services.setup import DEMO_PASSWORD
from tests.engine import bpmn_builders as b

PROBE_KEY = "race_probe"
PROBE_FORM = "race_probe_review"
# The officers who race each other: the demo Admin and two more created by `add_officers`.
OFFICERS = ("admin", "admin2", "admin3")


class ReviewSchema(Schema):
    """The probe's one form: a decision."""

    decision = fields.String(required=True)


def probe_xml() -> str:
    """A case with an Admin review task and, in parallel, a one-hour timer followed by a script step."""
    nodes = [
        b.start(),
        '<bpmn:parallelGateway id="fork" />',
        b.user_task("review", "Tinjau", form=PROBE_FORM),
        b.end(),
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition>'
        '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
        b.script_task("after_wait", "waited = True"),
        b.end("end_wait"),
    ]
    flows = [*b.chain("start", "fork", "review", "end"), *b.chain("fork", "wait", "after_wait", "end_wait")]
    lanes = {"Admin": ["start", "fork", "review", "end", "wait", "after_wait", "end_wait"]}
    return b.document(PROBE_KEY, nodes, flows, lanes)


@contextmanager
def probe_registered() -> Iterator[None]:
    """Register the probe's form for the duration of a test (the registry is module-global).

    The probe's task is only ever completed over the API or by a POST, so it needs no webform template;
    the deploy check that asks for one is told the probe's form exists.
    """
    registry.discover("handlers")
    saved = dict(registry._forms)
    registry.form_schema(PROBE_FORM)(ReviewSchema)
    form_exists = deploy.form_exists
    deploy.form_exists = lambda name: name == PROBE_FORM or form_exists(name)  # type: ignore[assignment]
    try:
        yield
    finally:
        deploy.form_exists = form_exists  # type: ignore[assignment]
        registry._forms.clear()
        registry._forms.update(saved)


def deploy_probe_and_officers(app: Flask) -> None:
    """Deploy the probe process and create the extra Admin officers."""
    with app.app_context():
        deploy.deploy(probe_xml(), PROBE_KEY, "test")
        for username in OFFICERS[1:]:
            accounts.create_user(
                username,
                DEMO_PASSWORD,
                f"Petugas {username}",
                f"{username}@pekalongankota.go.id",
                ["Admin"],
                "diskominfo",
            )


def start_probes(app: Flask, count: int) -> list[int]:
    """Start `count` probe cases for the demo applicant; return the ids of their open review tasks."""
    with app.app_context():
        applicant = accounts.user_by_username("pemohon")
        case_ids = [cases.start_case(PROBE_KEY, applicant).id for _ in range(count)]
        tasks = db.session.execute(
            select(HumanTask.id)
            .where(HumanTask.instance_id.in_(case_ids), HumanTask.status == "open")
            .order_by(HumanTask.id)
        ).scalars()
        return list(tasks)


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app with werkzeug's threaded server on 127.0.0.1 and a free port: one thread per request."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and body."""

    status: int
    body: str


def request(base: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> Answer:
    """One HTTP request on its own connection."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.read().decode("utf-8", "replace"))
    finally:
        connection.close()


def api_tokens(base: str) -> dict[str, str]:
    """A bearer token for every officer."""
    tokens = {}
    for username in OFFICERS:
        answer = request(
            base,
            "POST",
            "/api/v1/auth/token",
            {"Content-Type": "application/json"},
            json.dumps({"username": username, "password": DEMO_PASSWORD}).encode(),
        )
        assert answer.status == 200, answer.body
        tokens[username] = json.loads(answer.body)["token"]
    return tokens


def api_post(base: str, token: str, path: str, payload: dict[str, Any] | None = None) -> Answer:
    """POST JSON to the API as the token's user."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return request(base, "POST", f"/api/v1{path}", headers, json.dumps(payload or {}).encode())


def form_post(base: str, cookie: str, path: str, data: dict[str, str]) -> Answer:
    """POST an HTML form with a browser session cookie."""
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    return request(base, "POST", path, headers, urlencode(data).encode())


def race(calls: list[Callable[[], Answer]]) -> list[Answer]:
    """Run the calls in parallel threads released together by a barrier; their answers in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[Answer | BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = calls[index]()
        except BaseException as exc:  # noqa: BLE001  # the main thread re-raises it
            answers[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
    return [a for a in answers if isinstance(a, Answer)]


@dataclass
class Tally:
    """What a series of races produced: one line of docs/reliability.md."""

    races: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    races_with_one_winner: int = 0
    bodies_of_failures: list[str] = field(default_factory=list)

    def add(self, answers: list[Answer], winning_status: int = 200) -> None:
        self.races += 1
        self.requests += len(answers)
        self.statuses.update(a.status for a in answers)
        winners = [a for a in answers if a.status == winning_status]
        self.races_with_one_winner += len(winners) == 1
        self.bodies_of_failures += [f"{a.status}: {a.body[:300]}" for a in answers if a.status >= 500]

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        return f"races={self.races} requests={self.requests} one-winner={self.races_with_one_winner} statuses={dict(sorted(self.statuses.items()))}"


def claim_races(base: str, tokens: dict[str, str], task_ids: list[int]) -> Tally:
    """Every officer claims each task at the same moment."""
    tally = Tally()
    for task_id in task_ids:
        calls = [lambda t=token, i=task_id: api_post(base, t, f"/tasks/{i}/claim") for token in tokens.values()]
        tally.add(race(calls))
    return tally


def completion_races(base: str, tokens: dict[str, str], task_ids: list[int]) -> Tally:
    """Every officer completes each (unclaimed) task at the same moment."""
    tally = Tally()
    for task_id in task_ids:
        calls = [
            lambda t=token, i=task_id: api_post(base, t, f"/tasks/{i}/complete", {"decision": "ok"})
            for token in tokens.values()
        ]
        tally.add(race(calls))
    return tally


def events_per_case(app: Flask, kind: str, task_name: str | None = None) -> dict[int, int]:
    """How many events of `kind` (about `task_name`, if given) each probe case logged."""
    query = (
        select(AuditEvent.instance_id, func.count())
        .join(ProcessInstance, ProcessInstance.id == AuditEvent.instance_id)
        .where(AuditEvent.kind == kind, ProcessInstance.sop_key == PROBE_KEY)
        .group_by(AuditEvent.instance_id)
    )
    if task_name is not None:
        query = query.where(AuditEvent.task_name == task_name)
    with app.app_context():
        rows = db.session.execute(query).all()
        return {int(case_id): int(n) for case_id, n in rows}


def chain_problems(app: Flask) -> list[str]:
    """What the event log's verification finds wrong (as text, one line a misfit)."""
    with app.app_context():
        return [str(finding) for finding in audit_verify.verify()]
