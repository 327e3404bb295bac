"""A refused form shows every error at once, keeps what was typed, and stores none of its uploads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.models import AuditEvent, Document, db
from tests.conftest import build_app
from tests.sops.builders import PNG, registration
from tests.web.test_html_flow import WebUser, html_of, location, start_case

NOT_AN_IMAGE = b"MZ\x90\x00 not an image at all"


def field_errors(response: Any) -> dict[str, list[str]]:
    """The messages shown under each field of a re-rendered form, by the field they follow."""
    found: dict[str, list[str]] = {}
    for p in html_of(response).xpath("//p[contains(@class, 'field-error')]"):
        before = p.xpath("preceding::*[@name][1]/@name")
        found.setdefault(before[0] if before else "", []).append(p.text_content())
    return found


def stored_documents(app: Flask) -> tuple[int, int]:
    """How many documents and 'document_stored' events exist."""
    with app.app_context():
        docs = db.session.scalar(select(func.count()).select_from(Document))
        events = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "document_stored")
        )
        return int(docs or 0), int(events or 0)


def test_an_upload_error_shows_with_every_other_error_and_nothing_is_stored(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    before = stored_documents(app)
    response = pemohon.post(
        f"/tugas/{task_id}",
        registration(
            nik="12345",  # typed over the person record
            phone="12ab",
            statement_true=None,
            ktp_scan=(io.BytesIO(NOT_AN_IMAGE), "ktp.png"),
        ),
        multipart=True,
    )
    assert response.status_code == 422
    errors = field_errors(response)
    text = " ".join(" ".join(v) for v in errors.values())
    assert "Jenis berkas tidak diizinkan: unggah PDF, JPEG atau PNG." in text  # the upload
    assert "NIK tidak dapat diubah di formulir" in text  # the identity, in the same answer
    assert "Nomor telepon harus berisi" in text
    assert "Anda harus menyatakan bahwa data yang diberikan benar." in text
    # The good file (the ASN proof) is not stored either, and the form says to choose it again.
    assert "Berkas ini belum disimpan karena isian lain perlu diperbaiki; pilih berkas ini lagi." in text
    assert html_of(response).xpath("//input[@name='phone']/@value") == ["12ab"]
    assert stored_documents(app) == before
    assert pemohon.get(f"/kasus/{case_id}").get_data(as_text=True).count('href="/dokumen/') == 0


def test_documents_say_what_they_are_on_the_case_page(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert location(pemohon.post(f"/tugas/{task_id}", registration(), multipart=True)) == f"/kasus/{case_id}"
    page = html_of(pemohon.get(f"/kasus/{case_id}"))
    kinds = {
        li.xpath("string(strong[@class='document-kind'])"): li.xpath("string(a)")
        for li in page.xpath("//li[strong[@class='document-kind']]")
    }
    assert kinds.get("Pindaian KTP") == "ktp.png"
    assert kinds.get("Bukti status ASN (SK / kartu pegawai)") == "sk-cpns.pdf"
    assert any(k.startswith("Formulir") for k in kinds), kinds  # the sealed registration PDF


def test_the_form_states_the_upload_limit_before_upload(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    _case_id, task_id = start_case(pemohon)
    page = html_of(pemohon.get(f"/tugas/{task_id}"))
    ktp = page.xpath("//input[@name='ktp_scan']")[0]
    assert ktp.get("data-max-bytes") == str(5 * 1024 * 1024)
    assert "maksimal 5 MB" in ktp.getparent().text_content()
    # Text inputs carry their form field's limit.
    assert page.xpath("//input[@name='phone']/@maxlength") == ["4000"]


@pytest.fixture
def small_limit_app(tmp_path: Path, psre_template: Path) -> Iterator[Flask]:
    """An app that takes uploads of at most 1 KB (requests of at most 3 KB)."""
    application = build_app(tmp_path, psre_template, MAX_UPLOAD_BYTES=1024)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_upload_over_the_limit_keeps_what_was_typed(small_limit_app: Flask) -> None:
    pemohon = WebUser(small_limit_app, "pemohon")
    _case_id, task_id = start_case(pemohon)
    big = PNG + b"\x00" * 1000  # over 1 KB, the request under 3 KB
    response = pemohon.post(
        f"/tugas/{task_id}",
        registration(phone="0813-2222-3333", ktp_scan=(io.BytesIO(big), "ktp.png"), asn_proof=None),
        multipart=True,
    )
    assert response.status_code == 422
    text = " ".join(" ".join(v) for v in field_errors(response).values())
    assert "Berkas melebihi batas 1 KB" in text
    assert "Unggah bukti status ASN (SK / kartu pegawai)." in text  # the other error, in the same answer
    assert html_of(response).xpath("//input[@name='phone']/@value") == ["0813-2222-3333"]


def test_a_request_over_the_server_limit_comes_back_as_the_form_not_a_dead_end(small_limit_app: Flask) -> None:
    pemohon = WebUser(small_limit_app, "pemohon")
    _case_id, task_id = start_case(pemohon)
    huge = PNG + b"\x00" * 4000  # the whole request is over 3 KB: refused before it is read
    response = pemohon.post(
        f"/tugas/{task_id}", registration(ktp_scan=(io.BytesIO(huge), "ktp.png")), multipart=True
    )
    assert response.status_code == 413
    page = html_of(response)
    assert page.xpath(f"//form[@action='/tugas/{task_id}']"), "the form is shown again"
    assert "terlalu besar" in page.xpath("string(//*[@id='form-errors'])")
    assert page.xpath("//input[@name='full_name']/@value") == ["Budi Santoso"]


def test_an_oversized_post_to_someone_elses_task_is_refused_not_shown(small_limit_app: Flask) -> None:
    _case_id, task_id = start_case(WebUser(small_limit_app, "pemohon"))
    other = WebUser(small_limit_app, "pemohon2")
    huge = PNG + b"\x00" * 4000
    response = other.post(f"/tugas/{task_id}", registration(ktp_scan=(io.BytesIO(huge), "ktp.png")), multipart=True)
    assert response.status_code == 403
    assert not html_of(response).xpath(f"//form[@action='/tugas/{task_id}']")
