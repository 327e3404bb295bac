"""NIK and NIP masked where the full value is not needed (docs/privacy.md): a full SOP 088.9 run, then every list,
case page, timeline, API answer and mail scanned for the full values; in full only on the verification screen
and to their owner."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import OutboxMail, db
from engine.services.masking import mask_identifier, mask_personal, mask_text
from tests.sops.builders import APPROVE, RECOMMEND
from tests.sops.test_issuance_ams import activate_and_receive, only_task, recommend, start_and_register, verify
from tests.web_login import login

NIK = "3375011507900001"
NIP = "199007152015031001"
HEAD_NIP = RECOMMEND["head_nip"]
# Whose identifiers each demo person may see in full anywhere: their own.
OWN = {"pemohon": {NIK, NIP}, "atasan": {HEAD_NIP}}
ROLES = ("pemohon", "atasan", "verifikator", "admin", "auditor")


def test_mask_keeps_the_first_and_last_four_digits() -> None:
    assert mask_identifier(NIK) == "3375 •••• •••• 0001"
    assert mask_identifier(NIP) == "1990 •••• •••• •• 1001"
    assert mask_text(f"NIK {NIK}, kasus 12, seri 1234567890123456789") == (
        "NIK 3375 •••• •••• 0001, kasus 12, seri 1234567890123456789"
    )
    # A hex serial that happens to begin with 16 digits is no identifier; a NIK glued to a word still is one.
    serial = "7210167643014776f17c0a5ef6470c6f9feee36f"
    assert mask_text(f"seri {serial}, NIK{NIK}") == f"seri {serial}, NIK3375 •••• •••• 0001"
    data = {"nik": NIK, "head_nip": HEAD_NIP, "rows": [{"requester_nip": NIP}], "note": f"NIP {NIP}"}
    masked = mask_personal(data, keep=frozenset({NIP}))
    assert masked == {
        "nik": "3375 •••• •••• 0001",
        "head_nip": "1975 •••• •••• •• 1003",
        "rows": [{"requester_nip": NIP}],
        "note": f"NIP {NIP}",
    }


def _pages(case_id: int) -> list[str]:
    return [
        "/",
        "/kasus",
        f"/kasus/{case_id}",
        "/sertifikat",
        "/data-saya",
        "/audit/kasus?nama=Budi",
        "/audit/kasus?status=running",
        "/audit/kasus?status=completed",
        "/admin/surel",
        "/admin/orang",
        "/admin/dasbor",
    ]


def _leaks(text: str, who: str) -> set[str]:
    return {value for value in (NIK, NIP, HEAD_NIP) if value in text} - OWN.get(who, set())


def _scan(app: Flask, api: Any, case_id: int) -> dict[str, set[str]]:
    """Every page and API answer of every role, and every mail: where a full NIK or NIP shows that should not."""
    found: dict[str, set[str]] = {}
    for who in ROLES:
        browser = app.test_client()
        login(browser, who)
        for url in _pages(case_id):
            response = browser.get(url)
            if response.status_code == 200 and (leaked := _leaks(response.get_data(as_text=True), who)):
                found[f"{who} {url}"] = leaked
        client = api(who)
        for path in (f"/cases/{case_id}", "/tasks", "/cases"):
            response = client.get(path)
            if response.status_code == 200 and (leaked := _leaks(response.get_data(as_text=True), who)):
                found[f"{who} /api/v1{path}"] = leaked
    with app.app_context():
        for mail in db.session.execute(select(OutboxMail)).scalars():
            if leaked := _leaks(f"{mail.subject}\n{mail.body}", "-"):
                found[f"mail {mail.template} to {mail.recipient}"] = leaked
    return found


def test_a_full_088_9_run_shows_nik_and_nip_masked_except_to_the_owner_and_the_verifikator(
    app: Flask, api: Any
) -> None:
    pemohon, case_id = start_and_register(api)
    assert _scan(app, api, case_id) == {}
    # The agency head's recommendation form (web and API) shows the applicant's NIK and NIP masked.
    head = app.test_client()
    login(head, "atasan")
    task = only_task(api("atasan"), case_id, "recommendation")
    form_page = head.get(f"/tugas/{task['id']}").get_data(as_text=True)
    assert "Budi Santoso" in form_page and mask_identifier(NIP) in form_page
    assert not _leaks(form_page, "atasan")
    assert not _leaks(api("atasan").get(f"/tasks/{task['id']}/form").get_data(as_text=True), "atasan")
    assert recommend(api, case_id).status_code == 200
    assert _scan(app, api, case_id) == {}

    # The verification screen shows them in full; the verifikator's case page does not.
    verifikator = app.test_client()
    login(verifikator, "verifikator")
    task = only_task(api("verifikator"), case_id, "verification")
    screen = verifikator.get(f"/tugas/{task['id']}").get_data(as_text=True)
    assert NIK in screen and NIP in screen and HEAD_NIP in screen
    case_page = verifikator.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert NIK not in case_page and mask_identifier(NIK) in case_page

    assert verify(api, case_id, APPROVE).status_code == 200
    assert activate_and_receive(pemohon, case_id).status_code == 200
    assert pemohon.get(f"/cases/{case_id}").get_json()["case"]["status"] == "completed"
    assert _scan(app, api, case_id) == {}
    with app.app_context():
        assert db.session.execute(select(OutboxMail.id)).first() is not None  # the run sent mail that was scanned

    # The owner sees their own in full (case page, Data Saya), the agency head's NIP masked.
    owner = app.test_client()
    login(owner, "pemohon")
    own_case = owner.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert NIK in own_case and HEAD_NIP not in own_case
    assert NIK in owner.get("/data-saya").get_data(as_text=True)
