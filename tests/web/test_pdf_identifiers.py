"""NIK and NIP inside generated PDFs (docs/privacy.md, need_to_know.PDFS): a full SOP 088.9 run over HTTP, then
every viewer downloads every PDF of the case (API and web). A PDF a viewer may open carries no full NIK/NIP but the
viewer's own and those the PDF table says it carries; every other download is refused (403) in Indonesian; and the
PDFs the table says carry full values do carry them (so the scan can fail)."""

from __future__ import annotations

import subprocess
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import Document, ProcessInstance, User, db
from engine.services import masking, need_to_know
from engine.services.masking import mask_identifier
from handlers.form_pdf import latin1
from tests.sops.builders import APPROVE
from tests.sops.test_issuance_ams import activate_and_receive, only_task, recommend, start_and_register, verify
from tests.sops.test_renewal_rekey import issued_certificate
from tests.sops.test_revocation import start_revocation, statement
from tests.web_login import login

# Demo people: the table row each is read under for the applicant's case.
VIEWERS = {
    "pemohon": "pemilik",
    "verifikator": "Verifikator",
    "auditor": "Auditor",
    "admin": "Admin",
    "atasan": "Atasan",
}
# Who reads the applicant's full NIK/NIP anywhere (docs/privacy.md): the owner, the work screens' roles and the
# auditor. Independent of the PDF table, so a PDF row that gave them to someone else fails the scan.
APPLICANT_READERS = {"pemilik", "Auditor"} | set(masking.FULL_VALUE_TASK_ROLES)


def text_of(pdf: bytes) -> str:
    """The PDF's text (poppler's pdftotext, as tests/sops/test_form_pdfs.py reads it)."""
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def identifiers(app: Flask) -> dict[str, set[str]]:
    """Every person's full NIK and NIP, by username (the demo data)."""
    with app.app_context():
        users = db.session.execute(select(User)).scalars()
        return {u.username: {v for v in (u.nik, u.nip) if v} for u in users}


def pdf_entry(filename: str) -> need_to_know.GeneratedPdf:
    found = [pdf for pdf in need_to_know.PDFS if filename.startswith(pdf.prefix)]
    assert found, f"{filename} is not in need_to_know.PDFS"
    return max(found, key=lambda pdf: len(pdf.prefix))


def carried(pdf: need_to_know.GeneratedPdf, ids: dict[str, set[str]]) -> set[str]:
    """The full values the table says this PDF carries, for the people of this run."""
    whose = {"pemohon": ids["pemohon"], "atasan": ids["atasan"], "verifikator": ids["verifikator"]}
    return set().union(*(whose.get(c.whose, set()) for c in pdf.full)) if pdf.full else set()


def run_088_9(api: Any) -> int:
    pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    assert verify(api, case_id, APPROVE).status_code == 200
    assert activate_and_receive(pemohon, case_id).status_code == 200
    return case_id


def test_every_viewer_opens_only_pdfs_whose_full_identifiers_the_table_gives_them(app: Flask, api: Any) -> None:
    case_id = run_088_9(api)
    ids = identifiers(app)
    everyone = set().union(*ids.values())
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.status == "completed"
        pdfs = {
            d.id: (d.filename, need_to_know.kind_of(d))
            for d in db.session.execute(
                select(Document).where(
                    Document.instance_id == case_id,
                    Document.media_type == "application/pdf",
                    Document.kind != "upload",  # generated, not the applicant's own uploads
                )
            ).scalars()
        }
    names = sorted(name.split("-kasus-")[0] for name, _kind in pdfs.values())
    assert names == ["berkas", "keputusan-verifikasi", "recommendation", "registration"], names

    leaks: dict[str, set[str]] = {}
    opened: dict[tuple[str, str], str] = {}
    for username, row in VIEWERS.items():
        client = api(username)
        browser = app.test_client()
        login(browser, username)
        for doc_id, (filename, kind) in pdfs.items():
            entry = pdf_entry(filename)
            assert entry.kind == kind, filename
            allowed = "selesai" in need_to_know.TABLE[row][kind]
            by_api, by_web = client.get(f"/documents/{doc_id}"), browser.get(f"/dokumen/{doc_id}")
            if not allowed:
                assert (by_api.status_code, by_web.status_code) == (403, 403), (username, filename)
                message = by_api.get_json()["error"]
                assert "hanya pemiliknya" in message or "tidak berwenang" in message, message
                assert message in by_web.get_data(as_text=True)
                continue
            assert (by_api.status_code, by_web.status_code) == (200, 200), (username, filename)
            assert by_api.data == by_web.data
            text = text_of(by_api.data)
            opened[(username, entry.prefix)] = text
            may_read = ids[username] | carried(entry, ids)
            if row not in APPLICANT_READERS:  # the applicant's full values are for the owner and RA staff only
                may_read -= ids["pemohon"]
            if found := {value for value in everyone if value in text} - may_read:
                leaks[f"{username} {filename}"] = found
    assert leaks == {}

    # The Atasan opens the recommendation (only their own NIP in full) and the letter, never the registration form
    # or the dossier, which carry the applicant's full NIK and NIP.
    nik, nip = sorted(ids["pemohon"], key=len)
    head_nip = next(v for v in ids["atasan"] if len(v) == 18)
    assert ("atasan", "recommendation-kasus-") in opened and ("atasan", "keputusan-verifikasi-kasus-") in opened
    assert ("atasan", "registration-kasus-") not in opened and ("atasan", "berkas-kasus-") not in opened
    # The table's "in full" is true: the scan above would see these values if the rule let them through.
    registration = opened[("verifikator", "registration-kasus-")]
    assert nik in registration and nip in registration
    recommendation = opened[("atasan", "recommendation-kasus-")]
    assert head_nip in recommendation and nik not in recommendation and nip not in recommendation
    assert latin1(mask_identifier(nik)) in recommendation and latin1(mask_identifier(nip)) in recommendation
    letter = opened[("atasan", "keputusan-verifikasi-kasus-")]
    assert nik not in letter and latin1(mask_identifier(nik)) in letter
    assert nik in opened[("auditor", "berkas-kasus-")]


