"""The verifikator's inbox and the RA's case list: applicant shown, fast tracks first, filters and search in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select, update

from engine.models import Certificate, HumanTask, ProcessInstance, db
from engine.models.base import utcnow
from tests.sops.test_issuance_ams import only_task, recommend, start_and_register
from tests.web.test_query_counts import MAX_INBOX_STATEMENTS, add_cases, counted, start_real_case
from tests.web_login import login

BUDI_NIK = "3375011507900001"  # pemohon (Budi Santoso, Diskominfo)
SITI_NIK = "3375026203920002"  # pemohon2 (Siti Aminah, Dinas Kesehatan)


def rows_of(client: FlaskClient, path: str, section: str = "tugas-klaim") -> list[dict[str, Any]]:
    """The task rows of an inbox section (or the case list), each with its cells by label and its classes."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    page = lxml_html.fromstring(response.get_data(as_text=True))
    table = page.xpath(f"//section[@id='{section}']//table") if section else page.xpath("//table[@id='case-list']")
    if not table:
        return []
    found = []
    for tr in table[0].xpath(".//tbody/tr[td[@data-label]]"):
        cells = {td.get("data-label"): " ".join(" ".join(td.itertext()).split()) for td in tr.xpath("./td[@data-label]")}
        found.append({"classes": (tr.get("class") or "").split(), "task": tr.get("data-task"), **cells})
    return found


def set_due(app: Flask, case_ids: list[int], due: datetime | None) -> None:
    with app.app_context():
        db.session.execute(update(HumanTask).where(HumanTask.instance_id.in_(case_ids)).values(due_at=due))
        db.session.commit()


def test_inbox_rows_show_the_applicant_sop_waiting_time_and_sla(app: Flask, client: FlaskClient, api: Any) -> None:
    template = start_real_case(api)
    [case_id] = add_cases(app, template, 1, "Verifikator")
    set_due(app, [case_id], utcnow() - timedelta(hours=3))
    login(client, "verifikator")
    [row] = [r for r in rows_of(client, "/") if f"#{case_id}" in r["Permohonan"]]
    assert row["Pemohon"] == "Budi Santoso Dinas Komunikasi dan Informatika"
    assert "SOP 088.9" in row["Permohonan"] and "AMS" in row["Permohonan"]
    assert row["Langkah"] == "Verifikasi"
    assert row["Menunggu"].startswith(("kurang dari 1 menit", "1 menit"))
    assert "WIB" in row["Tenggat SLA"] and "Terlambat" in row["Tenggat SLA"]
    assert "overdue" in row["classes"]


def test_filter_to_overdue_tasks_and_by_sop_agency_and_claim(app: Flask, client: FlaskClient, api: Any) -> None:
    template = start_real_case(api)
    overdue = add_cases(app, template, 2, "Verifikator")
    soon = add_cases(app, template, 1, "Verifikator")
    later = add_cases(app, template, 2, "Verifikator")
    set_due(app, overdue, utcnow() - timedelta(hours=1))
    set_due(app, soon, utcnow() + timedelta(hours=5))
    set_due(app, later, utcnow() + timedelta(days=3))
    login(client, "verifikator")

    def cases_in(path: str, section: str = "tugas-klaim") -> set[int]:
        return {int(r["Permohonan"].split()[0].lstrip("#")) for r in rows_of(client, path, section)}

    assert cases_in("/?sla=terlambat") == set(overdue)
    assert cases_in("/?sla=segera") == set(soon)
    assert cases_in("/") >= set(overdue + soon + later)
    assert cases_in("/?sop=issuance_ams&pd=diskominfo") >= set(overdue + soon + later)
    assert cases_in("/?sop=revocation") == set()
    assert cases_in("/?pd=dinkes") == set()
    # Sorted by due time: the overdue ones, then the one due soon, then the rest.
    ordered = [int(r["Permohonan"].split()[0].lstrip("#")) for r in rows_of(client, "/?urut=tenggat")]
    mine = [c for c in ordered if c in overdue + soon + later]
    assert set(mine[:2]) == set(overdue) and mine[2] == soon[0]

    # Claim one: it leaves the claimable list and shows under "Tugas saya", also with "Diklaim saya".
    with app.app_context():
        task_id = db.session.execute(select(HumanTask.id).where(HumanTask.instance_id == later[0])).scalar_one()
    client.post(f"/tugas/{task_id}/klaim", data={"csrf_token": _csrf(client)})
    assert later[0] in cases_in("/?klaim=saya", "tugas-saya")
    assert later[0] not in cases_in("/?klaim=belum", "tugas-klaim")
    assert cases_in("/?klaim=saya", "tugas-klaim") == set()


