"""The demo verifikators' eSign certificates: issued by the PSrE under a demo passphrase, kept in the inventory.

The separation-of-duties rules require a verifikator to hold a certificate of their own; the demo data
gives one to each demo verifikator so the README's walk-through works and they can sign decision letters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from engine.models import Certificate, User, db
from engine.services import audit
from engine.services.duties import has_active_certificate
from engine.services.runtime_context import psre
from pki.psre import SubjectInfo

# Stated in the README: the passphrase that unlocks every demo verifikator's server-held eSign key.
DEMO_ESIGN_PASSPHRASE = "Verifikator-Demo-2026"


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def ensure_esign_certificate(user: User, position: str) -> bool:
    """Give `user` an eSign certificate with a server-held key unless they hold an active one; True when issued."""
    if has_active_certificate(user) or not user.nik:
        return False
    adapter = psre()
    subject = SubjectInfo(
        name=user.full_name,
        nik=user.nik,
        email=user.email,
        agency=user.agency.name if user.agency else "",
        position=position,
        nip=user.nip,
    )
    # Fixed idempotency keys: a demo load repeated against the same PSrE gets the same certificate back.
    subject_id = adapter.register_subject(subject, f"demo/{user.username}/subject")
    issued = adapter.issue_with_server_key(subject_id, DEMO_ESIGN_PASSPHRASE, f"demo/{user.username}/esign")
    known = db.session.execute(select(Certificate).where(Certificate.serial == issued.serial_hex)).scalar_one_or_none()
    if known is not None:
        return False
    db.session.add(
        Certificate(
            serial=issued.serial_hex,
            subject_id=issued.subject_id,
            instance_id=None,
            user_id=user.id,
            subject=user.full_name,
            status="active",
            kind="esign",
            not_before=_naive_utc(issued.not_before),
            not_after=_naive_utc(issued.not_after),
            certificate_pem=issued.certificate_pem,
            chain_pem=issued.chain_pem,
        )
    )
    audit.append(
        "system", "certificate_recorded", "demo", {"serial": issued.serial_hex, "owner": user.username, "esign": True}
    )
    return True
