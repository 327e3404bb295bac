"""GET /api/v1/tasks filters like the inbox page (same service), documents its parameters, refuses bad values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from engine.models import HumanTask, db
from engine.models.base import utcnow
from tests.web.test_query_counts import MAX_INBOX_STATEMENTS, add_cases, counted, start_real_case
from tests.web.test_worklist import BUDI_NIK, SITI_NIK, set_due


def cases_in(answer: Any, section: str = "claimable") -> list[int]:
    assert answer.status_code == 200, answer.get_json()
    return [t["case_id"] for t in answer.get_json()[section]]


def test_filter_by_sla_sop_agency_claim_and_search(app: Flask, api: Any) -> None:
    template = start_real_case(api)
    overdue = add_cases(app, template, 2, "Verifikator")
    soon = add_cases(app, template, 1, "Verifikator")
    siti = add_cases(app, template, 1, "Verifikator", applicant="pemohon2")
    set_due(app, overdue, utcnow() - timedelta(hours=1))
    set_due(app, soon, utcnow() + timedelta(hours=5))
    set_due(app, siti, utcnow() + timedelta(days=3))
    verifikator = api("verifikator")

    assert set(cases_in(verifikator.get("/tasks?sla=overdue"))) == set(overdue)
    assert set(cases_in(verifikator.get("/tasks?sla=due_soon"))) == set(soon)
    assert set(cases_in(verifikator.get("/tasks?sop=issuance_ams"))) >= set(overdue + soon + siti)
    assert cases_in(verifikator.get("/tasks?sop=revocation")) == []
    assert cases_in(verifikator.get("/tasks?agency=dinkes")) == []  # the copies keep Diskominfo
    assert set(cases_in(verifikator.get("/tasks?agency=diskominfo"))) >= set(overdue + soon + siti)
    assert set(cases_in(verifikator.get(f"/tasks?q={SITI_NIK}"))) == set(siti)
    assert not set(cases_in(verifikator.get(f"/tasks?q={BUDI_NIK}"))) & set(siti)
    assert cases_in(verifikator.get(f"/tasks?q=%23{overdue[1]}")) == [overdue[1]]
    # Empty values mean "all", as the inbox form sends them.
    assert set(cases_in(verifikator.get("/tasks?sla=&sop=&q="))) >= set(overdue + soon + siti)

    row = verifikator.get("/tasks?sla=overdue").get_json()["claimable"][0]
    assert row["sla"] == "overdue" and row["due_at"] and row["applicant_name"] == "Budi Santoso"
    assert row["process_key"] == "issuance_ams" and row["sop_number"] == "088.9" and row["fast_track"] is False
    assert {"task_name", "lane", "form_key", "claimed_by", "status", "created_at"} <= row.keys()  # old fields kept

    # Sorted by due time: the overdue ones, then the one due soon, then the rest.
    ordered = [c for c in cases_in(verifikator.get("/tasks?sort=due")) if c in overdue + soon + siti]
    assert set(ordered[:2]) == set(overdue) and ordered[2:] == soon + siti

    task_id = verifikator.get(f"/tasks?q=%23{soon[0]}").get_json()["claimable"][0]["id"]
    assert verifikator.post(f"/tasks/{task_id}/claim").status_code == 200
    assert cases_in(verifikator.get("/tasks?claim=mine"), "mine") == soon
    assert cases_in(verifikator.get("/tasks?claim=mine")) == []
    assert soon[0] not in cases_in(verifikator.get("/tasks?claim=unclaimed"))


def test_fast_tracks_come_first_whatever_the_sort(app: Flask, api: Any) -> None:
    template = start_real_case(api)
    created = add_cases(app, template, 4, "Verifikator")
    with app.app_context():
        db.session.execute(update(HumanTask).where(HumanTask.instance_id == created[2]).values(priority="urgent"))
        db.session.commit()
    verifikator = api("verifikator")
    for sort in ("oldest", "newest", "due"):
        rows = verifikator.get(f"/tasks?sort={sort}").get_json()["claimable"]
        assert rows[0]["case_id"] == created[2] and rows[0]["fast_track"] is True, sort
        assert not any(r["fast_track"] for r in rows[1:])


def test_filtered_pages_follow_the_cursor_within_the_statement_budget(app: Flask, api: Any) -> None:
    template = start_real_case(api)
    created = add_cases(app, template, 12, "Verifikator")
    set_due(app, created, utcnow() - timedelta(hours=1))
    verifikator = api("verifikator")
    path = f"/tasks?sla=overdue&sop=issuance_ams&agency=diskominfo&q={BUDI_NIK}&sort=due&limit=5"
    verifikator.get(path)
    with counted(app) as statements:
        first = verifikator.get(path).get_json()
    assert len(statements) <= MAX_INBOX_STATEMENTS + 2  # + the SOP and agency lookups that check the filter
    seen = [t["case_id"] for t in first["claimable"]]
    cursor = first["next"]["claimable_after"]
    while cursor is not None:
        page = verifikator.get(path + f"&claimable_after={cursor}").get_json()
        seen += [t["case_id"] for t in page["claimable"]]
        cursor = page["next"]["claimable_after"]
    assert sorted(seen) == sorted(created) and len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sla=terlambat", "sla"),
        ("sla=OVERDUE", "sla"),
        ("claim=saya", "claim"),
        ("sort=zzz", "sort"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("limit=1e309", "limit"),
        ("sop=Issuance%20AMS", "sop"),
        ("sop=no_such_process", "sop"),
        ("agency=nowhere", "agency"),
        ("q=" + "9" * 101, "q"),
        ("claimable_after=1~abc~3", "claimable_after"),
        ("mine_after=9~~x", "mine_after"),
        ("klaim=saya", "klaim"),
    ],
)
def test_bad_values_are_refused_with_an_indonesian_message_per_parameter(api: Any, query: str, field: str) -> None:
    answer = api("verifikator").get(f"/tasks?{query}")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["error"] in ("Input tidak valid.", "Saringan tidak valid.")
    assert list(body["fields"]) == [field]
    message = body["fields"][field][0]
    assert message and not any(w in message for w in ("Not a valid", "Must be", "Unknown field", "Invalid"))


def test_control_characters_are_refused_before_the_filters(api: Any) -> None:
    answer = api("verifikator").get("/tasks?q=%00")
    assert answer.status_code == 422 and "karakter kontrol" in answer.get_json()["error"]


def test_the_parameters_are_in_the_openapi_document(client: Any) -> None:
    operation = client.get("/api/v1/openapi.json").get_json()["paths"]["/tasks"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"sop", "agency", "sla", "claim", "q", "sort", "limit", "mine_after", "claimable_after"}
    assert all(p["in"] == "query" and not p["required"] and p["description"] for p in parameters.values())
    assert parameters["sla"]["schema"]["enum"] == ["overdue", "due_soon"]
    assert parameters["claim"]["schema"]["enum"] == ["mine", "unclaimed"]
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert "422" in operation["responses"]
