"""Concurrent appends on PostgreSQL: different streams do not wait on one row, and never share a number."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import func, select

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