def _csrf(client: FlaskClient) -> str:
    page = lxml_html.fromstring(client.get("/").get_data(as_text=True))
    return str(page.xpath("//input[@name='csrf_token']/@value")[0])


def test_search_by_name_nik_nip_case_number_and_certificate_serial(app: Flask, client: FlaskClient, api: Any) -> None:
    template = start_real_case(api)
    budi = add_cases(app, template, 2, "Verifikator")
    siti = add_cases(app, template, 1, "Verifikator", applicant="pemohon2")
    with app.app_context():
        siti_case = db.session.get_one(ProcessInstance, siti[0])
        db.session.add(
            Certificate(
                serial="7f3a09c1",
                user_id=siti_case.applicant_id,
                instance_id=siti_case.id,
                kind="ams",
                subject="CN=Siti Aminah",
                status="active",
                not_before=utcnow(),
                not_after=utcnow() + timedelta(days=700),
                certificate_pem="-",
                chain_pem="-",
            )
        )
        db.session.commit()
    login(client, "verifikator")

    def found(q: str) -> set[int]:
        return {int(r["Permohonan"].split()[0].lstrip("#")) for r in rows_of(client, f"/?q={q}")}

    assert found(SITI_NIK) == set(siti)
    assert found(BUDI_NIK) >= set(budi) and not found(BUDI_NIK) & set(siti)
    assert found("199203222017012002") == set(siti)  # Siti's NIP
    assert found("siti") == set(siti) and found("AMINAH") == set(siti)
    assert found(f"%23{budi[1]}") == {budi[1]}  # "#<case number>"
    assert found("7F3A09C1") == set(siti)
    assert found("3375019999990001") == set()
    assert found("%25") == set()  # a LIKE wildcard is searched for literally


def test_key_compromise_fast_track_from_the_diagram_stands_out_and_sorts_first(
    app: Flask, client: FlaskClient, api: Any
) -> None:
    from tests.sops.test_renewal_rekey import issued_certificate  # noqa: PLC0415 - a full issuance, only here
    from tests.sops.test_revocation import CHRONOLOGY, start_revocation, statement, submit  # noqa: PLC0415

    serial, _key, issuance_case = issued_certificate(api)
    older = add_cases(app, issuance_case, 3, "Verifikator")
    pemohon = api("pemohon")
    case_id = start_revocation(pemohon, serial)
    body = statement(certificate_serial=serial, reason="keyCompromise", chronology=CHRONOLOGY)
    assert submit(pemohon, case_id, "statement", body).status_code == 200
    task = only_task(api("verifikator"), case_id, "fast_track_decision")
    with app.app_context():
        assert db.session.get_one(HumanTask, task["id"]).priority == "urgent"  # from the diagram's property
    login(client, "verifikator")
    rows = rows_of(client, "/")
    assert rows[0]["task"] == str(task["id"]) and "urgent" in rows[0]["classes"]
    assert "Jalur cepat" in rows[0]["Langkah"]
    assert all("Jalur cepat" not in r["Langkah"] for r in rows[1:])
    assert {int(r["Permohonan"].split()[0].lstrip("#")) for r in rows[1:]} >= set(older)
    # Searching by the certificate's serial finds the revocation case.
    assert str(case_id) in " ".join(r["Permohonan"] for r in rows_of(client, f"/?q={serial}"))


