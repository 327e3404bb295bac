"""The owner's obligations and the users' four prohibitions (issue 12): shown wherever the obligations are
accepted, and the accepted text's version recorded with the tick, in the case data and in the audit log."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from flask import Flask
from lxml import html as lxml_html
from sqlalchemy import select

from engine import registry
from engine.config import ROOT
from engine.models import AuditEvent, db
from engine.terms import PROHIBITIONS, owner_terms
from tests.sops.builders import APPROVE, csr_pem
from tests.sops.test_issuance_ams import case_of, only_task, recommend, start_and_register, verify
from tests.sops.test_issuance_esign import activate, activation, approved_case
from tests.web.test_html_flow import WebUser

WEBFORMS = ROOT / "webforms"
# The first words of each of the seed's prohibitions ("Pengguna Sertifikat Elektronik dilarang: ...").
SEED_PROHIBITIONS = (
    "mengakses sistem yang bukan merupakan haknya",
    "mengabaikan prinsip kehati-hatian",
    "menunda-nunda untuk segera memberitahukan",
    "menyampaikan fotokopi dokumen yang tidak sesuai dengan aslinya",
)


def words(text: str) -> str:
    return " ".join(text.split()).lower()


def test_the_four_prohibitions_of_the_seed_are_in_the_terms() -> None:
    assert len(PROHIBITIONS) == 4
    for expected, (text, _cases) in zip(SEED_PROHIBITIONS, PROHIBITIONS, strict=True):
        assert words(text).startswith(expected)


def test_the_version_names_exactly_the_text_shown() -> None:
    ams, esign = owner_terms("ams"), owner_terms("esign")
    assert ams.version != esign.version  # the passphrase obligation is worded apart
    assert re.fullmatch(r"[0-9a-f]{12}", ams.version) and ams.sha256.startswith(ams.version)
    assert owner_terms("ams") == ams  # stable
    assert ams.record() == {"accepted_terms_version": ams.version, "accepted_terms_sha256": ams.sha256}
    canonical = json.dumps(
        {
            "Kewajiban Pemilik Sertifikat Elektronik": list(ams.obligations),
            "Larangan bagi Pengguna Sertifikat Elektronik": [[t, list(c)] for t, c in PROHIBITIONS],
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == ams.sha256


def test_every_form_accepting_the_obligations_shows_the_prohibitions(app: Flask) -> None:
    """Each catalogue form with an `accept_obligations` box includes the shared obligations-and-prohibitions part."""
    with app.app_context():
        accepting = [f for f in registry.forms() if "accept_obligations" in f.schema().fields]
    assert {f.name for f in accepting} >= {"activation", "esign_activation", "data_change_activation", "set_new_passphrase"}
    for form in accepting:
        template = (WEBFORMS / form.template).read_text(encoding="utf-8")
        assert '"_obligations.html"' in template, form.template
    part = (WEBFORMS / "_obligations.html").read_text(encoding="utf-8")
    assert "owner_terms(" in part and "terms.prohibitions" in part and "terms.version" in part


def shown_terms(page_html: str) -> tuple[str, str]:
    """(the text of the terms section, its version attribute) of a task page."""
    doc = lxml_html.fromstring(page_html)
    section = doc.xpath("//section[@id='owner-terms']")
    assert len(section) == 1, "the obligations and prohibitions are not on the page"
    return words(section[0].text_content()), str(section[0].get("data-terms-version"))


def completed_submission(app: Flask, case_id: int, task_name: str) -> dict[str, Any]:
    with app.app_context():
        payloads = db.session.execute(
            select(AuditEvent.payload_json).where(
                AuditEvent.instance_id == case_id, AuditEvent.kind == "task_completed", AuditEvent.task_name == task_name
            )
        ).scalars()
        found = [json.loads(p)["submission"] for p in payloads]
    assert len(found) == 1
    return found[0]  # type: ignore[no-any-return]


def test_ams_activation_shows_obligations_and_prohibitions_and_records_the_version(api: Any, app: Flask) -> None:
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, APPROVE).status_code == 200
    task = only_task(pemohon, case_id, "activation")
    page = WebUser(app, "pemohon").get(f"/tugas/{task['id']}")
    assert page.status_code == 200
    text, version = shown_terms(page.get_data(as_text=True))
    terms = owner_terms("ams")
    assert version == terms.version and terms.version in text
    assert "dilarang" in text and "larangan bagi pengguna sertifikat elektronik" in text
    for prohibition in SEED_PROHIBITIONS:
        assert prohibition in text
    for obligation in terms.obligations:
        assert words(obligation) in text

    csr, _key = csr_pem()
    response = pemohon.post(f"/tasks/{task['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    assert response.status_code == 200, response.get_json()
    submitted = case_of(pemohon, case_id)["data"]["activation"]
    assert submitted["accept_obligations"] is True
    assert submitted["accepted_terms_version"] == terms.version
    assert submitted["accepted_terms_sha256"] == terms.sha256
    logged = completed_submission(app, case_id, "activation")
    assert logged["accepted_terms_version"] == terms.version and logged["accepted_terms_sha256"] == terms.sha256


def test_esign_activation_records_the_esign_wording(api: Any, app: Flask) -> None:
    pemohon, case_id = approved_case(api)
    task = only_task(pemohon, case_id, "activation")
    text, version = shown_terms(WebUser(app, "pemohon").get(f"/tugas/{task['id']}").get_data(as_text=True))
    terms = owner_terms("esign")
    assert version == terms.version and "termasuk petugas" in text
    assert all(p in text for p in SEED_PROHIBITIONS)
    assert activate(pemohon, case_id, activation()).status_code == 200
    assert case_of(pemohon, case_id)["data"]["activation"]["accepted_terms_version"] == terms.version
    assert completed_submission(app, case_id, "activation")["accepted_terms_sha256"] == terms.sha256


def test_a_refused_activation_records_nothing_and_an_unticked_box_no_version(api: Any, app: Flask) -> None:
    pemohon, case_id = approved_case(api)
    response = activate(pemohon, case_id, activation(accept_obligations=None))
    assert response.status_code == 422 and "accept_obligations" in response.get_json()["fields"]
