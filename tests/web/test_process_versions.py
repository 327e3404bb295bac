"""Versions of a process over the process-owner API: draft, publish, roll back and migrate running cases.

The changed diagram adds a second Atasan approval to SOP 088.9 that reuses the recommendation form. Until
user tasks name their form in the diagram (`sertel:form`, issue 9), the form is found by the convention
"<process>.<task id>", so the `second_approval_form` fixture registers the recommendation form under the
new task's key as well; the diagram already carries the `sertel:form` element for when they do.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select

from engine import registry
from engine.models import AuditEvent, db
from engine.services import deploy
from tests.sops.builders import APPROVE, csr_pem, registration
from tests.sops.test_issuance_ams import case_of, only_task, recommend, verify

KEY = "issuance_ams"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SERTEL = "https://sertel.id/schema/bpmn/1.0"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SITI = {"full_name": None, "nik": None, "nip": None, "agency_code": None, "email": None, "position": None}


def original_xml() -> str:
    return (deploy.PROCESSES_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")


def _by_id(root: etree._Element, element_id: str) -> etree._Element:
    found = root.xpath("//*[@id=$id]", id=element_id)
    assert len(found) == 1, element_id
    return found[0]


def second_approval_xml() -> str:
    """088.9 with a second Atasan approval after an approving recommendation, before the automated checks."""
    root = etree.fromstring(original_xml().encode("utf-8"))
    process = _by_id(root, KEY)
    approved = _by_id(root, "flow_recommendation_approved")
    assert approved.get("targetRef") == "automated_checks"
    approved.set("targetRef", "recommendation_second")
    task = etree.SubElement(process, f"{{{BPMN}}}userTask", id="recommendation_second", name="Rekomendasi kedua")
    extensions = etree.SubElement(task, f"{{{BPMN}}}extensionElements")
    etree.SubElement(extensions, f"{{{SERTEL}}}form", name="recommendation", output="recommendation_second")
    etree.SubElement(task, f"{{{BPMN}}}incoming").text = "flow_recommendation_approved"
    etree.SubElement(task, f"{{{BPMN}}}outgoing").text = "flow_to_automated_checks"
    etree.SubElement(
        process,
        f"{{{BPMN}}}sequenceFlow",
        id="flow_to_automated_checks",
        sourceRef="recommendation_second",
        targetRef="automated_checks",
    )
    checks = _by_id(root, "automated_checks")
    for incoming in checks.iter(f"{{{BPMN}}}incoming"):
        if incoming.text == "flow_recommendation_approved":
            incoming.text = "flow_to_automated_checks"
    lane = _by_id(root, "lane_atasan")
    etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = "recommendation_second"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def unknown_operator_xml() -> tuple[str, str]:
    root = etree.fromstring(original_xml().encode("utf-8"))
    task = next(root.iter(f"{{{BPMN}}}serviceTask"))
    next(task.iter(f"{{{SPIFF}}}serviceTaskOperator")).set("id", "common.no_such_operator")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8"), task.get("id", "")


@pytest.fixture
def second_approval_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recommendation form also serves the task 'recommendation_second' (see the module docstring)."""
    form = registry.form_for(f"{KEY}.recommendation")
    assert form is not None
    monkeypatch.setitem(registry._forms, f"{KEY}.recommendation_second", form)
    if hasattr(deploy, "form_exists"):
        real = deploy.form_exists
        monkeypatch.setattr(
            deploy, "form_exists", lambda process, task: task == "recommendation_second" or real(process, task)
        )


def put(user: Any, path: str, **kwargs: Any) -> Any:
    return user.client.put(f"/api/v1{path}", headers=user.headers, **kwargs)


def publish(admin: Any, xml: str | None = None) -> Any:
    return admin.post(f"/processes/{KEY}/publish", json={} if xml is None else {"xml": xml})


def start(user: Any) -> int:
    response = user.post("/cases", json={"process_key": KEY})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["case"]["id"])


def register(user: Any, case_id: int, **overrides: Any) -> None:
    task = only_task(user, case_id, "registration_form")
    response = user.post(
        f"/tasks/{task['id']}/complete", data=registration(**overrides), content_type="multipart/form-data"
    )
    assert response.status_code == 200, response.get_json()


def siti_recommended(api: Any) -> int:
    """Siti (pemohon2) applies and her head (atasan2) recommends: the case waits for what comes next."""
    siti = api("pemohon2")
    case_id = start(siti)
    register(siti, case_id, **SITI)
    atasan2 = api("atasan2")
    task = only_task(atasan2, case_id, "recommendation")
    assert atasan2.post(f"/tasks/{task['id']}/complete", json={"decision": "approve"}).status_code == 200
    return case_id


def open_task_names(user: Any, case_id: int) -> set[str]:
    listing = user.get("/tasks").get_json()
    return {t["task_name"] for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id}


