"""Retention of sent mails with time moved: past MAIL_RETENTION_DAYS a sent mail's subject and body are erased (the
row, its times and the SHA-256 of the erased content stay, the recipient is masked), one `mails_erased` event on the
system stream says which, the outbox page shows them as erased, unsent mails are never erased, and the audit log
still verifies."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine import jobs
from engine.cli import audit_verify, retention_run
from engine.models import AuditEvent, OutboxMail, db
from engine.services import retention
from engine.services.audit_verify import verify as verify_log
from tests.engine.test_mail import decline_application
from tests.web_login import login

SENT = datetime(2027, 1, 10, 8, 0, 0)


def _mails(app: Flask) -> list[OutboxMail]:
    with app.app_context():
        mails = list(db.session.execute(select(OutboxMail).order_by(OutboxMail.id)).scalars())
        db.session.expunge_all()
        return mails


def _mark_sent(app: Flask, sent: dict[int, datetime]) -> None:
    """As an SMTP delivery would: these mails went out at these times."""
    with app.app_context():
        for mail_id, moment in sent.items():
            mail = db.session.get(OutboxMail, mail_id)
            assert mail is not None
            mail.sent_at = moment
        db.session.commit()


def _mail_events(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.kind == "mails_erased")).scalars()
        return [{"stream": e.stream, **json.loads(e.payload_json)} for e in rows]


def test_sent_mails_lose_their_content_after_the_period_and_unsent_ones_never(app: Flask, api: Any) -> None:
    case_id = decline_application(api)
    decline_application(api)
    mails = _mails(app)
    assert len(mails) >= 3, [m.template for m in mails]
    old, recent, unsent = mails[0], mails[1], mails[2]
    _mark_sent(app, {old.id: SENT, recent.id: SENT + timedelta(days=200)})
    with app.app_context():
        assert retention.mail_period() == 365
        expected_hash = retention.mail_content_sha256(old)

    # A day before the period ends nothing goes; at its end exactly the old sent mail.
    with app.app_context():
        assert retention.erase_expired_mails(SENT + timedelta(days=364, hours=23)) == []
        report = retention.erase_expired(SENT + timedelta(days=365))
    assert [(m.mail_id, m.content_sha256) for m in report.mails] == [(old.id, expected_hash)]
    assert report.as_dict()["mails"][0]["mail_id"] == old.id
    after = {m.id: m for m in _mails(app)}
    erased = after[old.id]
    assert erased.subject == "" and erased.body == "" and erased.erased_at == SENT + timedelta(days=365)
    assert erased.content_sha256 == expected_hash and erased.sent_at == SENT
    assert erased.recipient != old.recipient and erased.recipient.endswith(old.recipient.split("@")[1])
    assert erased.instance_id == old.instance_id and erased.template == old.template  # the row stays
    for kept in (recent, unsent):
        assert (after[kept.id].subject, after[kept.id].body) == (kept.subject, kept.body)
        assert after[kept.id].erased_at is None
    events = _mail_events(app)
    assert len(events) == 1 and events[0]["stream"] == "system"
    assert [(m["mail_id"], m["content_sha256"]) for m in events[0]["mails"]] == [(old.id, expected_hash)]
    assert events[0]["retention_days"] == 365 and events[0]["mails"][0]["case_id"] == old.instance_id

    # Ten years on: the other sent mail goes, the unsent one stays as it was; a second run erases nothing more.
    with app.app_context():
        later = retention.erase_expired_mails(SENT + timedelta(days=3650))
        assert [m.mail_id for m in later] == [recent.id]
        assert retention.erase_expired_mails(SENT + timedelta(days=3650)) == []
        assert verify_log() == []
    unsent_after = {m.id: m for m in _mails(app)}[unsent.id]
    assert unsent_after.erased_at is None and unsent_after.body == unsent.body and unsent_after.body
    assert len(_mail_events(app)) == 2
    assert app.test_cli_runner().invoke(audit_verify).exit_code == 0

    # The outbox page shows the erased mails as such (their hash, not their text), the others as before.
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/surel").get_data(as_text=True)
    assert page.count("Isi dihapus") == 2 and expected_hash in page
    assert unsent.subject in page and "365 hari" in page
    assert f"#{case_id}" in page


def test_the_cli_and_the_job_erase_mails_with_the_period_from_settings(app: Flask, api: Any) -> None:
    decline_application(api)
    first = _mails(app)[0]
    _mark_sent(app, {first.id: SENT})
    app.config["SERTEL"]["MAIL_RETENTION_DAYS"] = 30
    moment = SENT + timedelta(days=31)
    result = app.test_cli_runner().invoke(retention_run, ["--as-of", moment.isoformat()])
    assert result.exit_code == 0, result.output
    assert "Isi surel terkirim dihapus: 1" in result.output and f"surel {first.id} " in result.output
    jobs._app = app
    assert jobs.erase_expired_documents()["mails"] == []  # already erased; the others were never sent
