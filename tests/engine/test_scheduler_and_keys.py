"""The scheduler's jobs live in the database (two schedulers share them), and KEK rotation from the CLI."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text

from engine.app import create_app
from engine.cli import audit_verify, keys_rotate
from engine.jobs import build_scheduler
from datetime import timedelta

from sqlalchemy import func, select

from engine import jobs
from engine.models import ApiToken, LoginAttempt, User, WebSession, db
from engine.models.base import utcnow


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
            "erase_expired_documents",
            "expiry_reminders",
            "poll_timers",
            "prune_security_rows",
            "publish_crl",
            "reconcile_psre",
            "refresh_dashboard",
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


def test_the_prune_job_deletes_expired_sessions_tokens_and_old_login_failures(app: Flask) -> None:
    now = utcnow()
    with app.app_context():
        user_id = db.session.execute(select(User.id).where(User.username == "pemohon")).scalar_one()
        db.session.add_all([
            WebSession(id_hash="a" * 64, user_id=user_id, created_at=now, expires_at=now - timedelta(minutes=1)),
            WebSession(id_hash="b" * 64, user_id=user_id, created_at=now, expires_at=now + timedelta(hours=1)),
            ApiToken(token_hash="c" * 64, user_id=user_id, created_at=now, expires_at=now - timedelta(minutes=1)),
            ApiToken(token_hash="d" * 64, user_id=user_id, created_at=now, expires_at=now + timedelta(hours=1), revoked_at=now),
            ApiToken(token_hash="e" * 64, user_id=user_id, created_at=now, expires_at=now + timedelta(hours=1)),
            LoginAttempt(at=now - timedelta(days=1), username="pemohon", source="127.0.0.1"),
            LoginAttempt(at=now, username="pemohon", source="127.0.0.1"),
        ])
        db.session.commit()
    build_scheduler(app, 30, blocking=False)  # the job runs in the app the scheduler was built for
    jobs.prune_security_rows()
    with app.app_context():
        assert db.session.execute(select(WebSession.id_hash)).scalars().all() == ["b" * 64]
        assert db.session.execute(select(ApiToken.token_hash)).scalars().all() == ["e" * 64]
        assert db.session.execute(select(func.count()).select_from(LoginAttempt)).scalar() == 1
