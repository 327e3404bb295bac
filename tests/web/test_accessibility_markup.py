"""Accessibility markup of the pages (issue 14), checked in the HTML the server sends.

The browser side (axe-core on every page, the keyboard, zoom) is tests/browser/test_accessibility.py.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from engine.web import diagram_svg
from tests.web.test_html_flow import WebUser, html_of, location, recommend, register, start_case, task_id_of

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def described_by(doc: object, control: object) -> list[str]:
    """The texts a control's aria-describedby points at."""
    ids = (control.get("aria-describedby") or "").split()  # type: ignore[attr-defined]
    return [" ".join(doc.xpath(f"string(//*[@id='{i}'])").split()) for i in ids]  # type: ignore[attr-defined]


def test_failed_registration_has_a_linked_error_summary_and_every_message_tied_to_its_field(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    _case_id, task_id = start_case(pemohon)
    fresh = html_of(pemohon.get(f"/tugas/{task_id}"))
    # Before any submit: no summary; required uploads and the statement are marked required; a skip link first.
    assert not fresh.xpath("//*[@id='form-errors']")
    assert fresh.xpath("//input[@name='ktp_scan'][@required]")
    assert fresh.xpath("//input[@name='asn_proof'][@required]")
    assert fresh.xpath("//input[@name='statement_true'][@required]")
    first_link = fresh.xpath("//body//a")[0]
    assert first_link.get("href") == "#main" and first_link.text == "Langsung ke isi utama"
    assert fresh.xpath("//main/@id") == ["main"]
    passphrase = fresh.xpath("//input[@name='signing_passphrase']")[0]
    assert described_by(fresh, passphrase)[0].startswith("Bila diisi, PDF formulir ditandatangani")

    response = register(pemohon, task_id, phone="", statement_true=None, asn_proof=None)
    assert response.status_code == 422
    doc = html_of(response)
    assert doc.xpath("string(//title)").startswith("Ada kesalahan: ")
    summary = doc.xpath("//*[@id='form-errors']")[0]
    assert summary.get("tabindex") == "-1" and summary.get("data-error-summary") is not None
    links = {a.get("href"): " ".join(a.text_content().split()) for a in summary.xpath(".//li/a")}
    assert links["#phone"] == "Nomor telepon / HP wajib diisi."  # names the field, not a bare "Wajib diisi."
    assert links["#asn_proof"].startswith("Bukti status ASN: Unggah bukti status ASN")
    assert links["#statement_true"] == "Anda harus menyatakan bahwa data yang diberikan benar."
    # Each link goes to a control that exists, is marked invalid and is described by its message.
    for href, text in links.items():
        [control] = doc.xpath(f"//*[@id='{href[1:]}']")
        assert control.get("aria-invalid") == "true", href
        assert any(text.endswith(message) for message in described_by(doc, control)), (href, described_by(doc, control))
    # The summary comes before the form (first in reading order after the heading).
    assert doc.xpath("//*[@id='form-errors']/following::form[contains(@action, '/tugas/')]")


def test_a_radio_group_left_empty_is_marked_invalid_and_its_message_names_it(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert location(register(pemohon, task_id)) == f"/kasus/{case_id}"
    atasan = WebUser(app, "atasan")
    task = task_id_of(atasan.inbox_rows(case_id)[0]["open"])
    doc = html_of(atasan.post(f"/tugas/{task}", {}))
    [group] = doc.xpath("//fieldset[@id='decision']")
    assert group.get("role") == "radiogroup" and group.get("aria-invalid") == "true"
    assert described_by(doc, group) == ["Keputusan wajib diisi."]
    assert doc.xpath("//*[@id='form-errors']//a/@href") == ["#decision-approve"]
    assert not [p for p in doc.xpath("//p[@class='field-error']/text()") if p.strip() == "Wajib diisi."]


def test_inbox_action_column_is_named_and_its_buttons_name_their_case(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert location(register(pemohon, task_id)) == f"/kasus/{case_id}"
    recommend(app, case_id)
    verifikator = WebUser(app, "verifikator")
    doc = html_of(verifikator.get("/"))
    assert not doc.xpath("//th[normalize-space(.)='']")
    assert "Tindakan" in doc.xpath("//table[contains(@class, 'worklist')]//th/text()")
    claim = doc.xpath(f"//tr[.//a[@href='/kasus/{case_id}']]//form[contains(@action, '/klaim')]/button")[0]
    name = " ".join(claim.text_content().split())
    assert name.startswith("Klaim ") and f"kasus #{case_id}" in name
    atasan_doc = html_of(WebUser(app, "pemohon").get("/"))
    assert not atasan_doc.xpath("//th[normalize-space(.)='']")


def test_case_page_has_a_text_version_of_the_diagram_and_a_focusable_named_scroll_region(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert location(register(pemohon, task_id)) == f"/kasus/{case_id}"
    doc = html_of(pemohon.get(f"/kasus/{case_id}"))
    [region] = doc.xpath("//div[contains(@class, 'diagram-scroll')]")
    assert region.get("tabindex") == "0" and region.get("role") == "region" and region.get("aria-label")
    assert region.xpath(".//svg[contains(@class, 'bpmn-diagram')]")
    lanes = doc.xpath("//*[@id='diagram-text']/h3/text()")
    assert lanes[:3] == ["Pemohon", "Atasan", "Verifikator"]
    pemohon_steps = [" ".join(li.text_content().split()) for li in doc.xpath("//*[@id='diagram-text']/ol[1]/li")]
    assert pemohon_steps[0] == "Permohonan diajukan — selesai"
    assert "Isi formulir pendaftaran dan unggah dokumen — selesai" in pemohon_steps
    assert pemohon_steps[-1].endswith("— belum")
    atasan_steps = [" ".join(li.text_content().split()) for li in doc.xpath("//*[@id='diagram-text']/ol[2]/li")]
    assert atasan_steps[0] == "Beri rekomendasi permohonan — sedang berjalan"


def test_diagram_steps_are_listed_by_lane_in_drawing_order_with_their_state() -> None:
    xml = (PROCESSES / "issuance_ams.bpmn").read_text(encoding="utf-8")
    lanes = diagram_svg.steps(xml, done={"start", "registration_form"}, active={"recommendation"})
    names = [lane for lane, _steps in lanes]
    assert names == ["Pemohon", "Atasan", "Verifikator", "PSrE"]
    pemohon = dict((name, label) for name, _state, label in lanes[0][1])
    assert pemohon["Permohonan diajukan"] == "selesai"
    assert pemohon["Aktivasi: setujui kewajiban dan kirim CSR"] == "belum"
    atasan = [(name, state) for name, state, _label in lanes[1][1]]
    assert atasan[0] == ("Beri rekomendasi permohonan", "active")
    assert all(not name.endswith("?") for lane in lanes for name, _s, _l in lane[1])  # gateways are not steps
    # The drawing shows the state by shape too: every task and event carries a check mark shown when done.
    svg = diagram_svg.render(xml, {"start"}, {"recommendation"})
    assert svg.count('class="mark-done"') >= len([s for lane in lanes for s in lane[1]])
    assert 'width="' in svg.split(">", 1)[0]  # drawn at its own size, not squeezed (readable labels)


def test_staff_forms_have_the_same_error_summary(app: Flask) -> None:
    verifikator = WebUser(app, "verifikator")
    response = verifikator.post("/atas-nama", {"username": "", "process_key": "issuance_ams", "on_behalf_reason": ""})
    assert response.status_code == 422
    doc = html_of(response)
    assert doc.xpath("string(//title)").startswith("Ada kesalahan: ")
    [link] = doc.xpath("//*[@id='form-errors']//a[@href='#username']")
    assert link.text_content() == "Orang yang diajukan: Pilih orang yang diajukan."
    [select] = doc.xpath("//select[@id='username']")
    assert select.get("aria-invalid") == "true"
    assert described_by(doc, select) == ["Pilih orang yang diajukan."]
    admin = WebUser(app, "admin")
    doc = html_of(admin.post("/admin/orang/pemohon", {"nik": "", "full_name": "Budi Santoso", "category": "asn"}))
    assert doc.xpath("//*[@id='form-errors']//a[@href='#nik']")
