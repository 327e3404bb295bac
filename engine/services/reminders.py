"""Certificate expiry reminders: once per certificate, safe when two schedulers run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from engine.models import Certificate, User, db
from engine.models.base import utcnow
from engine.services import audit, mail, transactions
from engine.services.runtime_context import settings


def send_expiry_reminders(now: datetime | None = None) -> int:
    """Remind owners whose active certificate expires within EXPIRY_REMINDER_DAYS; return how many."""
    now = now or utcnow()
    horizon = now + timedelta(days=int(settings()["EXPIRY_REMINDER_DAYS"]))
    candidates = (
        db.session.execute(
            select(Certificate.id).where(
                Certificate.status == "active",
                Certificate.expiry_reminded_at.is_(None),
                Certificate.not_after <= horizon,
                Certificate.not_after > now,
            )
        )
        .scalars()
        .all()
    )
    sent = 0
    for cert_id in candidates:
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
