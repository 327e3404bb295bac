"""Feedback on the pages: a success message after signing, the zoomable case diagram, scripts from files only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from tests.engine.test_signing_and_validation import PASSPHRASE, give_esign_key
from tests.pki.pki_builders import one_page_pdf
from tests.sops.test_issuance_ams import start_and_register
from tests.web_login import csrf_of, login

STATIC = Path(__file__).resolve().parents[2] / "engine" / "web" / "static"


def test_signing_says_it_worked_and_offers_the_signed_file(app: Any, client: Any) -> None:
    give_esign_key(app)
    login(client, "pemohon")
    token = csrf_of(client.get("/tanda-tangan").get_data(as_text=True))
    data = {"csrf_token": token, "file": (io.BytesIO(one_page_pdf()), "surat.pdf"), "passphrase": PASSPHRASE}
    answer = client.post("/tanda-tangan", data=data, content_type="multipart/form-data")
    assert answer.status_code == 303  # back to the page: a reload never signs twice
    page = client.get(answer.headers["Location"])
    doc = lxml_html.fromstring(page.get_data(as_text=True))
    [flash] = doc.xpath("//div[contains(@class, 'flash') and contains(@class, 'ok')]")
    assert "berhasil ditandatangani" in flash.text_content() and "surat-ttd.pdf" in flash.text_content()
    [link] = doc.xpath("//section[@id='signed']//a[contains(., 'Unduh')]/@href")
    signed = client.get(link)
    assert signed.status_code == 200 and signed.data.startswith(b"%PDF-") and b"/ByteRange" in signed.data
    # The form is there again for the next document.
    assert doc.xpath("//form[@enctype='multipart/form-data']//button[@type='submit']")


def test_someone_elses_signed_file_is_not_offered(app: Any, client: Any) -> None:
    give_esign_key(app)
    login(client, "pemohon")
    token = csrf_of(client.get("/tanda-tangan").get_data(as_text=True))
    data = {"csrf_token": token, "file": (io.BytesIO(one_page_pdf()), "surat.pdf"), "passphrase": PASSPHRASE}
    location = client.post("/tanda-tangan", data=data, content_type="multipart/form-data").headers["Location"]
    other = app.test_client()
    login(other, "pemohon2")
    assert other.get(location).status_code == 403
    assert other.get("/tanda-tangan?dokumen=abc").status_code == 200  # a malformed id is ignored


def test_case_page_diagram_sits_in_a_zoomable_box(api: Any, client: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    login(client, "pemohon")
    doc = lxml_html.fromstring(client.get(f"/kasus/{case_id}").get_data(as_text=True))
    assert doc.xpath("//div[@id='case-diagram' and contains(@class, 'diagram-viewport')]/*[local-name()='svg']")
    assert doc.xpath("//script[@src='/static/js/diagram.js']")
    assert (STATIC / "js" / "diagram.js").is_file()
