"""Certificate expiry reminders: once per certificate, safe when two schedulers run."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from engine.models import Certificate, User, db
from engine.models.base import utcnow
from engine.services import audit, mail
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
        if not claimed:
            db.session.rollback()
            continue
        cert = db.session.get(Certificate, cert_id)
        owner = db.session.get(User, cert.user_id) if cert else None
        if cert is None or owner is None:
            db.session.rollback()
            continue
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
        sent += 1
    return sent
