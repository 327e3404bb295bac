"""Concurrent appends on PostgreSQL: different streams do not wait on one row, and never share a number."""

from __future__ import annotations

import threading
import time

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from engine.models import AuditEvent, db
from engine.services import audit, audit_verify


def test_concurrent_appends_keep_every_chain_and_the_global_sequence_whole(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: appends cannot run concurrently there")
    streams = [f"uji:{n}" for n in range(6)] + ["system", "system"]
    barrier = threading.Barrier(len(streams))
    errors: list[BaseException] = []

    def append_many(stream: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                for n in range(15):
                    audit.append(stream, "uji", "penguji", {"n": n})
                    db.session.commit()
            except BaseException as exc:  # noqa: BLE001  # reported to the test thread below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=append_many, args=(s,)) for s in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        total, distinct = db.session.execute(
            select(func.count(), func.count(func.distinct(AuditEvent.gseq))).where(AuditEvent.kind == "uji")
        ).one()
        assert total == distinct == 15 * len(streams)
        assert audit_verify.verify() == []
        assert audit.REGISTRY in {e.stream for e in db.session.execute(select(AuditEvent)).scalars()}


def test_an_append_that_waited_for_a_head_numbers_its_event_after_the_holder(app: Flask) -> None:
    """The global numbers of an append are drawn once it holds the head (lock and numbers are one statement on
    PostgreSQL): an append that waited behind another transaction's numbers its event above every number that
    transaction used on the stream, even numbers it drew after the waiter arrived."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: an append never waits for a head there")
    stream, other = "uji:antre", "uji:lain"
    with app.app_context():
        audit.append(stream, "uji", "penguji", {"n": 0})
        db.session.commit()
    errors: list[BaseException] = []

    def waiter() -> None:
        with app.app_context():
            try:
                audit.append(stream, "uji", "penunggu", {"n": 2})
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001  # reported to the test thread below
                errors.append(exc)
            finally:
                db.session.remove()

    with app.app_context():
        audit.append(stream, "uji", "pemegang", {"n": 1})  # holds the head until it commits
        thread = threading.Thread(target=waiter)
        thread.start()
        with db.engine.connect() as watch:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                waiting = watch.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one()
                if waiting:
                    break
                watch.rollback()
                time.sleep(0.02)
            assert waiting, "the second append did not wait for the head"
        audit.append(other, "uji", "pemegang", {"n": 1})  # another head: a fresh block of numbers
        audit.append(stream, "uji", "pemegang", {"n": 1})  # numbered from that later block
        db.session.commit()
        thread.join(10)
        assert errors == []
        numbers = db.session.execute(
            select(AuditEvent.gseq).where(AuditEvent.stream == stream).order_by(AuditEvent.seq)
        ).scalars().all()
        assert len(numbers) == 4 and numbers == sorted(numbers)
        assert audit_verify.verify() == []
