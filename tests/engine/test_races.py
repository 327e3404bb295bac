"""Races over real HTTP on 127.0.0.1: parallel claims, completions, releases and scheduler steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from engine.models import Certificate, HumanTask, OutboxMail, ProcessInstance, db
from engine.models.base import utcnow
from engine.services import accounts, cases, queries, reminders, timers
from engine.services.errors import Conflict
from tests import race_harness as h
from tests.conftest import DATABASE_URL, build_app

RACES = 100


@pytest.fixture
def race_app(app: Flask) -> Iterator[Flask]:
    """The app with the probe process deployed and three Admin officers."""
    with h.probe_registered():
        h.deploy_probe_and_officers(app)
        yield app


@pytest.fixture
def server(race_app: Flask) -> Iterator[str]:
    """The app served on 127.0.0.1 with a free port."""
    with h.live_server(race_app) as base:
        yield base


def claimed_by(app: Flask, task_ids: list[int]) -> dict[int, int | None]:
    with app.app_context():
        rows = db.session.execute(select(HumanTask.id, HumanTask.claimed_by_id).where(HumanTask.id.in_(task_ids)))
        return {int(task_id): who for task_id, who in rows}


def user_ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {name: accounts.user_by_username(name).id for name in h.OFFICERS}


def test_of_parallel_claimers_exactly_one_wins_and_the_others_get_409(race_app: Flask, server: str) -> None:
    task_ids = h.start_probes(race_app, RACES)
    tokens = h.api_tokens(server)

    tally = h.claim_races(server, tokens, task_ids)

    assert tally.server_errors == 0, tally.bodies_of_failures[:3]
    assert tally.races_with_one_winner == RACES, tally.summary()
    assert tally.statuses == {200: RACES, 409: RACES * (len(tokens) - 1)}, tally.summary()
    assert set(claimed_by(race_app, task_ids).values()) <= set(user_ids(race_app).values())
    assert None not in claimed_by(race_app, task_ids).values()
    assert set(h.events_per_case(race_app, "task_claimed").values()) == {1}
    assert h.chain_problems(race_app) == []


def test_a_losing_claimer_is_told_in_indonesian_who_has_the_task(race_app: Flask, server: str) -> None:
    [task_id] = h.start_probes(race_app, 1)
    tokens = h.api_tokens(server)
    assert h.api_post(server, tokens["admin"], f"/tasks/{task_id}/claim").status == 200

    answer = h.api_post(server, tokens["admin2"], f"/tasks/{task_id}/claim")

    assert answer.status == 409
    assert "Tugas sudah diklaim oleh petugas lain." in answer.body


def test_of_parallel_completions_exactly_one_wins_and_the_case_advances_once(race_app: Flask, server: str) -> None:
    task_ids = h.start_probes(race_app, RACES)
    tokens = h.api_tokens(server)

    tally = h.completion_races(server, tokens, task_ids)

    assert tally.server_errors == 0, tally.bodies_of_failures[:3]
    assert tally.races_with_one_winner == RACES, tally.summary()
    assert tally.statuses == {200: RACES, 409: RACES * (len(tokens) - 1)}, tally.summary()
    completed = h.events_per_case(race_app, "task_completed")
    assert len(completed) == RACES and set(completed.values()) == {1}
    assert h.chain_problems(race_app) == []


def test_a_double_claim_by_one_officer_is_one_claim(race_app: Flask, server: str) -> None:
    task_ids = h.start_probes(race_app, 10)
    token = h.api_tokens(server)["admin2"]

    for task_id in task_ids:
        answers = h.race([lambda i=task_id: h.api_post(server, token, f"/tasks/{i}/claim")] * 2)
        assert sorted(a.status for a in answers) == [200, 200]

    assert set(h.events_per_case(race_app, "task_claimed").values()) == {1}
    assert set(claimed_by(race_app, task_ids).values()) == {user_ids(race_app)["admin2"]}


def test_a_double_release_releases_once_and_the_second_gets_409(race_app: Flask, server: str) -> None:
    task_ids = h.start_probes(race_app, 20)
    token = h.api_tokens(server)["admin"]
    for task_id in task_ids:
        assert h.api_post(server, token, f"/tasks/{task_id}/claim").status == 200

    tally = h.Tally()
    for task_id in task_ids:
        tally.add(h.race([lambda i=task_id: h.api_post(server, token, f"/tasks/{i}/release")] * 2))

    assert tally.statuses == {200: 20, 409: 20}, tally.summary()
    assert set(h.events_per_case(race_app, "task_released").values()) == {1}
    assert set(claimed_by(race_app, task_ids).values()) == {None}


def test_a_claim_racing_a_completion_leaves_one_winner_and_no_server_error(race_app: Flask, server: str) -> None:
    task_ids = h.start_probes(race_app, 40)
    tokens = h.api_tokens(server)

    tally = h.Tally()
    for task_id in task_ids:
        claim = lambda i=task_id: h.api_post(server, tokens["admin"], f"/tasks/{i}/claim")  # noqa: E731
        complete = lambda i=task_id: h.api_post(server, tokens["admin2"], f"/tasks/{i}/complete", {"decision": "ok"})  # noqa: E731
        tally.add(h.race([claim, complete]))

    assert tally.server_errors == 0, tally.bodies_of_failures[:3]
    assert tally.races_with_one_winner == 40, tally.summary()
    with race_app.app_context():
        rows = db.session.execute(select(HumanTask).where(HumanTask.id.in_(task_ids))).scalars().all()
        # Whoever won: a completed task was completed by the completer, an open one is held by the claimer.
        officers = user_ids(race_app)
        for row in rows:
            assert (row.status, row.claimed_by_id) in {
                ("completed", officers["admin2"]),
                ("open", officers["admin"]),
            }
    assert h.chain_problems(race_app) == []


def test_two_schedulers_and_an_officer_racing_on_due_timers_fire_each_once(race_app: Flask, server: str) -> None:
    task_ids = h.start_probes(race_app, 20)
    tokens = h.api_tokens(server)
    fired: list[int] = []
    failures: list[BaseException] = []

    def scheduler() -> h.Answer:
        # Each scheduler thread has its own app context, hence its own session and connection.
        try:
            with race_app.app_context():
                fired.append(timers.fire_due_timers())
        except BaseException as exc:  # noqa: BLE001  # asserted empty below
            failures.append(exc)
        return h.Answer(0, "")

    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        for task_id in task_ids:
            claim = lambda i=task_id: h.api_post(server, tokens["admin"], f"/tasks/{i}/claim")  # noqa: E731
            answers = h.race([scheduler, scheduler, claim])
            assert answers[2].status == 200, answers[2].body

    assert failures == []
    assert sum(fired) == 20
    after_wait = h.events_per_case(race_app, "step_completed", "after_wait")
    assert len(after_wait) == 20 and set(after_wait.values()) == {1}
    with race_app.app_context():
        waiting = (
            db.session.execute(
                select(ProcessInstance).where(
                    ProcessInstance.sop_key == h.PROBE_KEY, ProcessInstance.next_timer_at.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        assert waiting == []
    assert h.chain_problems(race_app) == []


def test_a_form_read_between_a_completion_and_its_inbox_row_answers_409(race_app: Flask) -> None:
    [task_id] = h.start_probes(race_app, 1)
    with race_app.app_context():
        officer = accounts.user_by_username("admin")
        cases.complete_task(task_id, officer, {"decision": "ok"})
        # What a reader sees mid-race: the inbox row read before the completion, the case state after it.
        task = db.session.get_one(HumanTask, task_id)
        task.status = "open"

        with pytest.raises(Conflict, match="Tugas ini sudah diselesaikan"):
            queries.task_for_form(task_id, officer)


def add_expiring_certificates(app: Flask, task_ids: list[int]) -> None:
    """A certificate of the applicant on each probe case, expiring in a week (a reminder is due)."""
    with app.app_context():
        applicant = accounts.user_by_username("pemohon")
        for task_id in task_ids:
            case_id = db.session.get_one(HumanTask, task_id).instance_id
            db.session.add(
                Certificate(
                    serial=f"race-{task_id}",
                    instance_id=case_id,
                    user_id=applicant.id,
                    subject="CN=Budi Santoso",
                    not_before=utcnow() - timedelta(days=700),
                    not_after=utcnow() + timedelta(days=7),
                    certificate_pem="-",
                    chain_pem="-",
                )
            )
        db.session.commit()


def test_two_reminder_schedulers_and_an_officer_racing_send_each_reminder_once(race_app: Flask, server: str) -> None:
    task_ids = h.start_probes(race_app, 20)
    tokens = h.api_tokens(server)
    sent: list[int] = []
    failures: list[BaseException] = []

    def scheduler() -> h.Answer:
        try:
            with race_app.app_context():
                sent.append(reminders.send_expiry_reminders())
        except BaseException as exc:  # noqa: BLE001  # asserted empty below
            failures.append(exc)
        return h.Answer(0, "")

    for task_id in task_ids:
        # One reminder falls due per race, on the case whose task the officer claims at the same moment.
        add_expiring_certificates(race_app, [task_id])
        claim = lambda i=task_id: h.api_post(server, tokens["admin"], f"/tasks/{i}/claim")  # noqa: E731
        answers = h.race([scheduler, scheduler, claim])
        assert answers[2].status == 200, answers[2].body[:300]

    assert failures == []
    assert sum(sent) == 20
    with race_app.app_context():
        mails = db.session.execute(select(OutboxMail).where(OutboxMail.template == "certificate_expiring")).scalars()
        assert len(mails.all()) == 20
    assert set(h.events_per_case(race_app, "expiry_reminder_sent").values()) == {1}
    assert h.chain_problems(race_app) == []


def test_a_locked_sqlite_database_answers_503_in_indonesian_not_500(tmp_path: Path, psre_template: Path) -> None:
    if DATABASE_URL:
        pytest.skip("SQLite's database-wide write lock")
    app = build_app(tmp_path, psre_template, SQLITE_BUSY_TIMEOUT=0.2)
    with h.probe_registered():
        h.deploy_probe_and_officers(app)
        [task_id] = h.start_probes(app, 1)
        holder_ready, release = threading.Event(), threading.Event()

        def hold_the_write_lock() -> None:
            with app.app_context():
                connection = db.engine.raw_connection()
                connection.cursor().execute("BEGIN IMMEDIATE")
                holder_ready.set()
                release.wait(60)
                connection.rollback()
                connection.close()

        with h.live_server(app) as base:
            token = h.api_tokens(base)["admin"]
            holder = threading.Thread(target=hold_the_write_lock)
            holder.start()
            try:
                assert holder_ready.wait(60)
                answer = h.api_post(base, token, f"/tasks/{task_id}/claim")
            finally:
                release.set()
                holder.join()
            retried = h.api_post(base, token, f"/tasks/{task_id}/claim")

    assert answer.status == 503, answer.body
    assert "coba lagi" in answer.body
    assert retried.status == 200, retried.body
