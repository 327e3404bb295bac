"""The scheduler's jobs live in the database (two schedulers share them), and KEK rotation from the CLI."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text

from engine.app import create_app
from engine.cli import audit_verify, keys_rotate
from engine.jobs import build_scheduler
from engine.models import db


def stored_job_ids(app: Flask) -> list[str]:
    with app.app_context():
        return sorted(db.session.execute(text("SELECT id FROM scheduler_jobs")).scalars())


def test_two_schedulers_share_one_job_list_in_the_database(app: Flask) -> None:
    first = build_scheduler(app, 30, blocking=False)
    first.start(paused=True)
    second = build_scheduler(app, 30, blocking=False)
    second.start(paused=True)
    try:
        assert stored_job_ids(app) == [
            "anchor_audit_log",
            "expiry_reminders",
            "poll_timers",
            "publish_crl",
            "reconcile_psre",
            "renew_long_term_evidence",
        ]
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)


def test_kek_rotation_rewraps_keys_and_the_old_kek_can_then_be_dropped(app: Flask, tmp_path: Any) -> None:
    new_kek = Fernet.generate_key().decode()
    rotating = create_app({**settings_of(app), "KEK_KEYS": f"{new_kek},{app.config['SERTEL']['KEK_KEYS']}"})
    result = rotating.test_cli_runner().invoke(keys_rotate)
    assert result.exit_code == 0, result.output
    assert "kunci dibungkus ulang" in result.output
    only_new = create_app({**settings_of(app), "KEK_KEYS": new_kek})
    # The CRL is signed with the issuing CA key: it can only be unwrapped with the new KEK now.
    assert only_new.extensions["sertel.psre"].publish_crl()
    # The event log's MAC keys were archived under the new KEK: old events still verify without the old KEK.
    assert "kunci MAC log peristiwa diarsipkan" in result.output
    verified = only_new.test_cli_runner().invoke(audit_verify)
    assert verified.exit_code == 0 and "Log peristiwa utuh." in verified.output, verified.output


def settings_of(app: Flask) -> dict[str, Any]:
    return {k: v for k, v in app.config["SERTEL"].items() if k in ("ENV", "INSTANCE_DIR", "DATABASE_URL")}
