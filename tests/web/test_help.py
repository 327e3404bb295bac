"""The footer cites every legal basis the seed names, and /bantuan explains each SOP with its diagram (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from lxml import etree

from engine.config import ROOT
from engine.services.help import SOPS
from engine.terms import LEGAL_BASES
from tests.web.test_html_flow import WebUser, html_of

# The seed's "dasar hukum", by what each says in full and in the footer.
SEED_BASES = {
    "PP 71/2019": "Peraturan Pemerintah Nomor 71 Tahun 2019 tentang Penyelenggaraan Sistem dan Transaksi Elektronik",
    "Perpres 95/2018": "Peraturan Presiden Nomor 95 Tahun 2018",
    "Perda Kota Pekalongan 4/2021": "Peraturan Daerah Kota Pekalongan Nomor 4 Tahun 2021 tentang Sistem Pemerintahan "
    "Berbasis Elektronik",
    "Perwal Kota Pekalongan 33/2021": "Peraturan Wali Kota Pekalongan Nomor 33 Tahun 2021 tentang Penggunaan Sertifikat "
    "Elektronik dan Tanda Tangan Elektronik",
}
SOP_NUMBERS = ("088.9", "088.10", "088.11", "088.12", "088.13", "088.14")
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def text_of(element: Any) -> str:
    return " ".join(element.text_content().split())


def footer_of(response: Any) -> str:
    footer = html_of(response).xpath("//footer")
    assert len(footer) == 1
    return text_of(footer[0])


@pytest.mark.parametrize("username", [None, "pemohon", "verifikator"])
def test_the_footer_cites_every_legal_basis_of_the_seed(app: Flask, username: str | None) -> None:
    page = app.test_client().get("/masuk") if username is None else WebUser(app, username).get("/")
    assert page.status_code == 200
    footer = footer_of(page)
    for short in SEED_BASES:
        assert short in footer, footer
    titles = html_of(page).xpath("//footer/abbr/@title")
    for title in SEED_BASES.values():
        assert any(t.startswith(title) for t in titles), title


def test_the_help_page_explains_the_legal_bases_and_each_sop(app: Flask) -> None:
    page = WebUser(app, "pemohon").get("/bantuan")
    assert page.status_code == 200
    doc = html_of(page)
    bases = text_of(doc.xpath("//section[@id='dasar-hukum']")[0])
    for title in SEED_BASES.values():
        assert title in bases
    assert [b.title in bases for b in LEGAL_BASES] == [True] * len(LEGAL_BASES)

    sections = doc.xpath("//section[contains(@class, 'help-sop')]")
    assert [s.get("data-sop") for s in sections] == list(SOP_NUMBERS)
    assert len(sections) == len(list((ROOT / "processes").glob("*.bpmn")))  # one per SOP diagram
    for section in sections:
        text = text_of(section)
        for heading in ("Tujuan", "Formulir", "Dokumen yang diperlukan", "Diagram prosedur"):
            assert heading in text, (section.get("data-sop"), heading)
        boxes = section.xpath(".//div[contains(@class, 'help-diagram')]/@data-diagram-url")
        assert len(boxes) == 1
        # The steps people take, read from the published diagram, with who does them.
        assert section.xpath(".//table//td"), section.get("data-sop")
    by_number = {s.get("data-sop"): text_of(s) for s in sections}
    assert "Formulir Rekomendasi" in by_number["088.9"] and "Formulir Rekomendasi" in by_number["088.14"]
    assert "Formulir Pernyataan Pencabutan Sertifikat Elektronik" in by_number["088.11"]
    assert "Formulir Pernyataan Lupa Passphrase" in by_number["088.13"]
    assert "Pindaian KTP" in by_number["088.9"]
    # The viewer is read-only bpmn-js from the vendor bundle, started by a file (the CSP forbids inline script).
    scripts = doc.xpath("//main//script")
    assert all(s.get("src") and not (s.text or "").strip() for s in scripts)
    assert any(s.get("src", "").endswith("vendor/modeler.js") for s in scripts)
    assert any(s.get("src", "").endswith("js/help.js") for s in scripts)


def test_each_help_diagram_is_the_sops_published_bpmn(app: Flask) -> None:
    user = WebUser(app, "pemohon")
    doc = html_of(user.get("/bantuan"))
    urls = doc.xpath("//div[contains(@class, 'help-diagram')]/@data-diagram-url")
    assert len(urls) == len(SOPS)
    for key, url in zip(SOPS, urls, strict=True):
        response = user.get(url)
        assert response.status_code == 200 and response.mimetype == "application/xml"
        root = etree.fromstring(response.data)
        assert root.find(f"{BPMN}process").get("id") == key
    assert user.get("/bantuan/tidak_ada.bpmn").status_code == 404


def test_help_needs_a_login(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/bantuan").status_code == 302
    assert client.get("/bantuan/issuance_ams.bpmn").status_code == 302


def test_the_help_script_is_a_file_the_csp_allows() -> None:
    script = (ROOT / "engine" / "web" / "static" / "js" / "help.js").read_text(encoding="utf-8")
    assert "createViewer" in script and "fit-viewport" in script
    assert "Modeler" not in script  # a viewer: nothing to edit
