"""The retention report (/admin/retensi): what the retention job erased, read from its audit events, for the Admin
and the Auditor only; newest first, paged, through the partial index the migration makes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import text

from engine.models import db
from engine.services import erasure_report, retention
from tests.engine.test_retention import _ended_at, _years
from tests.sops.test_issuance_ams import recommend, start_and_register, verify
from tests.web_login import login

MIGRATION = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0006_erasures.py"


def _rejected_case(api: Any) -> int:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN."}).status_code == 200
    return case_id


def _page(app: Flask, username: str, query: str = "") -> tuple[int, str]:
    client = app.test_client()
    login(client, username)
    answer = client.get(f"/admin/retensi{query}")
    return answer.status_code, answer.get_data(as_text=True)


def test_the_report_lists_each_erased_document_for_admin_and_auditor_only(app: Flask, api: Any) -> None:
    status, html = _page(app, "admin")
    assert status == 200 and "Belum ada dokumen yang isinya dihapus." in html
    case_id = _rejected_case(api)
    with app.app_context():
        report = retention.erase_expired(_years(_ended_at(app, case_id), 3), "cli")
    erased = {e.document_id: e for e in report.erased}
    assert len(erased) == 2  # the KTP scan and the ASN proof of a rejected request, after 1 and 2 years
    for username in ("admin", "auditor"):
        status, html = _page(app, username)
        assert status == 200
        assert "Dokumen yang isinya telah dihapus: <strong>2</strong>" in html
        rows = re.findall(r'<td data-label="Dokumen" class="wrap">#(\d+) ', html)
        assert sorted(int(r) for r in rows) == sorted(erased)
        for e in erased.values():
            assert e.sha256 in html and f'href="/kasus/{case_id}"' in html
        assert "Perintah `sertel retention run`" in html and "Dokumen identitas" in html
        assert "Ditolak, tidak direkomendasikan" in html
    for username in ("verifikator", "pemohon", "atasan"):
        assert _page(app, username)[0] == 403


def test_the_report_pages_newest_first(app: Flask, api: Any) -> None:
    first = _rejected_case(api)
    second = _rejected_case(api)
    with app.app_context():
        retention.erase_expired(_years(max(_ended_at(app, first), _ended_at(app, second)), 3))
        page = erasure_report.erasures(per_page=3)
        assert len(page.rows) == 3 and page.next_after == page.rows[-1].gseq
        assert [r.gseq for r in page.rows] == sorted((r.gseq for r in page.rows), reverse=True)
        rest = erasure_report.erasures(before=page.next_after, per_page=3)
        assert len(rest.rows) == 1 and rest.next_after is None
        assert {r.case_id for r in page.rows + rest.rows} == {first, second}
    status, html = _page(app, "auditor", f"?sebelum={page.next_after}")
    assert status == 200 and len(re.findall(r'data-label="Dokumen"', html)) == 1
    assert _page(app, "auditor", "?sebelum=abc")[0] == 200  # a bad cursor is the first page, never an error


def test_the_page_reads_the_partial_index_the_migration_makes(app: Flask) -> None:
    # The migration's predicate is the report's, character for character (else the planner cannot use the index).
    assert f'PREDICATE = "{erasure_report.ERASURE_PREDICATE}"' in MIGRATION.read_text(encoding="utf-8")
    with app.app_context():
        sql = (
            "SELECT gseq FROM audit_events WHERE audit_events."
            + erasure_report.ERASURE_PREDICATE
            + " ORDER BY gseq DESC LIMIT 51"
        )
        if db.engine.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        else:
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(r) for r in db.session.execute(text("EXPLAIN " + sql)))
        assert "ix_audit_events_erasures" in plan, plan
