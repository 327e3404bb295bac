"""The RA's archive over ten years: service certificates and archive timestamps renewed, documents still valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select

from engine import jobs
from engine.cli import archive_refresh_command, pki_rollover_command
from engine.models import AuditEvent, Document, db
from engine.services import archive_refresh, documents
from pki import archive
from pki.validation import validate_pdf
from tests.sops.test_issuance_esign import activate, activation, approved_case

START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def _finished_case(api: Any) -> int:
    pemohon, case_id = approved_case(api)
    assert activate(pemohon, case_id, activation()).status_code == 200
    return case_id


def _current_signed_pdfs(case_id: int) -> list[tuple[Document, bytes]]:
    rows = db.session.scalars(select(Document).where(Document.instance_id == case_id)).all()
    superseded = {r.supersedes_id for r in rows}
    current = [(r, documents.read(r)) for r in rows if r.id not in superseded and r.media_type == "application/pdf"]
    return [(r, content) for r, content in current if r.kind != "upload" and archive.is_signed_pdf(content)]


def test_archived_documents_of_a_finished_case_validate_offline_for_ten_years(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        case_id = _finished_case(api)
        with app.app_context():
            root = app.extensions["sertel.psre"].root_certificate_pem()
            originals = {r.id: r.sha256 for r, _ in _current_signed_pdfs(case_id)}
        assert {d for d in originals}, "the finished case has sealed PDFs"
        for half_years in range(1, 21):
            traveller.move_to(START + timedelta(days=182 * half_years))
            with app.app_context():
                archive_refresh.renew_service_certificates()
                report = archive_refresh.refresh_archive()
                assert not report.failed
                current = _current_signed_pdfs(case_id)
                assert len(current) == len(originals)
                for document, content in current:
                    result = validate_pdf(content, root, None)
                    assert result.valid, (half_years, document.kind, result.verdict)
        with app.app_context():
            for document_id, sha256 in originals.items():
                kept = db.session.get(Document, document_id)
                assert kept is not None and kept.sha256 == sha256  # never overwritten
                assert documents.read(kept)
            assert all(r.id not in originals for r, _ in _current_signed_pdfs(case_id))


def test_a_refresh_is_a_new_linked_document_with_an_audit_event(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        case_id = _finished_case(api)
        with app.app_context():
            before = {r.id: c for r, c in _current_signed_pdfs(case_id)}
            assert archive_refresh.refresh_archive().refreshed == {}  # nothing due yet
            expires = min(e for c in before.values() if (e := archive.evidence_expires(c)) is not None)
        traveller.move_to(expires - timedelta(days=30))
        with app.app_context():
            assert archive_refresh.refresh_archive().refreshed == {}  # due, but the TSA certificate is no newer
            assert archive_refresh.renew_service_certificates() == ["tsa", "ra_seal"]
            report = archive_refresh.refresh_archive()
            assert set(report.refreshed) == set(before)
            for old_id, new_id in report.refreshed.items():
                newer = db.session.get(Document, new_id)
                assert newer is not None and newer.supersedes_id == old_id and newer.instance_id == case_id
                assert documents.read(newer).startswith(before[old_id])
            events = db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.kind == "archive_timestamp_renewed", AuditEvent.instance_id == case_id
                )
            ).all()
            assert len(events) == len(before)
            assert archive_refresh.refresh_archive().refreshed == {}  # the renewed ones are not due again


def test_archive_refresh_command_reports_what_it_renewed(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        _finished_case(api)
        traveller.move_to(START + timedelta(days=5 * 365 - 10))
        result = app.test_cli_runner().invoke(archive_refresh_command)
    assert result.exit_code == 0, result.output
    assert "Sertifikat layanan diperbarui: tsa, ra_seal" in result.output
    assert "cap waktu arsip diperbarui: 0" not in result.output


def test_scheduler_job_renews_service_certificates_then_archive_timestamps(api: Any, app: Flask) -> None:
    with time_machine.travel(START, tick=False) as traveller:
        case_id = _finished_case(api)
        jobs.build_scheduler(app, 30, blocking=False)  # binds the app the jobs run in; not started
        assert jobs.renew_long_term_evidence() == 0
        traveller.move_to(START + timedelta(days=5 * 365 - 10))
        with app.app_context():
            due = len(_current_signed_pdfs(case_id))
        assert jobs.renew_long_term_evidence() == due
        with app.app_context():
            kinds = set(db.session.scalars(select(AuditEvent.kind)))
        assert {"service_certificates_renewed", "archive_timestamp_renewed"} <= kinds


def test_pki_rollover_command_switches_issuance_and_old_documents_stay_valid(api: Any, app: Flask) -> None:
    case_id = _finished_case(api)
    with app.app_context():
        adapter = app.extensions["sertel.psre"]
        old_ca = adapter.ca_chain_pem()
        before = _current_signed_pdfs(case_id)
    result = app.test_cli_runner().invoke(pki_rollover_command)
    assert result.exit_code == 0, result.output
    assert "G2" in result.output
    with app.app_context():
        assert adapter.ca_chain_pem() != old_ca
        root = adapter.root_certificate_pem()
        for _, content in before:
            assert validate_pdf(content, root, adapter).valid
        sealed = adapter.ra_seal().seal_pdf(documents.read(before[0][0]))
        assert validate_pdf(sealed, root, adapter).valid
        kinds = set(db.session.scalars(select(AuditEvent.kind)))
    assert "issuing_ca_rolled_over" in kinds
