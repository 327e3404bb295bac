"""The field table (engine/services/field_access.py, docs/privacy.md): a full SOP 088.9 run over HTTP, and at each
step every page and API answer each role can see, checked field by field against the table: a value it hides or
masks for that viewer never shows in full, a value it shows in full shows where it is expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select

from engine.models import OutboxMail, ProcessInstance, db
from engine.services import field_access, mail
from engine.services.field_access import HIDDEN, LENGKAP, TERSAMAR, TERSEMBUNYI
from engine.services.masking import FULL_VALUE_TASK_ROLES, mask_email, mask_identifier, mask_phone
from engine.services.ports import CasePorts
from tests.sops.builders import APPROVE, registration
from tests.sops.test_issuance_ams import activate_and_receive, only_task, recommend, start_and_register, verify
from tests.web_login import login

NIK = "3375011507900001"
NIP = "199007152015031001"
EMAIL = "pemohon@pekalongankota.go.id"
PHONE = registration()["phone"]  # "0812-3456-7890"
# The applicant's values per category, in every spelling a page could carry; `identitas` in the table's sense.
FULL = {"identitas": (NIK, NIP), "email": (EMAIL,), "telepon": (PHONE, PHONE.replace("-", ""))}
# The demo logins and the table column each reads the case under (the demo people hold one such role each).
VIEWER = {
    "pemohon": "Pemilik data",
    "atasan": "Atasan",
    "verifikator": "Verifikator",
    "admin": "Admin",
    "auditor": "Auditor",
}
LIST_PAGES = ("/", "/kasus", "/sertifikat", "/audit/kasus?nama=Budi", "/admin/surel", "/admin/orang")


def _rule(place: str, who: str) -> dict[str, str]:
    return field_access.TABLE[place][VIEWER[who]]


def _leaks(text: str, rule: dict[str, str]) -> set[str]:
    """Full values the rule does not let this viewer read that the text carries anyway."""
    return {
        value for category, values in FULL.items() if rule[category] != LENGKAP for value in values if value in text
    }


def _expected(category: str, value: str) -> str:
    return {"identitas": mask_identifier, "email": mask_email, "telepon": mask_phone}[category](value)


def _check_applicant(applicant: dict[str, Any], rule: dict[str, str], where: str) -> None:
    """The applicant record of an API answer, field by field as the rule says."""
    for category, key, value in (("identitas", "nik", NIK), ("email", "email", EMAIL), ("telepon", "phone", PHONE)):
        shown = applicant.get(key)
        if rule[category] == LENGKAP:
            assert shown == value, (where, key)
        elif rule[category] == TERSAMAR:
            assert shown == _expected(category, value), (where, key)
        else:
            assert shown == HIDDEN, (where, key)


def _scan(app: Flask, api: Any, case_id: int) -> None:
    """Every role's case page, case API answer, lists, and every mail, against the table."""
    for who in VIEWER:
        browser = app.test_client()
        login(browser, who)
        case_rule = _rule("kasus", who)
        page = browser.get(f"/kasus/{case_id}")
        assert page.status_code == 200, who
        assert _leaks(page.get_data(as_text=True), case_rule) == set(), f"{who} /kasus/{case_id}"
        answer = api(who).get(f"/cases/{case_id}")
        assert _leaks(answer.get_data(as_text=True), case_rule) == set(), f"{who} /api/v1/cases/{case_id}"
        _check_applicant(answer.get_json()["applicant"], case_rule, f"{who} /api/v1/cases/{case_id}")
        for url in LIST_PAGES:
            listed = browser.get(url)
            if listed.status_code == 200:
                assert _leaks(listed.get_data(as_text=True), _rule("daftar", who)) == set(), f"{who} {url}"
        for path in ("/tasks", "/cases"):
            assert _leaks(api(who).get(path).get_data(as_text=True), _rule("daftar", who)) == set(), f"{who} {path}"
    with app.app_context():
        for mail in db.session.execute(select(OutboxMail)).scalars():
            if mail.recipient != EMAIL:  # a mail to anyone but the owner
                text = f"{mail.subject}\n{mail.body}"
                assert _leaks(text, field_access.strictest("surel")) == set(), mail.template


def _task_screen(app: Flask, api: Any, who: str, case_id: int, name: str) -> tuple[str, dict[str, Any]]:
    """A step's form as its role reads it: the web page and the API answer."""
    task = only_task(api(who), case_id, name)
    browser = app.test_client()
    login(browser, who)
    page = browser.get(f"/tugas/{task['id']}")
    assert page.status_code == 200
    form = api(who).get(f"/tasks/{task['id']}/form")
    assert form.status_code == 200
    return page.get_data(as_text=True), form.get_json()


