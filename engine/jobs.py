"""APScheduler jobs of `sertel scheduler`: run as their own process, never inside web workers."""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError

from engine.services import (
    accounts,
    archive_refresh,
    audit_anchor,
    dashboard,
    reconcile,
    reminders,
    retention,
    timers,
)

log = logging.getLogger(__name__)
_app: Flask | None = None


def poll_timers() -> int:
    """Fire the BPMN timers that fell due (idempotent: a case is advanced once per due timer)."""
    assert _app is not None
    with _app.app_context():
        fired = timers.fire_due_timers()
    if fired:
        log.info("fired timers of %d case(s)", fired)
    return fired


def send_expiry_reminders() -> int:
    """Remind owners of certificates about to expire (each certificate once)."""
    assert _app is not None
    with _app.app_context():
        return reminders.send_expiry_reminders()


def reconcile_psre() -> int:
    """Reconcile the RA's certificates with the PSrE's books; return how many differences wait for the Admin."""
    assert _app is not None
    with _app.app_context():
        report = reconcile.reconcile()
    if report.repaired or report.open_total:
        log.warning("reconciliation: %d repaired, %d open", len(report.repaired), report.open_total)
    return report.open_total


def anchor_audit_log() -> int:
    """Anchor the event log's heads that moved (a timestamp and the RA seal); return how many heads."""
    assert _app is not None
    with _app.app_context():
        event = audit_anchor.create_anchor("penjadwal")
        return len(audit_anchor.anchored_heads(event)) if event else 0


def renew_long_term_evidence() -> int:
    """Renew service certificates due, then archive timestamps due (in that order: new stamps use the new TSA)."""
    assert _app is not None
    with _app.app_context():
        archive_refresh.renew_service_certificates()
        report = archive_refresh.refresh_archive()
    if report.failed:
        log.warning("archive refresh: %d document(s) failed", len(report.failed))
    return len(report.refreshed)


def publish_crl() -> int:
    """Publish a fresh CRL of the issuing CA well before the stored one's nextUpdate; return its size."""
    assert _app is not None
    with _app.app_context():
        adapter = _app.extensions["sertel.psre"]
        # A remote PSrE publishes its own CRLs; only the embedded one is ours to sign.
        return len(adapter.publish_crl()) if hasattr(adapter, "publish_crl") else 0


def prune_security_rows() -> int:
    """Delete expired sessions and API tokens and login failures older than the throttle window."""
    assert _app is not None
    with _app.app_context():
        accounts.prune_security_rows()
    return 0


def refresh_dashboard() -> int:
    """Compute the dashboard's case counts (the page shows the newest computation)."""
    assert _app is not None
    with _app.app_context():
        dashboard.refresh()
    return 0


def erase_expired_documents() -> dict[str, object]:
    """Erase the content of documents and sent mails past their retention period; return (and log) what was erased."""
    assert _app is not None
    with _app.app_context():
        return retention.erase_expired().as_dict()


# Periodic jobs whose interval is a setting: (job function and id, interval unit, setting name).
PERIODIC_JOBS = (
    ("reconcile_psre", "minutes", "RECONCILE_INTERVAL_MINUTES"),
    ("anchor_audit_log", "minutes", "AUDIT_ANCHOR_INTERVAL_MINUTES"),
    ("renew_long_term_evidence", "hours", "ARCHIVE_REFRESH_INTERVAL_HOURS"),
    ("publish_crl", "minutes", "CRL_PUBLISH_INTERVAL_MINUTES"),
    ("prune_security_rows", "minutes", "SECURITY_PRUNE_INTERVAL_MINUTES"),
    ("refresh_dashboard", "minutes", "DASHBOARD_REFRESH_MINUTES"),
    ("erase_expired_documents", "hours", "RETENTION_INTERVAL_HOURS"),
)


def _create_job_table(store: SQLAlchemyJobStore) -> None:
    """Create the shared job table now: two schedulers starting together on a new database race to create it."""
    try:
        store.jobs_t.create(store.engine, checkfirst=True)
    except DBAPIError:
        # The other scheduler created it between our check and our CREATE (PostgreSQL: DuplicateTable or a
        # unique violation on pg_type); only a table that still does not exist is an error.
        if not inspect(store.engine).has_table(store.jobs_t.name):
            raise


def build_scheduler(app: Flask, interval_seconds: int, blocking: bool = True) -> BaseScheduler:
    """A scheduler whose jobs live in the app's database, so two schedulers share one job list."""
    global _app
    _app = app
    kind = BlockingScheduler if blocking else BackgroundScheduler
    store = SQLAlchemyJobStore(url=app.config["SQLALCHEMY_DATABASE_URI"], tablename="scheduler_jobs")
    _create_job_table(store)
    scheduler = kind(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": interval_seconds},
    )
    options: dict[str, Any] = {"id": "poll_timers", "replace_existing": True, "seconds": interval_seconds}
    scheduler.add_job("engine.jobs:poll_timers", "interval", **options)
    scheduler.add_job(
        "engine.jobs:send_expiry_reminders", "interval", id="expiry_reminders", replace_existing=True, hours=6
    )
    config = app.config["SERTEL"]
    for job_id, unit, setting in PERIODIC_JOBS:
        every = {unit: int(config[setting])}
        scheduler.add_job(f"engine.jobs:{job_id}", "interval", id=job_id, replace_existing=True, **every)
    return scheduler