def test_automated_check_totals_are_flagged_in_the_inbox(app: Flask, client: FlaskClient, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    with app.app_context():
        case = db.session.get_one(ProcessInstance, case_id)
        assert (case.check_errors, case.check_warnings) == (0, 0)
        case.check_errors, case.check_warnings = 2, 1  # as a check of a wrong NIP would give
        db.session.commit()
    login(client, "verifikator")
    [row] = [r for r in rows_of(client, "/") if f"#{case_id}" in r["Permohonan"]]
    assert row["Pemeriksaan otomatis"] == "2 galat 1 peringatan"


def test_filtered_and_searched_inbox_keeps_the_statement_budget_and_pages(
    app: Flask, client: FlaskClient, api: Any
) -> None:
    template = start_real_case(api)
    created = add_cases(app, template, 60, "Verifikator")
    set_due(app, created, utcnow() - timedelta(hours=1))
    login(client, "verifikator")
    path = f"/?sla=terlambat&sop=issuance_ams&pd=diskominfo&q={BUDI_NIK}&urut=tenggat"
    client.get(path)
    with counted(app) as statements:
        first = client.get(path)
    assert len(statements) <= MAX_INBOX_STATEMENTS, "\n\n".join(s[:150] for s in statements)
    page = lxml_html.fromstring(first.get_data(as_text=True))
    [next_link] = page.xpath("//section[@id='tugas-klaim']//p[@class='pager']/a[contains(., 'Berikutnya')]/@href")
    assert "sla=terlambat" in next_link and "q=" in next_link
    seen = [r["task"] for r in rows_of(client, path)] + [r["task"] for r in rows_of(client, next_link)]
    assert len(seen) == len(set(seen)) == 60


def test_bad_filter_values_show_the_whole_list_never_an_error(client: FlaskClient) -> None:
    login(client, "verifikator")
    for path in ("/?sla=nanti", "/?klaim=x&urut=zzz", "/?klaim_setelah=1~abc~3", "/?tugas_setelah=9~~x",
                 "/kasus?sebelum=-1&status=apa", "/?q=" + "9" * 400, "/?q=%27%3B--"):
        assert client.get(path).status_code == 200, path
    assert client.get("/?q=%00").status_code == 422  # control characters are refused with a message, never a 500


def test_ra_case_list_shows_applicants_filters_and_pages(app: Flask, client: FlaskClient, api: Any) -> None:
    template = start_real_case(api)
    add_cases(app, template, 55, "Verifikator")
    siti = add_cases(app, template, 1, "Verifikator", applicant="pemohon2")
    login(client, "verifikator")
    first = rows_of(client, "/kasus", section="")
    assert len(first) == 50 and first[0]["No."] == f"#{siti[0]}"
    assert first[0]["Pemohon"].startswith("Siti Aminah")
    assert "SOP 088.9" in first[0]["Permohonan"]
    assert "sebelum=" in client.get("/kasus").get_data(as_text=True)
    assert [r["No."] for r in rows_of(client, f"/kasus?q={SITI_NIK}", section="")] == [f"#{siti[0]}"]
    assert rows_of(client, "/kasus?status=selesai", section="") == []
    assert rows_of(client, "/kasus?sop=revocation", section="") == []


def test_case_list_is_for_ra_staff_only(client: FlaskClient) -> None:
    login(client, "pemohon")
    assert client.get("/kasus").status_code == 403


def test_case_page_offers_kerjakan_only_to_who_can_do_the_step(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    task = only_task(api("verifikator"), case_id, "verification")

    def offers(username: str) -> bool:
        user_client = app.test_client()
        login(user_client, username)
        return "Kerjakan:" in user_client.get(f"/kasus/{case_id}").get_data(as_text=True)

    assert offers("verifikator") and offers("verifikator2")
    assert not offers("pemohon") and not offers("auditor")
    assert api("verifikator").post(f"/tasks/{task['id']}/claim").status_code == 200
    assert offers("verifikator") and not offers("verifikator2")
