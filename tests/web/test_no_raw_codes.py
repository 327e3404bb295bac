"""No raw code reaches a person: every page, PDF and mail of a full run of each SOP is scanned for internal ids.

The denylist is built from the code tables themselves (never typed here by hand): the end-event ids of every
diagram, the PSrE's status words, the validation sub-indications, the process keys and the agency codes, plus
the marks of a Python dict ("{'") and of times shown in UTC.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from lxml import etree
from lxml import html as lxml_html
from sqlalchemy import select

from engine import registry
from engine.models import Document, OutboxMail, ProcessInstance, User, db
from engine.services import documents
from engine.services.deploy import PROCESSES_DIR
from engine.services.setup import AGENCIES
from engine.web.labels import EVENT_LABELS
from pki.psre import SubjectStatus
from pki.validation_labels import SUB_LABELS
from tests.sops import (
    test_data_change,
    test_issuance_ams,
    test_issuance_esign,
    test_passphrase_lock,
    test_renewal_rekey,
    test_revocation,
)
from tests.web_login import csrf_of, login

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
PDFTOTEXT = shutil.which("pdftotext")


def end_event_ids() -> set[str]:
    """Every end event id of every diagram in processes/ (shared call activities included)."""
    ids: set[str] = set()
    for path in sorted(Path(PROCESSES_DIR).rglob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        ids |= {str(el.get("id")) for el in root.iter(f"{BPMN}endEvent") if el.get("id")}
    return ids


def process_keys() -> set[str]:
    return {path.stem for path in Path(PROCESSES_DIR).glob("*.bpmn")}


def denylist() -> dict[str, re.Pattern[str]]:
    """Raw code -> pattern matching it as a whole word (case-sensitive: codes are written as they are stored)."""
    words = end_event_ids() | {s.value for s in SubjectStatus} | set(SUB_LABELS) | process_keys()
    words |= {code for code, _name in AGENCIES} | {"good"}
    patterns = {word: re.compile(rf"(?<![\w@./-]){re.escape(word)}(?![\w@-])") for word in words if len(word) > 2}
    patterns["{'"] = re.compile(re.escape("{'"))
    patterns["UTC"] = re.compile(r"\bUTC\b")
    # A stored ISO time shown as it is (UTC, unlabelled): people read times as "03-12-2026 10:00 WIB".
    patterns["ISO time"] = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
    return patterns


def data_name_patterns() -> dict[str, re.Pattern[str]]:
    """The names data is stored under, as whole words: every catalogue form's fields and every user task's
    data name (its form's output or its id). Only names with an underscore: "nik" or "notes" read as words."""
    words = {name for form in registry.forms() for name in form.schema().fields}
    for path in sorted(Path(PROCESSES_DIR).rglob("*.bpmn")):
        root = etree.parse(str(path)).getroot()
        words |= {str(el.get("id")) for el in root.iter(f"{BPMN}userTask")}
        words |= {str(el.get("output")) for el in root.iter() if str(el.tag).endswith("}form") and el.get("output")}
    return {w: re.compile(rf"(?<![\w@./-]){re.escape(w)}(?![\w@-])") for w in words if "_" in w}


def dossier_problems(text: str, names: dict[str, re.Pattern[str]]) -> list[str]:
    """What is wrong in a dossier cover's text: a data name printed instead of its label, no decision section."""
    found = raw_codes_in(text, names)
    if "Keputusan" not in text:
        found.append("no 'Keputusan' section")
    return found


# Addresses and links may contain agency codes (diskominfo@…, /proses/issuance_ams/mulai): not read as words.
ADDRESSES = re.compile(r"\S+@\S+|https?://\S+|/\S*")


def raw_codes_in(text: str, patterns: dict[str, re.Pattern[str]]) -> list[str]:
    """The raw codes visible in a text, each with a little context."""
    cleaned = ADDRESSES.sub(" ", text)
    found = []
    for word, pattern in patterns.items():
        for match in pattern.finditer(cleaned):
            start = max(match.start() - 50, 0)
            found.append(f"{word!r} in …{cleaned[start : match.end() + 50]!r}…")
    return found


def visible_text(body: str) -> str:
    """The text a person reads on an HTML page (no scripts, styles, attributes or hidden inputs)."""
    tree = lxml_html.fromstring(body)
    for bad in tree.xpath("//script|//style|//template"):
        bad.drop_tree()
    return " ".join(" ".join(tree.itertext()).split())


def pdf_text(content: bytes, tmp_path: Path) -> str | None:
    """The text of a PDF, or None when it is not one pdftotext can read (a test upload of a few fake bytes)."""
    source = tmp_path / "doc.pdf"
    source.write_bytes(content)
    assert PDFTOTEXT is not None
    done = subprocess.run([PDFTOTEXT, "-q", str(source), "-"], capture_output=True, check=False, timeout=60)
    return done.stdout.decode() if done.returncode == 0 else None


@pytest.fixture
def collected_pages(app: Flask) -> Iterator[list[tuple[str, str]]]:
    """Every HTML page the app answers while the test runs: (path, visible text)."""
    pages: list[tuple[str, str]] = []

    def collect(response: Any) -> Any:
        from flask import request  # noqa: PLC0415 - the request of this response

        if response.mimetype == "text/html" and response.status_code < 400 and not response.direct_passthrough:
            pages.append((request.full_path, visible_text(response.get_data(as_text=True))))
        return response

    app.after_request_funcs.setdefault(None, []).append(collect)
    yield pages


# Parameters of the staff pages, filled from the run's own records; rules with any other parameter (documents,
# certificate files, diagram XML, OCSP) answer no HTML page.
STAFF_PAGE_PREFIXES = (
    "/admin",
    "/audit",
    "/atas-nama",
    "/kasus",
    "/privasi",
    "/data-saya",
    "/validasi",
    "/tanda-tangan",
)


def staff_pages(app: Flask, case_ids: list[int]) -> list[str]:
    """Every GET page of the staff areas (admin, audit, dashboard, outbox, people, processes), for this run."""
    with app.app_context():
        usernames = sorted(db.session.execute(select(User.username)).scalars())
    values: dict[str, list[Any]] = {"username": usernames, "key": sorted(process_keys()), "case_id": case_ids}
    paths: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or not rule.rule.startswith(STAFF_PAGE_PREFIXES):
            continue
        if rule.rule.endswith((".csv", ".xml", "/paket", "/unduh")) or not set(rule.arguments) <= set(values):
            continue
        combos: list[dict[str, Any]] = [{}]
        for name in sorted(rule.arguments):
            combos = [{**combo, name: value} for combo in combos for value in values[name]]
        with app.test_request_context():
            paths += [url_for(rule.endpoint, **combo) for combo in combos]
    # The audit search with results, by each criterion that lists codes (SOP, status, outcome).
    paths += ["/audit/kasus?status=completed", "/audit/kasus?status=running", "/audit/kasus?nama=a"]
    paths += [f"/audit/kasus?sop={key}" for key in sorted(process_keys())]
    paths += ["/kasus?status=completed", "/admin/dasbor?periode=30"]
    return paths


def visit_admin_pages(app: Flask, reader: Any, username: str, case_ids: list[int]) -> None:
    """Visit every staff page as `username`; the Admin must be let into every admin page."""
    answered = {}
    for path in staff_pages(app, case_ids):
        answered[path] = reader.get(path).status_code
    if username == "admin":
        refused = {path: code for path, code in answered.items() if path.startswith("/admin") and code != 200}
        assert not refused, refused
        assert {"/admin/dasbor", "/admin/surel", "/admin/orang", "/admin/proses", "/audit/kasus"} <= set(answered)


# A full run of each SOP, taken from its own end-to-end test (each asserts its flow on the way).
RUNS: dict[str, Callable[..., None]] = {
    "issuance_ams": test_issuance_ams.test_happy_path_ends_with_a_downloaded_certificate_that_chains_to_the_city_ca,
    "issuance_ams_rejected": test_issuance_ams.test_rejection_ends_the_case_with_reasons,
    "issuance_ams_declined": test_issuance_ams.test_declined_recommendation_ends_the_case,
    "issuance_esign": test_issuance_esign.test_happy_path_issues_a_server_held_key_the_owner_signs_with,
    "renewal_rekey": test_renewal_rekey.test_renewal_replaces_the_key_and_revokes_the_old_certificate_as_superseded,
    "revocation": test_revocation.test_key_compromise_is_fast_tracked_to_the_verifikator_and_revoked_at_once,
    "data_change": test_data_change.test_happy_path_reissues_with_the_new_subject_revokes_the_old_and_updates_records,
    "passphrase_lock": test_passphrase_lock.test_lock_then_recovery_through_088_13_gives_a_new_key_and_the_old_cannot_sign,
}


def _run(run: Callable[..., Any], api: Any, app: Flask, client: Any) -> None:
    arguments = run.__code__.co_varnames[: run.__code__.co_argcount]
    available = {"api": api, "app": app, "client": client}
    run(*(available[name] for name in arguments))


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (Debian poppler-utils) is needed to read the PDFs")
@pytest.mark.parametrize("sop", sorted(RUNS))
def test_no_raw_codes_on_pages_pdfs_or_mails_of_a_full_run(
    sop: str, app: Flask, api: Any, collected_pages: list[tuple[str, str]], tmp_path: Path
) -> None:
    patterns = denylist()
    assert {"REVOKED_NO_POE", "ISSUE", "issuance_ams", "diskominfo", "good"} <= set(patterns)
    _run(RUNS[sop], api, app, app.test_client())

    with app.app_context():
        case_ids = list(db.session.execute(select(ProcessInstance.id)).scalars())
        applicants = {
            u
            for u in db.session.execute(
                select(User.username).join(ProcessInstance, ProcessInstance.applicant_id == User.id)
            ).scalars()
        }
        mails = [(m.subject, m.body) for m in db.session.execute(select(OutboxMail)).scalars()]
        pdfs = [
            (d.filename, documents.read(d))
            for d in db.session.execute(select(Document).where(Document.media_type == "application/pdf")).scalars()
        ]
    assert case_ids and mails and pdfs
    for username in sorted({"verifikator", "admin", "auditor", *applicants}):
        reader = app.test_client()
        login(reader, username)
        for path in ["/", "/sertifikat", "/bantuan", *(f"/kasus/{case_id}" for case_id in case_ids)]:
            reader.get(path)
        if username in ("verifikator", "admin", "auditor"):
            reader.get("/kasus")
        if username in ("admin", "auditor"):
            visit_admin_pages(app, reader, username, case_ids)

    # The public validation page, for the RA's sealed PDFs of the run (a few: validation is slow).
    validator = app.test_client()
    token = csrf_of(validator.get("/validasi").get_data(as_text=True))
    sealed = [(name, content) for name, content in pdfs if content.startswith(b"%PDF") and b"/ByteRange" in content]
    assert sealed
    for filename, content in sealed[:2]:
        answer = validator.post(
            "/validasi",
            data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
            content_type="multipart/form-data",
        )
        assert answer.status_code == 200 and "WIB" in answer.get_data(as_text=True)

    findings = []
    # Beyond the code tables: the names data is stored under, event kinds, and Python's own words.
    patterns |= data_name_patterns() | {k: re.compile(rf"(?<![\w@./-]){k}(?![\w@-])") for k in EVENT_LABELS}
    patterns |= {w: re.compile(rf"\b{w}\b") for w in ("None", "True", "False", "Not a valid")}
    for path, text in collected_pages:
        findings += [f"page {path}: {hit}" for hit in raw_codes_in(text, patterns)]
    for subject, body in mails:
        findings += [f"mail {subject!r}: {hit}" for hit in raw_codes_in(f"{subject}\n{body}", patterns)]
    read = dossiers = 0
    names = data_name_patterns()
    for filename, content in pdfs:
        text = pdf_text(content, tmp_path)
        if text is not None:
            read += 1
            if filename.startswith("berkas-kasus-"):
                dossiers += 1
                findings += [f"dossier {filename}: {hit}" for hit in dossier_problems(text, names)]
            findings += [f"pdf {filename}: {hit}" for hit in raw_codes_in(text, patterns)]
    assert read >= 1  # the forms, letters and dossier the RA generates
    assert dossiers >= 1  # every closed case is archived with its printed dossier
    assert len(collected_pages) > 10
    assert not findings, "\n".join(sorted(set(findings))[:80])


def test_the_scan_finds_a_raw_code_when_there_is_one() -> None:
    patterns = denylist()
    assert raw_codes_in("Status: Selesai (end_issued)", patterns)
    assert raw_codes_in("Status PSrE: ISSUE", patterns) and raw_codes_in("rincian {'a': 1}", patterns)
    assert raw_codes_in("Proses issuance_ams", patterns) and raw_codes_in("pukul 10:00 UTC", patterns)
    assert raw_codes_in("dicabut pada 2026-12-03T10:00:00+00:00", patterns)
    assert not raw_codes_in("Surel ke diskominfo@pekalongankota.go.id pukul 17:00 WIB", patterns)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"process_key": "issuance_ams", "data": "x"}, "data", "Harus berupa objek JSON (pasangan nama dan nilai)."),
        ({"process_key": 5}, "process_key", "Harus berupa teks."),
        ({"process_key": None}, "process_key", "Tidak boleh kosong."),
    ],
)
def test_api_input_errors_are_indonesian(api: Any, body: dict[str, Any], field: str, message: str) -> None:
    response = api("pemohon").post("/cases", json=body)
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["fields"][field] == [message], answer
    assert "Not a valid" not in json.dumps(answer)


def test_the_dossier_check_finds_a_data_name_printed_for_its_label(app: Flask) -> None:
    names = data_name_patterns()
    assert {"checked_identity", "fast_track_decision", "accept_obligations"} <= set(names)
    assert dossier_problems("Keputusan fast_track_decision Disetujui checked_identity Ya", names)
    assert dossier_problems("Dokumen ktp.pdf", names) == ["no 'Keputusan' section"]
    assert not dossier_problems("Keputusan Putuskan pencabutan jalur cepat Disetujui Identitas diperiksa Ya", names)