def test_the_pdf_table_and_the_need_to_know_table_agree() -> None:
    # No PDF another viewer may open carries the applicant's full identifiers unless that viewer reads them on the
    # verification screen anyway (RA staff) or owns them: the agency head reads none.
    for pdf in need_to_know.PDFS:
        if any(c.whose == "pemohon" for c in pdf.full):
            assert "Atasan" not in need_to_know.pdf_readers(pdf), pdf.name
    # Every form file name the handlers write has its row, and an unknown form name is the strict kind.
    assert {pdf.kind for pdf in need_to_know.PDFS} <= set(need_to_know.KINDS)
    unknown = Document(kind="form", filename="lain-kasus-1.pdf")
    assert need_to_know.kind_of(unknown) == "formulir"
    head_filed = Document(kind="form", filename="revocation_statement-atasan-kasus-1.pdf")
    assert need_to_know.kind_of(head_filed) == "formulir_atasan"
    assert need_to_know.kind_of(Document(kind="form", filename="revocation_statement-kasus-1.pdf")) == "formulir"
    # A letter or recommendation generated before the masking (marked by migration 0006_pdfs) carries the full values.
    assert need_to_know.kind_of(Document(kind="letter", filename="keputusan-verifikasi-kasus-1-1.pdf")) == "surat"
    legacy = Document(kind="letter", filename="keputusan-verifikasi-kasus-1-1.pdf", unmasked_identifiers=True)
    assert need_to_know.kind_of(legacy) == "formulir"


def test_the_agency_head_opens_the_revocation_statement_they_filed_with_the_owners_identifiers_masked(
    app: Flask, api: Any
) -> None:
    serial, _key, _case = issued_certificate(api)
    ids = identifiers(app)
    nik, nip = sorted(ids["pemohon"], key=len)
    head_nip = next(v for v in ids["atasan"] if len(v) == 18)
    atasan = api("atasan")
    case_id = start_revocation(atasan, serial, applicant="pemohon")
    task = only_task(atasan, case_id, "head_statement")
    body = statement(
        certificate_serial=serial, reason="affiliationChanged", chronology="Pegawai dimutasi sejak awal bulan."
    )
    assert atasan.post(f"/tasks/{task['id']}/complete", json=body).status_code == 200
    with app.app_context():
        filed = db.session.execute(
            select(Document).where(Document.instance_id == case_id, Document.kind == "form")
        ).scalar_one()
        assert filed.filename == f"revocation_statement-atasan-kasus-{case_id}.pdf"
        assert need_to_know.kind_of(filed) == "formulir_atasan"
    browser = app.test_client()
    login(browser, "atasan")
    by_api, by_web = atasan.get(f"/documents/{filed.id}"), browser.get(f"/dokumen/{filed.id}")
    assert (by_api.status_code, by_web.status_code) == (200, 200)
    text = text_of(by_api.data)
    assert head_nip in text and nik not in text and nip not in text
    assert latin1(mask_identifier(nik)) in text and serial in text
    # RA staff and the owner open it too; everyone but the owner sees the owner's values masked there.
    for who in ("pemohon", "verifikator", "admin", "auditor"):
        assert api(who).get(f"/documents/{filed.id}").status_code == 200, who
