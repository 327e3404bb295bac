"""Delivering certificates to the people allowed to have them, with the delivery logged."""

from __future__ import annotations

from engine.models import Certificate, User, db
from engine.services import audit, queries


def download_certificate(serial: str, user: User) -> Certificate:
    """Return a certificate the user may download and log the download on its case."""
    cert = queries.certificate_for(serial, user)
    if cert.instance_id:
        audit.append(
            audit.case_stream(cert.instance_id),
            "certificate_downloaded",
            user.username,
            {"serial": serial},
            cert.instance_id,
        )
        db.session.commit()
    return cert
