"""The need-to-know table is the rule: every role × document kind × case state, through the API and the web
download, answers exactly as need_to_know.TABLE says; the table is shown at /privasi and copied in docs/privacy.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.models import Document, ProcessInstance, db
from engine.services import documents, need_to_know, transactions
from tests.sops.builders import PDF
from tests.sops.test_issuance_ams import recommend, start_and_register, verify
from tests.web_login import login

# Demo people and the table row each is read under ("pemohon" owns the case; "pemohon2" may not see it at all).
PEOPLE = {
    "pemohon": "pemilik",
    "atasan": "Atasan",
    "verifikator": "Verifikator",
    "admin": "Admin",
    "auditor": "Auditor",
    "pemohon2": None,
}
# Stored kind and file name of a generated document of each table kind (a form's kind is told by its name).
PRODUCED = {
    "formulir": ("form", "registration-kasus-{case}.pdf"),
    "formulir_atasan": ("form", "recommendation-kasus-{case}.pdf"),
    "surat": ("letter", "keputusan-verifikasi-kasus-{case}-1.pdf"),
    "arsip": ("dossier", "berkas-kasus-{case}.pdf"),
    "bertanda_tangan": ("signed", "bertanda_tangan.pdf"),
}


def _case_in(api: Any, state: str) -> int:
    _pemohon, case_id = start_and_register(api)
    if state in ("verifikasi", "selesai"):
        assert recommend(api, case_id).status_code == 200
    if state == "selesai":
        assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN."}).status_code == 200
    return case_id


def _one_of_each_kind(app: Flask, case_id: int) -> dict[str, int]:
    """A document of every kind on the case: its own uploads and forms, plus any produced kind it lacks yet."""
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        found: dict[str, int] = {}
        for document in db.session.execute(select(Document).where(Document.instance_id == case_id)).scalars():
            found.setdefault(need_to_know.kind_of(document), document.id)
        transactions.begin_write()
        for kind, (stored_kind, name) in PRODUCED.items():
            if kind not in found:
                filename = name.format(case=case_id)
                made = documents.store_bytes(PDF, filename, "application/pdf", stored_kind, None, case_id, "test")
                found[kind] = made.id
        db.session.commit()
    assert set(found) == set(need_to_know.KINDS)
    return found


@pytest.mark.parametrize("state", list(need_to_know.STATES))
def test_every_role_and_document_kind_answers_as_the_table_says(app: Flask, api: Any, state: str) -> None:
    case_id = _case_in(api, state)
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and need_to_know.state_of(case) == state
    docs = _one_of_each_kind(app, case_id)
    expected: dict[tuple[str, str], int] = {}
    answered: dict[tuple[str, str], tuple[int, int]] = {}
    for username, row in PEOPLE.items():
        client = api(username)
        browser = app.test_client()
        login(browser, username)
        for kind, doc_id in docs.items():
            allowed = row is not None and state in need_to_know.TABLE[row][kind]
            expected[(username, kind)] = 200 if allowed else 403
            answered[(username, kind)] = (
                client.get(f"/documents/{doc_id}").status_code,
                browser.get(f"/dokumen/{doc_id}").status_code,
            )
    assert {cell: (code, code) for cell, code in expected.items()} == answered
    # The cells the issue names, spelled out: the verifikator's KTP access ends with verification, the agency
    # head never opens it, the auditor always can.
    assert expected[("verifikator", "identitas")] == (200 if state == "verifikasi" else 403)
    assert expected[("atasan", "identitas")] == 403 and expected[("atasan", "formulir_atasan")] == 200
    # The agency head never opens the applicant's own signed forms (full NIK/NIP) nor the dossier.
    assert expected[("atasan", "formulir")] == 403 and expected[("atasan", "arsip")] == 403
    assert expected[("auditor", "identitas")] == 200 and expected[("pemohon", "identitas")] == 200


def test_a_refused_identity_document_says_why(app: Flask, api: Any) -> None:
    case_id = _case_in(api, "selesai")
    ktp = _one_of_each_kind(app, case_id)["identitas"]
    refused = api("verifikator").get(f"/documents/{ktp}")
    assert refused.status_code == 403
    assert "Verifikator selama verifikasi" in refused.get_json()["error"]


def test_the_table_is_shown_in_the_app_and_copied_in_the_docs(client: Any) -> None:
    login(client, "verifikator")
    page = client.get("/privasi")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in [*need_to_know.KINDS.values(), *(label for label, _ in need_to_know.VIEWERS.values())]:
        assert label in html
    assert "Masa retensi dokumen" in html and "1 tahun" in html  # the retention periods in force
    assert "/privasi" in client.get("/data-saya").get_data(as_text=True)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")
    assert need_to_know.markdown() in docs
    # The PDF table too: which PDF carries whose NIK/NIP in full, why, and who opens it.
    assert "NIK dan NIP di dalam PDF" in html and "Formulir rekomendasi (SOP 088.9, 088.14)" in html
    assert need_to_know.pdf_markdown() in docs


def test_the_nik_nip_part_of_the_table_follows_the_masking_rule(client: Any) -> None:
    from engine.services import masking

    views = dict(masking.identifier_views())
    task_screen = views["Layar kerja tugas (antara lain layar verifikasi)"]
    # The roles whose task forms show full values are exactly those the masking rule lets see them.
    assert {v for v, seen in task_screen.items() if seen == "lengkap"} == {"Pemilik data"} | set(
        masking.FULL_VALUE_TASK_ROLES
    )
    assert task_screen["Atasan"] == "tersamar"
    for place, seen in views.items():
        assert seen["Pemilik data"] == "lengkap", place
    login(client, "auditor")
    html = client.get("/privasi").get_data(as_text=True)
    assert '<th scope="row">Surel</th><td>lengkap</td><td>tersamar</td>' in html