def finish_after_recommendation(api: Any, pemohon: Any, case_id: int) -> dict[str, Any]:
    """Verify, activate and confirm receipt of Budi's case; return the case as he sees it."""
    assert verify(api, case_id, APPROVE).status_code == 200
    csr, _key = csr_pem()
    activation = only_task(pemohon, case_id, "activation")
    response = pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    assert response.status_code == 200, response.get_json()
    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    return case_of(pemohon, case_id)


def audit_kinds(app: Flask, actor: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(select(AuditEvent.kind).where(AuditEvent.actor == actor).order_by(AuditEvent.id)).scalars()
        )


def test_a_published_change_takes_new_cases_while_a_running_case_finishes_on_its_version(
    api: Any, app: Flask, second_approval_form: None
) -> None:
    budi = api("pemohon")
    old_case = start(budi)
    register(budi, old_case)

    admin = api("admin")
    saved = put(admin, f"/processes/{KEY}/draft", json={"xml": second_approval_xml()})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["problems"] == []
    detail = admin.get(f"/processes/{KEY}").get_json()
    assert detail["current"]["version"] == 1
    assert detail["draft"]["base_version"] == 1 and detail["draft"]["saved_by"] == "admin"
    assert 'id="recommendation_second"' in detail["draft"]["xml"]
    listed = {p["key"]: p for p in admin.get("/processes").get_json()}
    assert listed[KEY]["current_version"] == 1 and listed[KEY]["draft"]["saved_by"] == "admin"

    published = publish(admin)  # the draft
    assert published.status_code == 201, published.get_json()
    assert published.get_json() == {"version": 2}
    assert admin.get(f"/processes/{KEY}").get_json()["draft"] is None
    listing = admin.get(f"/processes/{KEY}/versions").get_json()
    assert [(v["version"], v["is_current"], v["running_cases"]) for v in listing] == [(2, True, 0), (1, False, 1)]
    assert listing[0]["published_by"] == "admin" and listing[0]["rolled_back_from"] is None
    xml = admin.get(f"/processes/{KEY}/versions/2/xml")
    assert xml.mimetype == "application/xml" and b'id="recommendation_second"' in xml.data
    assert {"process_draft_saved", "process_deployed"} <= set(audit_kinds(app, "admin"))

    # A new case takes the new path: a second Atasan approval before the verification.
    new_case = siti_recommended(api)
    assert case_of(api("pemohon2"), new_case)["case"]["process_version"] == 2
    atasan2 = api("atasan2")
    assert open_task_names(atasan2, new_case) == {"recommendation_second"}
    assert open_task_names(api("verifikator"), new_case) == set()
    second = only_task(atasan2, new_case, "recommendation_second")
    assert second["label"] == "Rekomendasi kedua"
    assert atasan2.post(f"/tasks/{second['id']}/complete", json={"decision": "approve"}).status_code == 200
    assert open_task_names(api("verifikator"), new_case) == {"verification"}

    # The case started before goes from the recommendation straight to the verification, and finishes.
    assert recommend(api, old_case).status_code == 200
    assert open_task_names(api("atasan"), old_case) == set()
    finished = finish_after_recommendation(api, budi, old_case)
    assert finished["case"]["status"] == "completed" and finished["case"]["outcome"] == "end_delivered"
    assert finished["case"]["process_version"] == 1


def test_rollback_publishes_the_old_definition_as_a_new_version_and_new_cases_start_on_it(
    api: Any, second_approval_form: None
) -> None:
    admin = api("admin")
    assert publish(admin, second_approval_xml()).status_code == 201
    # Publishing what is current again changes nothing.
    again = publish(admin, second_approval_xml())
    assert again.status_code == 200 and again.get_json() == {"version": 2, "unchanged": True}

    rolled = admin.post(f"/processes/{KEY}/rollback", json={"version": 1})
    assert rolled.status_code == 201, rolled.get_json()
    assert rolled.get_json() == {"version": 3, "rolled_back_from": 1}
    listing = admin.get(f"/processes/{KEY}/versions").get_json()
    assert [(v["version"], v["is_current"], v["rolled_back_from"]) for v in listing] == [
        (3, True, 1),
        (2, False, None),
        (1, False, None),
    ]
    assert listing[0]["sha256"] == listing[2]["sha256"]
    assert admin.get(f"/processes/{KEY}/versions/3/xml").data == admin.get(f"/processes/{KEY}/versions/1/xml").data
    assert admin.post(f"/processes/{KEY}/rollback", json={"version": 3}).status_code == 409  # already current

    new_case = siti_recommended(api)
    assert case_of(api("pemohon2"), new_case)["case"]["process_version"] == 3
    assert open_task_names(api("atasan2"), new_case) == set()
    assert open_task_names(api("verifikator"), new_case) == {"verification"}

    # The same definition as an older (not the current) version is published as a new version.
    republished = publish(admin, second_approval_xml())
    assert republished.status_code == 201 and republished.get_json() == {"version": 4}


