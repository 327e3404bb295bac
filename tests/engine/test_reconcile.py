"""The reconciliation of the RA's certificate records with the PSrE's books: rules, findings, CLI, page, job."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.cli import psre_reconcile
from engine.jobs import build_scheduler
from engine.models import AuditEvent, Certificate, ReconciliationFinding, User, db
from engine.services import audit_verify, reconcile
from pki.errors import WrongPassphrase
from pki.psre import IssuedCertificate, SubjectInfo
from tests.sops.builders import csr_pem
from tests.web_login import login

PASSPHRASE = "Batik-Pekalongan2025"
BUDI = SubjectInfo("Budi Santoso", "3375011507900001", "pemohon@pekalongankota.go.id", "Diskominfo", "Pranata")


def record(app: Flask, issued: IssuedCertificate, status: str = "active") -> None:
    """Put a certificate the PSrE issued into the RA's inventory, owned by the demo applicant."""
    with app.app_context():
        owner = db.session.execute(select(User).where(User.username == "pemohon")).scalar_one()
        db.session.add(
            Certificate(
                serial=issued.serial_hex,
                subject_id=issued.subject_id,
                user_id=owner.id,
                subject="Budi Santoso",
                status=status,
                not_before=issued.not_before.astimezone(UTC).replace(tzinfo=None),
                not_after=issued.not_after.astimezone(UTC).replace(tzinfo=None),
                certificate_pem=issued.certificate_pem,
                chain_pem=issued.chain_pem,
            )
        )
        db.session.commit()


def issue(app: Flask, key: str, server_key: bool = False) -> IssuedCertificate:
    psre = app.extensions["sertel.psre"]
    subject_id = psre.register_subject(BUDI, f"{key}/subject")
    if server_key:
        return psre.issue_with_server_key(subject_id, PASSPHRASE, key)  # type: ignore[no-any-return]
    return psre.issue_from_csr(subject_id, csr_pem()[0], key)  # type: ignore[no-any-return]


def run(app: Flask) -> reconcile.Report:
    with app.app_context():
        return reconcile.reconcile("test")


def ra_certificate(app: Flask, serial: str) -> tuple[str, bool]:
    with app.app_context():
        cert = db.session.execute(select(Certificate).where(Certificate.serial == serial)).scalar_one()
        return cert.status, cert.locked


def events(app: Flask) -> list[str]:
    with app.app_context():
        stream = select(AuditEvent.kind).where(AuditEvent.stream == reconcile.STREAM).order_by(AuditEvent.id)
        return list(db.session.execute(stream).scalars())


def test_agreeing_records_give_a_clean_report(app: Flask) -> None:
    demo = run(app).checked  # the demo verifikators' own certificates, recorded on both sides
    record(app, issue(app, "k1"))
    report = run(app)
    assert report.checked == demo + 1 and report.clean and events(app) == []


def test_certificate_revoked_at_the_psre_is_followed_by_the_ra_with_an_event(app: Flask) -> None:
    issued = issue(app, "k1")
    record(app, issued)
    app.extensions["sertel.psre"].revoke(issued.serial_hex, "keyCompromise", "psre-own-ra")
    report = run(app)
    assert [f.kind for f in report.repaired] == ["status_followed_psre"]
    assert ra_certificate(app, issued.serial_hex) == ("revoked", False)
    assert events(app) == ["reconciliation_repaired"]
    assert run(app).clean  # repaired once, then in agreement


def test_ra_never_silently_unrevokes_it_lists_the_difference_once_until_it_is_gone(app: Flask) -> None:
    issued = issue(app, "k1")
    record(app, issued, status="revoked")
    first, second = run(app), run(app)
    assert [f.kind for f in first.listed] == ["revoked_at_ra_only"] and second.listed == []
    assert first.open_total == second.open_total == 1
    assert ra_certificate(app, issued.serial_hex)[0] == "revoked"
    app.extensions["sertel.psre"].revoke(issued.serial_hex, "unspecified", "admin-fix")
    third = run(app)
    assert third.resolved == 1 and third.open_total == 0
    assert events(app) == ["reconciliation_open", "reconciliation_resolved"]


