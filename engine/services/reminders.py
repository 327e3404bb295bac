"""Certificate expiry reminders: once per certificate, safe when two schedulers run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from engine import runtime, sandbox
from engine.models import Certificate, ProcessDeployment, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import audit, mail, transactions
from engine.services.runtime_context import settings

REMINDER_SETTING = "expiry_reminder_days"


def deployment_setting(spec_json: str | None, name: str) -> Any:
    """`setting(name)` as a diagram reads it: the deployment's property, else the settings default."""
    properties = runtime.definition_properties(spec_json) if spec_json else {}
    return sandbox.setting_value(name, settings(), properties)


def reminder_days() -> dict[int | None, int]:
    """Days before expiry to remind, by deployment id (None: certificates issued outside any case)."""
    days: dict[int | None, int] = {None: int(deployment_setting(None, REMINDER_SETTING))}
    for deployment_id, spec_json in db.session.execute(select(ProcessDeployment.id, ProcessDeployment.spec_json)):
        days[deployment_id] = int(deployment_setting(spec_json, REMINDER_SETTING))
    return days


def send_expiry_reminders(now: datetime | None = None) -> int:
    """Remind owners whose active certificate expires within the reminder window; return how many.

    The window is `setting('expiry_reminder_days')` of the deployment whose case issued the certificate (a
    diagram property `expiry_reminder_days`), else the EXPIRY_REMINDER_DAYS setting.
    """
    now = now or utcnow()
    days = reminder_days()
    horizon = now + timedelta(days=max(days.values()))
    candidates = db.session.execute(
        select(Certificate.id, Certificate.not_after, ProcessInstance.deployment_id)
        .outerjoin(ProcessInstance, ProcessInstance.id == Certificate.instance_id)
        .where(
            Certificate.status == "active",
            Certificate.expiry_reminded_at.is_(None),
            Certificate.not_after <= horizon,
            Certificate.not_after > now,
        )
    ).all()
    sent = 0
    for cert_id, not_after, deployment_id in candidates:
        if not_after > now + timedelta(days=days.get(deployment_id, days[None])):
            continue
        try:
            sent += _remind(cert_id, now)
        except Exception as exc:
            db.session.rollback()
            if transactions.race_error(exc) is None:
                raise
            # A concurrent writer won the row or the audit stream; the next run decides this certificate.
    return sent


def _remind(cert_id: int, now: datetime) -> int:
    """Send one certificate's reminder unless another scheduler has; return 1 if this call sent it."""
    transactions.begin_write()
    # Claim the reminder with a conditional UPDATE: only one scheduler's UPDATE matches the row.
    # An UPDATE always yields a CursorResult (the one with `rowcount`); Session.execute is typed as Result.
    claimed = cast(
        CursorResult[Any],
        db.session.execute(
            update(Certificate)
            .where(Certificate.id == cert_id, Certificate.expiry_reminded_at.is_(None))
            .values(expiry_reminded_at=now)
        ),
    ).rowcount
    cert = db.session.get(Certificate, cert_id) if claimed else None
    owner = db.session.get(User, cert.user_id) if cert else None
    if cert is None or owner is None:
        db.session.rollback()
        return 0
    link = f"{settings()['BASE_URL']}/sertifikat/{cert.serial}/perbarui"
    context = {
        "owner": owner.full_name,
        "serial": cert.serial,
        "not_after": cert.not_after.strftime("%d-%m-%Y"),
        "link": link,
    }
    mail.send("certificate_expiring", owner.email, context, cert.instance_id)
    stream = audit.case_stream(cert.instance_id) if cert.instance_id else "system"
    audit.append(stream, "expiry_reminder_sent", "penjadwal", {"serial": cert.serial}, cert.instance_id)
    db.session.commit()
    return 1
