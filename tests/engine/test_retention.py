"""Retention with time moved: exactly the documents past their period (per kind and outcome) lose their content,
the hash and a tombstone event stay, shared content stays while a kept document needs it, and the audit log
still verifies."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine import jobs
from engine.cli import audit_verify, retention_run
from engine.models import AuditEvent, Document, ProcessInstance, db
from engine.services import documents, need_to_know, retention
from engine.services.audit_verify import verify as verify_log
from engine.services.errors import NotFound
from engine.services.package_verify import verify_package
from tests.sops.builders import registration
from tests.sops.test_issuance_ams import approve_and_deliver, only_task, recommend, start_and_register, verify
from tests.web_login import login


def _years(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)


def _documents(app: Flask) -> dict[int, tuple[int, str, str, str]]:
    """Document id -> (case id, table kind, retention outcome, sha256), for every case document."""
    with app.app_context():
        rows = db.session.execute(
            select(Document, ProcessInstance).join(ProcessInstance, Document.instance_id == ProcessInstance.id)
        ).all()
        return {
            d.id: (c.id, need_to_know.kind_of(d), retention.outcome_of(c) if c.status != "running" else "", d.sha256)
            for d, c in rows
        }


def _erased(app: Flask) -> set[int]:
    with app.app_context():
        return set(db.session.execute(select(Document.id).where(Document.erased_at.is_not(None))).scalars())


def _register_siti(api: Any) -> int:
    """A running 088.9 case of pemohon2, with the same KTP file as pemohon's."""
    siti = api("pemohon2")
    case_id = int(siti.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"])
    task = only_task(siti, case_id, "registration_form")
    form = registration(
        full_name="Siti Aminah",
        nik="3375026203920002",
        nip="199203222017012002",
        agency_code="dinkes",
        email="pemohon2@pekalongankota.go.id",
        position="Analis Kesehatan",
    )
    answer = siti.post(f"/tasks/{task['id']}/complete", data=form, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_json()
    return case_id


def _ended_at(app: Flask, case_id: int) -> datetime:
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.ended_at is not None
        return case.ended_at


def test_the_default_periods_shorten_identity_scans_and_keep_the_dossier(app: Flask) -> None:
    with app.app_context():
        table = retention.periods()
    assert table["identitas"] == {"dikabulkan": 5, "tidak_dikabulkan": 1}
    assert table["unggahan"] == {"dikabulkan": 10, "tidak_dikabulkan": 2}
    assert table["arsip"] == {"dikabulkan": 10, "tidak_dikabulkan": 10}


def test_time_moved_erases_exactly_what_is_past_its_period_and_the_log_still_verifies(
    app: Flask, api: Any, tmp_path: Path
) -> None:
    _pemohon, rejected = start_and_register(api)
    recommend(api, rejected)
    assert verify(api, rejected, {"decision": "reject", "reasons": "Bukan ASN."}).status_code == 200
    running = _register_siti(api)
    pemohon, granted = start_and_register(api)
    assert approve_and_deliver(api, pemohon, granted).status_code == 200
    docs = _documents(app)
    assert {kind for case, kind, _o, _s in docs.values() if case == rejected} >= {"identitas", "unggahan", "formulir"}
    # The same KTP file was uploaded in every case: one stored content, shared.
    ktps = {case: (doc_id, sha) for doc_id, (case, kind, _o, sha) in docs.items() if kind == "identitas"}
    assert len({sha for _id, sha in ktps.values()}) == 1
    ktp_file = tmp_path / "documents" / ktps[rejected][1][:2] / ktps[rejected][1]
    assert ktp_file.exists()
    ended = max(_ended_at(app, rejected), _ended_at(app, granted))

    def due(years: int) -> set[int]:
        """Per the default table: the documents whose period is at most `years`."""
        with app.app_context():
            table = retention.periods()
        return {
            doc_id
            for doc_id, (case, kind, outcome, _sha) in docs.items()
            if case != running and table[kind][outcome] <= years
        }

    for years in (0, 1, 2, 5, 10):
        with app.app_context():
            report = retention.erase_expired(_years(ended, years))
        assert _erased(app) == due(years), years
        if years == 1:
            assert due(1) == {ktps[rejected][0]}  # only the rejected case's KTP goes after a year
            assert {e.document_id for e in report.erased} == {ktps[rejected][0]}
            assert ktp_file.exists()  # the granted and the running case still keep that content
        if years == 5:
            assert ktps[granted][0] in _erased(app) and ktps[running][0] not in _erased(app)
            assert ktp_file.exists()  # the running case's KTP shares it
    with app.app_context():
        assert retention.erase_expired(_years(ended, 11)).erased == []  # idempotent: nothing left to erase
        assert verify_log() == []
        tombstones = [
            json.loads(e.payload_json)
            for e in db.session.execute(select(AuditEvent).where(AuditEvent.kind == "document_erased")).scalars()
        ]
        assert sorted(t["document_id"] for t in tombstones) == sorted(due(10))
        assert all(t["sha256"] == docs[t["document_id"]][3] for t in tombstones)
        erased_ktp = db.session.get(Document, ktps[rejected][0])
        assert erased_ktp is not None and erased_ktp.sha256 == ktps[rejected][1]
        with pytest.raises(NotFound, match="masa retensi"):
            documents.read(erased_ktp)
        kept = db.session.get(Document, ktps[running][0])
        assert kept is not None and documents.read(kept)  # the running case's KTP is untouched
    answer = api("pemohon").get(f"/documents/{ktps[rejected][0]}")
    assert answer.status_code == 404 and "masa retensi" in answer.get_json()["error"]
    assert api("pemohon").get(f"/cases/{granted}").status_code == 200
    assert app.test_cli_runner().invoke(audit_verify).exit_code == 0
    # The auditor's evidence package of the case still verifies: erased documents are their hash and tombstone.
    auditor = app.test_client()
    login(auditor, "auditor")
    package = auditor.get(f"/audit/kasus/{rejected}/paket")
    assert package.status_code == 200
    assert verify_package(package.data).ok
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert not [n for n in archive.namelist() if n.startswith("documents/")]


def test_the_cli_and_the_scheduler_job_run_it_once_and_report(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN."}).status_code == 200
    moment = _years(_ended_at(app, case_id), 3)
    result = app.test_cli_runner().invoke(retention_run, ["--as-of", moment.isoformat()])
    assert result.exit_code == 0, result.output
    erased = _erased(app)
    assert len(erased) == 2 and "Isi dokumen dihapus: 2" in result.output  # the KTP and the ASN proof
    jobs._app = app
    assert jobs.erase_expired_documents()["erased"] == []  # today nothing more is due


def test_whether_a_request_was_granted_is_said_by_the_end_event_in_its_diagram() -> None:
    from engine import runtime
    from engine.services.deploy import PROCESSES_DIR

    ams = (PROCESSES_DIR / "issuance_ams.bpmn").read_text(encoding="utf-8")
    ends = runtime.end_events(ams)
    assert {element_id for element_id, end in ends.items() if not end.granted} == {"end_declined", "end_rejected"}
    assert ends["end_delivered"].granted and ends["end_rejected"].label == "Permohonan ditolak"
    # Without the property an end event counts as granted: the diagram, not the code, decides.
    plain = ams.replace('<sertel:property name="granted" value="false" />', "")
    assert all(end.granted for end in runtime.end_events(plain).values())
