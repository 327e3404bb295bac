"""Certificate expiry reminders: sent once, near expiry, with the renewal link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import delete, select

from engine.config import ROOT
from engine.models import Certificate, OutboxMail, db
from engine.services import deploy, reminders
from tests.sops.builders import APPROVE, csr_pem
from tests.sops.test_issuance_ams import only_task, recommend, start_and_register, verify
from tests.web_login import csrf_of, login

# Certificates issued through a case (the demo verifikators' own eSign certificates have none).
CASE_CERTIFICATES = select(Certificate).where(Certificate.instance_id.is_not(None))


def issue_certificate(api: Any) -> None:
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    verify(api, case_id, APPROVE)
    activation = only_task(pemohon, case_id, "activation")
    csr, _key = csr_pem()
    assert pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr}).status_code == 200


def drop_demo_certificates() -> None:
    """Leave only certificates issued through cases, so that counts of reminders are about them."""
    db.session.execute(delete(Certificate).where(Certificate.instance_id.is_(None)))
    db.session.commit()


def test_expiry_reminder_is_sent_once_within_the_window(api: Any, app: Any) -> None:
    issue_certificate(api)
    with app.app_context():
        drop_demo_certificates()
        cert = db.session.execute(CASE_CERTIFICATES).scalar_one()
        assert reminders.send_expiry_reminders() == 0  # two years away: nothing yet
        with time_machine.travel(cert.not_after - timedelta(days=10), tick=False):
            assert reminders.send_expiry_reminders() == 1
            assert reminders.send_expiry_reminders() == 0
        mails = db.session.execute(select(OutboxMail).where(OutboxMail.template == "certificate_expiring")).scalars().all()
        assert len(mails) == 1
        assert f"/sertifikat/{cert.serial}/perbarui" in mails[0].body
        assert mails[0].recipient == "pemohon@pekalongankota.go.id"


def test_revoked_or_expired_certificates_get_no_reminder(api: Any, app: Any) -> None:
    issue_certificate(api)
    with app.app_context():
        drop_demo_certificates()
        cert = db.session.execute(CASE_CERTIFICATES).scalar_one()
        cert.status = "revoked"
        db.session.commit()
        with time_machine.travel(cert.not_after - timedelta(days=10), tick=False):
            assert reminders.send_expiry_reminders() == 0
        cert.status = "active"
        db.session.commit()
        with time_machine.travel(cert.not_after + timedelta(days=1), tick=False):
            assert reminders.send_expiry_reminders() == 0


def test_owner_accepting_the_reminder_starts_a_renewal_of_that_certificate(api: Any, app: Any, client: Any) -> None:
    issue_certificate(api)
    with app.app_context():
        serial = db.session.execute(CASE_CERTIFICATES).scalar_one().serial
    login(client, "pemohon2")
    assert client.get(f"/sertifikat/{serial}/perbarui").status_code == 403  # not theirs
    login(client, "pemohon")
    page = client.get(f"/sertifikat/{serial}/perbarui")
    assert page.status_code == 200 and serial in page.get_data(as_text=True)
    response = client.post(f"/sertifikat/{serial}/perbarui", data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    case = api("pemohon").get(f"/cases/{case_id}").get_json()
    assert case["case"]["process_key"] == "renewal_rekey"
    assert case["data"]["certificate_serial"] == serial


def test_owner_lists_their_certificates_and_starts_a_revocation_from_one(api: Any, app: Any, client: Any) -> None:
    issue_certificate(api)
    with app.app_context():
        serial = db.session.execute(CASE_CERTIFICATES).scalar_one().serial
    login(client, "pemohon2")
    assert serial not in client.get("/sertifikat").get_data(as_text=True)
    login(client, "pemohon")
    page = client.get("/sertifikat").get_data(as_text=True)
    assert serial in page and "Aktif" in page and "Cabut (SOP 088.11)" in page
    token = csrf_of(page)
    assert client.post(f"/sertifikat/{serial}/ajukan/issuance_ams", data={"csrf_token": token}).status_code == 404
    response = client.post(f"/sertifikat/{serial}/ajukan/revocation", data={"csrf_token": token})
    assert response.status_code == 302 and "/tugas/" in response.headers["Location"]
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert serial in form


def test_a_diagram_property_widens_the_reminder_window_of_certificates_its_cases_issued(api: Any, app: Any) -> None:
    # The owner of 088.9 reminds 60 days ahead instead of the settings' 30: a property of the diagram.
    xml = (ROOT / "processes" / "issuance_ams.bpmn").read_text(encoding="utf-8").replace(
        '<sertel:form name="issuance_ams.start" />',
        '<sertel:form name="issuance_ams.start" /><sertel:properties>'
        '<sertel:property name="expiry_reminder_days" value="60" /></sertel:properties>',
        1,
    )
    with app.app_context():
        _deployment, created = deploy.deploy(xml, "issuance_ams", "admin")
        assert created
    issue_certificate(api)
    with app.app_context():
        drop_demo_certificates()
        cert = db.session.execute(CASE_CERTIFICATES).scalar_one()
        with time_machine.travel(cert.not_after - timedelta(days=61), tick=False):
            assert reminders.send_expiry_reminders() == 0
        with time_machine.travel(cert.not_after - timedelta(days=50), tick=False):
            assert reminders.send_expiry_reminders() == 1