def test_a_full_088_9_run_shows_each_field_as_the_table_says(app: Flask, api: Any) -> None:
    pemohon, case_id = start_and_register(api)
    _scan(app, api, case_id)

    # The agency head's recommendation: name and position in full, NIK/NIP and e-mail masked, phone hidden.
    rule = _rule("tugas", "atasan")
    assert (rule["identitas"], rule["nama_jabatan"], rule["email"], rule["telepon"]) == (
        TERSAMAR,
        LENGKAP,
        TERSAMAR,
        TERSEMBUNYI,
    )
    page, form = _task_screen(app, api, "atasan", case_id, "recommendation")
    assert _leaks(page, rule) == set() and _leaks(str(form), rule) == set()
    assert "Budi Santoso" in page and "Pranata Komputer Ahli Pertama" in page
    assert mask_identifier(NIP) in page and mask_email(EMAIL) in page and HIDDEN in page
    assert form["inputs"]["registration"]["phone"] == HIDDEN
    assert form["inputs"]["registration"]["email"] == mask_email(EMAIL)
    assert recommend(api, case_id).status_code == 200
    _scan(app, api, case_id)

    # The verification screen: every field in full.
    rule = _rule("tugas", "verifikator")
    assert set(rule.values()) == {LENGKAP}
    page, form = _task_screen(app, api, "verifikator", case_id, "verification")
    for values in FULL.values():
        assert values[0] in page, values[0]
    assert form["inputs"]["registration"]["phone"] == PHONE
    assert verify(api, case_id, APPROVE).status_code == 200
    _scan(app, api, case_id)

    # The owner's own steps: every field of their own in full.
    page, _form = _task_screen(app, api, "pemohon", case_id, "activation")
    assert EMAIL in page
    assert activate_and_receive(pemohon, case_id).status_code == 200
    assert pemohon.get(f"/cases/{case_id}").get_json()["case"]["status"] == "completed"
    _scan(app, api, case_id)
    with app.app_context():
        assert db.session.execute(select(OutboxMail.id)).first() is not None  # the run sent mail that was scanned

    # Where the table says lengkap, the value is there: the admin reads the recipient in the outbox, the auditor
    # only masked.
    admin, auditor = app.test_client(), app.test_client()
    login(admin, "admin")
    login(auditor, "auditor")
    assert EMAIL in admin.get("/admin/surel").get_data(as_text=True)
    assert mask_email(EMAIL) in auditor.get("/admin/surel").get_data(as_text=True)


def test_every_category_viewer_and_place_has_a_value() -> None:
    assert set(field_access.TABLE) == set(field_access.PLACES)
    for place, columns in field_access.TABLE.items():
        assert set(columns) == set(field_access.VIEWERS), place
        for viewer, cells in columns.items():
            assert set(cells) == set(field_access.CATEGORIES), (place, viewer)
            assert set(cells.values()) <= set(field_access.VALUES), (place, viewer)
        assert set(columns[field_access.OWNER].values()) == {LENGKAP}, place  # the owner reads all of their own


@pytest.mark.parametrize("place", ["kasus", "daftar", "surel"])
def test_the_identifier_row_is_the_masking_rule(place: str) -> None:
    """NIK and NIP keep masking's rule: in full to their owner, masked to everyone else, outside task screens."""
    for viewer in field_access.VIEWERS:
        expected = LENGKAP if viewer == field_access.OWNER else TERSAMAR
        assert field_access.TABLE[place][viewer]["identitas"] == expected


def test_task_screens_show_identifiers_in_full_exactly_on_work_screens() -> None:
    full = {v for v, cells in field_access.TABLE["tugas"].items() if cells["identitas"] == LENGKAP}
    assert full == {field_access.OWNER, *FULL_VALUE_TASK_ROLES}


def test_masks_of_phone_and_email() -> None:
    assert mask_phone("0812-3456-5678") == "0812 •••• 5678"
    assert mask_email("budi@semarangkota.go.id") == "bu•••@semarangkota.go.id"
    seen = field_access.TABLE["tugas"]["Atasan"]
    subject = {"email": EMAIL, "phone": PHONE, "nik": NIK}
    data = {"phone": PHONE, "email": EMAIL, "nik": NIK, "note": f"dikirim ke {EMAIL}", "full_name": "Budi"}
    assert field_access.shown(data, "tugas", seen, subject, frozenset()) == {
        "phone": HIDDEN,
        "email": "pe•••@pekalongankota.go.id",
        "nik": "3375 •••• •••• 0001",
        "note": "dikirim ke pe•••@pekalongankota.go.id",
        "full_name": "Budi",
    }


def test_the_table_is_shown_per_step_and_copied_in_the_docs(client: Any) -> None:
    login(client, "auditor")
    html = client.get("/privasi").get_data(as_text=True)
    assert "Beri rekomendasi permohonan" in html and "Verifikasi permohonan" in html
    for category in field_access.CATEGORIES.values():
        assert category.label in html
    # The recommendation step of 088.9: the Atasan's column.
    section = html[html.index('id="field-steps"') :]
    row = section[section.index("Beri rekomendasi permohonan") :].split("</tr>")[0]
    assert "<td>Atasan</td>" in row and "Nomor telepon / HP" in row.split("<td>")[-1]
    docs = (Path(__file__).resolve().parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")
    assert field_access.markdown() in docs


def test_a_mail_to_a_team_mailbox_names_the_person_and_no_more(app: Flask, api: Any, monkeypatch: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    template = (
        "Subjek: uji\n{{ applicant.full_name }} | {{ applicant.email }} | {{ applicant.phone }} | {{ applicant.nik }}\n"
    )
    loader = ChoiceLoader([DictLoader({"field_test.txt": template}), mail._templates.loader])
    monkeypatch.setattr(mail._templates, "loader", loader)
    with app.app_context():
        ports = CasePorts(db.session.get_one(ProcessInstance, case_id), "test", "sistem")
        ports.notify("field_test", "verifikator@pekalongankota.go.id", {})
        ports.notify("field_test", EMAIL, {})
        team, owner = (
            db.session.execute(
                select(OutboxMail.body).where(OutboxMail.template == "field_test").order_by(OutboxMail.id)
            )
            .scalars()
            .all()
        )
    assert team.strip() == f"Budi Santoso | {mask_email(EMAIL)} | {HIDDEN} | {mask_identifier(NIK)}"
    # The owner's own mail carries their contact data (a NIK in a mail is masked whoever reads it: mail.render).
    assert owner.strip() == f"Budi Santoso | {EMAIL} | {PHONE} | {mask_identifier(NIK)}"
