"""The auditor's case search, its CSV export and the admin dashboard: filters, keyset pages, masking, logging."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from engine.models import Agency, AuditEvent, DashboardSnapshot, Person, ProcessInstance, db
from engine.services import access_log, case_search
from engine.services.dashboard import dashboard
from engine.services.masking import mask_identifier
from tests.sops.test_issuance_ams import recommend, start_and_register, verify
from tests.web.test_query_counts import counted
from tests.web_login import login

NIK = "3375011507900001"


def _rejected_case(api: Any) -> int:
    _pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, {"decision": "reject", "reasons": "Bukan ASN."}).status_code == 200
    return case_id


def _ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/kasus/(\d+)"', html)]


def _access_events(app: Flask, kind: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent).where(AuditEvent.stream == access_log.ACCESS_STREAM, AuditEvent.kind == kind)
        ).scalars()
        return [{"actor": e.actor, **json.loads(e.payload_json)} for e in rows]


def test_filters_find_the_cases_they_name_and_nothing_else(app: Flask, client: FlaskClient, api: Any) -> None:
    rejected = _rejected_case(api)
    _pemohon, running = start_and_register(api)
    login(client, "auditor")

    def found(**query: str) -> list[int]:
        response = client.get("/audit/kasus", query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        return _ids(response.get_data(as_text=True))

    assert found() == [running, rejected]
    assert found(nik=NIK) == [running, rejected]
    assert found(nik="3375019999999999") == []
    assert found(nama="budi") == [running, rejected]
    assert found(nama="tidak ada") == []
    assert found(status="completed") == [rejected]
    assert found(hasil="end_rejected") == [rejected]
    assert found(sop="issuance_ams", versi="1") == [running, rejected]
    assert found(sop="revocation") == []
    assert found(verifikator="verifikator") == [rejected]
    assert found(verifikator="admin") == []
    assert found(mulai_dari="2000-01-01", mulai_sampai="2999-12-31") == [running, rejected]
    assert found(mulai_sampai="2000-01-01") == []
    assert found(selesai_dari="2000-01-01") == [rejected]
    assert found(serial="abcdef") == []
    with app.app_context():
        agency = db.session.get(ProcessInstance, running).agency_id
        code = db.session.get(Agency, agency).code if agency else ""
    if code:
        assert found(pd=code) == [running, rejected]
    assert found(pd="tidak-ada") == []


def test_pages_are_keyset_pages_of_the_newest_cases(app: Flask, client: FlaskClient, api: Any) -> None:
    ids = [_rejected_case(api), _rejected_case(api), start_and_register(api)[1]]
    with app.app_context():
        first = case_search.search(case_search.Criteria(), limit=2)
        assert [c.id for c in first.rows] == ids[::-1][:2] and first.next_before == ids[1]
        second = case_search.search(case_search.Criteria(), before=first.next_before, limit=2)
        assert [c.id for c in second.rows] == [ids[0]] and second.next_before is None
        # A date-range search pages by (start time, id), with the same id cursor.
        dated = case_search.Criteria(started_from=date(2000, 1, 1))
        first = case_search.search(dated, limit=2)
        assert [c.id for c in first.rows] == ids[::-1][:2] and first.next_before == ids[1]
        second = case_search.search(dated, before=first.next_before, limit=2)
        assert [c.id for c in second.rows] == [ids[0]] and second.next_before is None
        ended = case_search.search(case_search.Criteria(ended_to=date(2999, 1, 1)), limit=1)
        assert [c.id for c in ended.rows] == [ids[1]]
        assert [c.id for c in case_search.search(case_search.Criteria(ended_to=date(2999, 1, 1)), ids[1]).rows] == [
            ids[0]
        ]


def test_bad_criteria_answer_422_with_every_message(client: FlaskClient) -> None:
    login(client, "auditor")
    response = client.get("/audit/kasus?nik=abc&mulai_dari=kemarin&versi=-1&serial=xyz")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for message in ("NIK hanya berisi angka", "TTTT-BB-HH", "bilangan bulat positif", "heksadesimal"):
        assert message in html


def test_a_search_naming_a_person_is_logged(app: Flask, client: FlaskClient, api: Any) -> None:
    case_id = _rejected_case(api)
    login(client, "auditor")
    client.get("/audit/kasus?status=completed")
    assert _access_events(app, "cases_searched") == []
    client.get(f"/audit/kasus?nik={NIK}")
    assert _access_events(app, "cases_searched") == [{"actor": "auditor", "criteria": {"nik": NIK}, "cases": [case_id]}]


def test_csv_export_masks_identities_for_the_auditor_and_is_logged(app: Flask, client: FlaskClient, api: Any) -> None:
    case_id = _rejected_case(api)
    login(client, "auditor")
    response = client.get("/audit/kasus.csv?status=completed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(r["kasus"]) for r in rows] == [case_id]
    assert rows[0]["nik"] == mask_identifier(NIK) and rows[0]["hasil"] == "end_rejected"
    assert _access_events(app, "cases_exported") == [
        {"actor": "auditor", "criteria": {"status": "completed"}, "rows": 1, "identities_masked": True}
    ]
    admin = app.test_client()
    login(admin, "admin")
    rows = list(csv.DictReader(io.StringIO(admin.get("/audit/kasus.csv").get_data(as_text=True))))
    assert rows[0]["nik"] == NIK
    with app.app_context():  # a name a spreadsheet would run as a formula is exported as text
        db.session.execute(update(Person).where(Person.nik == NIK).values(full_name="=HYPERLINK(1)"))
        db.session.commit()
    rows = list(csv.DictReader(io.StringIO(admin.get("/audit/kasus.csv").get_data(as_text=True))))
    assert rows[0]["pemohon"] == "'=HYPERLINK(1)"


def test_only_auditor_and_admin_search(client: FlaskClient) -> None:
    login(client, "verifikator")
    assert client.get("/audit/kasus").status_code == 403
    assert client.get("/audit/kasus.csv").status_code == 403


def test_dashboard_counts_cases_and_tasks_by_group(app: Flask, client: FlaskClient, api: Any) -> None:
    _rejected_case(api)
    start_and_register(api)
    login(client, "admin")
    response = client.get("/admin/dasbor")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    with app.app_context():
        board = dashboard()
    assert board.by_sop_status["issuance_ams"] == {"completed": 1, "running": 1}
    assert board.open_by_role == {"Atasan": 1}
    assert sum(count for _, count in board.started_per_month) == 2
    # The process by its title and SOP number, never its key.
    assert "<td>Penerbitan Sertifikat Elektronik untuk Individu (AMS) (SOP 088.9)</td><td>1</td><td>1</td>" in html
    assert "issuance_ams" not in html.split("<main")[1]
    pemohon = app.test_client()
    login(pemohon, "pemohon")
    assert pemohon.get("/admin/dasbor").status_code == 403


def test_dashboard_case_counts_come_from_the_newest_snapshot_and_an_admin_recomputes_them(
    app: Flask, client: FlaskClient, api: Any
) -> None:
    _rejected_case(api)
    login(client, "admin")
    assert client.get("/admin/dasbor").status_code == 200  # the first view computes a snapshot
    start_and_register(api)
    with counted(app) as seen:
        html = client.get("/admin/dasbor").get_data(as_text=True)
    # The page counted no case: the snapshot (one case, completed) is shown with its time; open tasks are live.
    assert not [s for s in seen if "FROM process_instances" in s and "GROUP BY" in s], seen
    assert (
        "<td>Penerbitan Sertifikat Elektronik untuk Individu (AMS) (SOP 088.9)</td><td>1</td></tr>" in html
        and "Angka kasus dihitung pada" in html
    )
    with app.app_context():
        assert dashboard().open_by_role == {"Atasan": 1}
    page = client.get("/admin/dasbor").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post("/admin/dasbor/hitung", data={"csrf_token": token.group(1)})
    assert response.status_code == 302
    assert (
        "<td>Penerbitan Sertifikat Elektronik untuk Individu (AMS) (SOP 088.9)</td><td>1</td><td>1</td>"
        in client.get("/admin/dasbor").get_data(as_text=True)
    )
    with app.app_context():
        logged = db.session.execute(select(AuditEvent).where(AuditEvent.kind == "dashboard_refreshed")).scalars()
        assert [e.actor for e in logged] == ["admin"]
        assert db.session.scalar(select(func.count()).select_from(DashboardSnapshot)) == 1
    verifikator = app.test_client()
    login(verifikator, "verifikator")
    assert verifikator.post("/admin/dasbor/hitung", data={"csrf_token": token.group(1)}).status_code in (400, 403)


def test_the_scheduler_refreshes_the_dashboard() -> None:
    from engine.jobs import PERIODIC_JOBS

    assert ("refresh_dashboard", "minutes", "DASHBOARD_REFRESH_MINUTES") in PERIODIC_JOBS


def test_the_outcome_is_chosen_from_a_list_of_labels(app: Flask, client: FlaskClient, api: Any) -> None:
    rejected = _rejected_case(api)
    login(client, "auditor")
    html = client.get("/audit/kasus").get_data(as_text=True)
    select_html = html[html.index('name="hasil"') : html.index("</select>", html.index('name="hasil"'))]
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_html))
    with app.app_context():
        from engine.models import ProcessDeployment
        from engine.services import case_search

        xml = db.session.execute(
            select(ProcessDeployment.xml).where(ProcessDeployment.key == "issuance_ams")
        ).scalar_one()
        assert options["end_rejected"] == runtime_end_label(xml, "end_rejected")
        assert ("withdrawn", "Ditarik pemohon") in case_search.outcome_choices()
    assert all(not label.startswith("end_") for label in options.values()), options
    found = client.get("/audit/kasus?hasil=end_rejected").get_data(as_text=True)
    assert rejected in _ids(found)


def runtime_end_label(xml: str, element_id: str) -> str:
    from engine import runtime

    return runtime.end_event_labels(xml)[element_id]
