"""Feedback on the pages: a success message after signing, the zoomable case diagram, scripts from files only."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html

from engine.web import diagram_svg
from tests.engine.test_signing_and_validation import PASSPHRASE, give_esign_key
from tests.pki.pki_builders import one_page_pdf
from tests.sops.test_issuance_ams import start_and_register
from tests.web_login import csrf_of, login

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "engine" / "web" / "static"
PROCESSES = ROOT / "processes"


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


def _label_boxes(svg: str) -> list[tuple[str, float, float, float, float]]:
    root = etree.fromstring(svg.encode())
    boxes = []
    for fo in root.iter("{http://www.w3.org/2000/svg}foreignObject"):
        div = fo[0]
        if "bpmn-label" in div.get("class", ""):
            continue  # inside its task's box
        x, y, w, h = (float(fo.get(k)) for k in ("x", "y", "width", "height"))
        if "bpmn-flow-label" in div.get("class", ""):
            w, h = w - 4, h - 2  # drawn a little larger than the text's box
        else:
            h -= 14  # the modeler's label box (drawn 14 px taller for a wrapped line)
        boxes.append(("".join(div.itertext()), x, y, w, h))
    return boxes


@pytest.mark.parametrize("key", ["issuance_ams", "issuance_esign", "passphrase_lock", "data_change", "revocation", "renewal_rekey"])
def test_diagram_labels_of_flows_gateways_and_events_do_not_overlap(key: str) -> None:
    svg = diagram_svg.render((PROCESSES / f"{key}.bpmn").read_text(), set(), set())
    boxes = _label_boxes(svg)
    assert boxes
    overlapping = [
        (a[0], b[0])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[1] < b[1] + b[3] and b[1] < a[1] + a[3] and a[2] < b[2] + b[4] and b[2] < a[2] + a[4]
    ]
    assert not overlapping, overlapping