def test_certificate_the_ra_does_not_know_and_one_the_psre_does_not_know_are_listed(app: Flask) -> None:
    orphan = issue(app, "crash-orphan")
    revoked_orphan = issue(app, "revoked-orphan")
    app.extensions["sertel.psre"].revoke(revoked_orphan.serial_hex, "superseded", "retry")
    ghost = issue(app, "k-ghost")
    record(app, dataclass_with_serial(ghost, "abcdef0123"))
    report = run(app)
    kinds = {(f.kind, f.serial) for f in report.listed}
    assert kinds == {("unknown_at_ra", orphan.serial_hex), ("unknown_at_psre", "abcdef0123"), ("unknown_at_ra", ghost.serial_hex)}


def dataclass_with_serial(issued: IssuedCertificate, serial: str) -> IssuedCertificate:
    return IssuedCertificate(serial, issued.certificate_pem, issued.chain_pem, issued.not_before, issued.not_after, issued.subject_id)


def test_a_different_public_key_for_the_same_serial_is_listed(app: Flask) -> None:
    first, second = issue(app, "k1"), issue(app, "k2")
    record(app, IssuedCertificate(first.serial_hex, second.certificate_pem, "", first.not_before, first.not_after, ""))
    record(app, second)
    report = run(app)
    assert [(f.kind, f.serial) for f in report.listed] == [("key_mismatch", first.serial_hex)]


def lock(app: Flask, subject_id: str) -> None:
    psre = app.extensions["sertel.psre"]
    for _ in range(psre.keystore.max_attempts):
        with pytest.raises(WrongPassphrase):
            psre.keystore.unlock(subject_id, "salah-12345")


def test_locked_esign_key_shows_as_terkunci_in_sertifikat_saya(app: Flask, client: Any) -> None:
    issued = issue(app, "esign", server_key=True)
    record(app, issued)
    lock(app, issued.subject_id)
    report = run(app)
    assert [f.kind for f in report.repaired] == ["lock_followed_psre"]
    assert ra_certificate(app, issued.serial_hex) == ("active", True)
    login(client, "pemohon")
    assert "Terkunci" in client.get("/sertifikat").get_data(as_text=True)


def test_cli_lists_open_differences_and_exits_1(app: Flask) -> None:
    issued = issue(app, "k1")
    record(app, issued, status="revoked")
    result = app.test_cli_runner().invoke(psre_reconcile)
    assert result.exit_code == 1
    assert issued.serial_hex in result.output and "di PSrE masih berlaku" in result.output
    record(app, issue(app, "k2"))
    app.extensions["sertel.psre"].revoke(issued.serial_hex, "unspecified", "fix")
    result = app.test_cli_runner().invoke(psre_reconcile)
    assert result.exit_code == 0 and "Catatan RA dan PSrE sama." in result.output


def test_admin_page_lists_the_differences_and_runs_a_reconciliation(app: Flask, client: Any) -> None:
    issued = issue(app, "k1")
    record(app, issued, status="revoked")
    login(client, "admin")
    page = client.get("/admin/rekonsiliasi").get_data(as_text=True)
    assert "Tidak ada perbedaan" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/admin/rekonsiliasi", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/admin/rekonsiliasi").get_data(as_text=True)
    assert issued.serial_hex in page and "RA tidak membatalkan pencabutan sendiri" in page
    with app.app_context():
        assert db.session.execute(select(ReconciliationFinding.kind)).scalars().all() == ["revoked_at_ra_only"]
        assert audit_verify.verify() == []


def test_pemohon_cannot_open_the_reconciliation_page(app: Flask, client: Any) -> None:
    login(client, "pemohon")
    assert client.get("/admin/rekonsiliasi").status_code == 403


def test_scheduler_runs_the_reconciliation_at_the_configured_interval(app: Flask) -> None:
    scheduler = build_scheduler(app, 30, blocking=False)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("reconcile_psre")
        assert job is not None and job.trigger.interval.total_seconds() == 15 * 60
    finally:
        scheduler.shutdown(wait=False)