def test_only_admins_change_processes_and_staff_read_them(api: Any) -> None:
    xml = second_approval_xml()
    for username in ("pemohon", "atasan", "verifikator", "auditor"):
        user = api(username)
        assert put(user, f"/processes/{KEY}/draft", json={"xml": xml}).status_code == 403
        assert publish(user, xml).status_code == 403
        assert user.post(f"/processes/{KEY}/rollback", json={"version": 1}).status_code == 403
        assert user.post(f"/processes/{KEY}/check", json={"xml": xml}).status_code == 403
        assert user.post(f"/processes/{KEY}/migrations", json={"from": 1, "to": 1}).status_code == 403
    for username in ("pemohon", "atasan", "verifikator"):
        assert api(username).get(f"/processes/{KEY}/versions").status_code == 403
    auditor = api("auditor")
    assert auditor.get(f"/processes/{KEY}").status_code == 200
    assert [v["version"] for v in auditor.get(f"/processes/{KEY}/versions").get_json()] == [1]
    # Everybody may list the processes (to start one), with their current version.
    listed = {p["key"]: p for p in api("pemohon").get("/processes").get_json()}
    assert listed[KEY]["current_version"] == 1 and listed[KEY]["draft"] is None
    assert api("pemohon").client.get("/api/v1/processes").status_code == 401


def test_a_broken_diagram_is_refused_with_problems_per_element_and_nothing_changes(api: Any) -> None:
    admin = api("admin")
    xml, task_id = unknown_operator_xml()
    checked = admin.post(f"/processes/{KEY}/check", json={"xml": xml})
    assert checked.status_code == 200
    assert checked.get_json()["problems"] == [
        {"element_id": task_id, "message": "operator 'common.no_such_operator' tidak terdaftar"}
    ]
    refused = publish(admin, xml)
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["problems"] == checked.get_json()["problems"] and body["message"]

    not_xml = publish(admin, "<bpmn:definitions")
    assert not_xml.status_code == 422 and not_xml.get_json()["problems"][0]["element_id"] == KEY
    assert put(admin, f"/processes/{KEY}/draft", json={"xml": "<bpmn:definitions"}).status_code == 422
    assert admin.post(f"/processes/{KEY}/publish", json={}).status_code == 422  # no draft to publish

    # A draft may hold problems (it is work in progress); publishing it is refused.
    saved = put(admin, f"/processes/{KEY}/draft", json={"xml": xml})
    assert saved.status_code == 200 and saved.get_json()["problems"] == checked.get_json()["problems"]
    assert publish(admin).status_code == 422
    assert [v["version"] for v in admin.get(f"/processes/{KEY}/versions").get_json()] == [1]


def test_migration_preview_and_move_of_running_cases(api: Any, app: Flask, second_approval_form: None) -> None:
    admin = api("admin")
    assert publish(admin, second_approval_xml()).status_code == 201
    budi = api("pemohon")
    movable = start(budi)  # on version 2, waiting for the registration form
    blocked = siti_recommended(api)  # on version 2, waiting for the second approval
    assert admin.post(f"/processes/{KEY}/rollback", json={"version": 1}).get_json()["version"] == 3

    preview = admin.get(f"/processes/{KEY}/migrations/preview?from=2&to=3")
    assert preview.status_code == 200, preview.get_json()
    plan = preview.get_json()
    assert plan["movable"] == [{"case_id": movable, "tasks": ["registration_form"]}]
    assert [b["case_id"] for b in plan["blocked"]] == [blocked]
    assert "recommendation_second" in plan["blocked"][0]["reason"]
    assert "tidak ada di versi 3" in plan["blocked"][0]["reason"]
    assert api("auditor").get(f"/processes/{KEY}/migrations/preview?from=2&to=3").status_code == 200

    moved = admin.post(f"/processes/{KEY}/migrations", json={"from": 2, "to": 3})
    assert moved.status_code == 200, moved.get_json()
    result = moved.get_json()
    assert result["migrated"] == [movable]
    assert [b["case_id"] for b in result["blocked"]] == [blocked]
    assert case_of(budi, movable)["case"]["process_version"] == 3
    assert case_of(api("pemohon2"), blocked)["case"]["process_version"] == 2
    assert "case_migrated" in [e["kind"] for e in case_of(budi, movable)["timeline"]]
    assert [v["running_cases"] for v in admin.get(f"/processes/{KEY}/versions").get_json()] == [1, 1, 0]

    # The moved case runs on version 3's path (no second approval) to the end.
    register(budi, movable)
    assert recommend(api, movable).status_code == 200
    assert open_task_names(api("atasan"), movable) == set()
    finished = finish_after_recommendation(api, budi, movable)
    assert finished["case"]["status"] == "completed" and finished["case"]["outcome"] == "end_delivered"
    # The blocked case still continues on its own version.
    assert open_task_names(api("atasan2"), blocked) == {"recommendation_second"}
