"""E-mail through a real local SMTP server (aiosmtpd), and the outbox when SMTP is down."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any, Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.models import OutboxMail, db
from tests.sops.builders import RECOMMEND
from tests.sops.test_issuance_ams import recommend, start_and_register


class Collector:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"


def subject_of(envelope: Any) -> str:
    """The decoded subject of a received message."""
    return str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"])))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield collector, port
    controller.stop()


def decline_application(api: Any) -> int:
    _pemohon, case_id = start_and_register(api)
    response = recommend(api, case_id, {**RECOMMEND, "decision": "decline", "notes": "Belum diperlukan."})
    assert response.status_code == 200
    return case_id


def test_notification_is_delivered_by_smtp_in_indonesian(api: Any, app: Any, smtp_server: tuple[Collector, int]) -> None:
    collector, port = smtp_server
    app.config["SERTEL"].update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    case_id = decline_application(api)
    received = {subject_of(envelope): envelope for envelope in collector.messages}
    assert set(received) == {
        f"Permohonan Sertifikat Elektronik #{case_id} diterima",
        f"Permohonan Sertifikat Elektronik #{case_id} tidak direkomendasikan",
    }
    envelope = received[f"Permohonan Sertifikat Elektronik #{case_id} tidak direkomendasikan"]
    assert envelope.rcpt_tos == ["pemohon@pekalongankota.go.id"]
    assert "Belum diperlukan." in message_from_bytes(envelope.content).get_payload(decode=True).decode("utf-8")
    with app.app_context():
        assert all(mail.sent_at is not None for mail in db.session.execute(select(OutboxMail)).scalars())


def test_mail_stays_in_the_outbox_when_smtp_is_unreachable(api: Any, app: Any) -> None:
    app.config["SERTEL"].update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())
    decline_application(api)
    with app.app_context():
        mail = db.session.execute(select(OutboxMail).where(OutboxMail.template == "recommendation_declined")).scalar_one()
        assert mail.sent_at is None
        assert "tidak direkomendasikan" in mail.subject


def test_admin_reads_the_outbox_in_the_app_and_a_pemohon_cannot(api: Any, app: Any, client: Any) -> None:
    decline_application(api)
    from tests.web_login import login  # noqa: PLC0415

    login(client, "pemohon")
    assert client.get("/admin/surel").status_code == 403
    login(client, "admin")
    page = client.get("/admin/surel").get_data(as_text=True)
    assert "tidak direkomendasikan" in page
    assert "pemohon@pekalongankota.go.id" in page
