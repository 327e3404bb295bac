"""E-mail from Indonesian Jinja templates: always kept in the outbox, sent by SMTP when configured."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from engine.models import OutboxMail, db
from engine.models.base import utcnow
from engine.services.errors import ServiceError
from engine.services.masking import mask_text
from engine.services.runtime_context import settings
from engine.vocabulary import wib

log = logging.getLogger(__name__)
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates" / "mail"),
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)
# Times in mails are read in WIB, like every time a person reads.
_templates.filters["wib"] = wib


def render(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render a mail template into (subject, body); its first line is 'Subjek: …'."""
    try:
        text = _templates.get_template(f"{template}.txt").render(**context)
    except TemplateNotFound:
        raise ServiceError(f"templat surel '{template}' tidak ada") from None
    # A mail leaves the RA's systems: a NIK or NIP in it is always masked (docs/privacy.md).
    first, _, body = mask_text(text).partition("\n")
    return first.removeprefix("Subjek:").strip(), body.lstrip("\n")


def send(template: str, recipient: str, context: dict[str, Any], instance_id: int | None = None) -> OutboxMail:
    """Queue a mail in the outbox and deliver it by SMTP if a server is configured."""
    subject, body = render(template, context)
    mail = OutboxMail(instance_id=instance_id, recipient=recipient, subject=subject, body=body, template=template)
    db.session.add(mail)
    db.session.flush()
    config = settings()
    if config["SMTP_HOST"]:
        message = EmailMessage()
        message["From"] = config["MAIL_FROM"]
        message["To"] = recipient
        message["Subject"] = subject
        message.set_content(body)
        try:
            with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=10) as smtp:
                smtp.send_message(message)
            mail.sent_at = utcnow()
        except (OSError, smtplib.SMTPException) as exc:
            # Kept unsent in the outbox; an admin can see it there.
            log.warning("SMTP delivery to %s failed: %s", recipient, exc)
    return mail
