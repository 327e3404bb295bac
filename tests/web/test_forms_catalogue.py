"""Forms chosen by name from the catalogue, their inputs and outputs, diagram properties, and GET /catalogue.

Diagrams are changed as a process owner would change them (only the XML), then deployed; cases run over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import lxml.html
import time_machine
from flask import Flask
from lxml import etree
from sqlalchemy import select

from engine.config import ROOT
from engine.models import OutboxMail, ProcessInstance, db
from engine.services import deploy
from engine.services.timers import fire_due_timers
from tests.sops.builders import RECOMMEND
from tests.sops.test_issuance_ams import only_task, recommend, start_and_register
from tests.web_login import login

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SERTEL = "https://sertel.id/schema/bpmn/1.0"
KEY = "issuance_ams"
# After the test PSrE is created (the RA seal and TSA certificates start then): the form PDFs are sealed.
START = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)


def edited(change: Callable[[etree._Element], None]) -> str:
    """processes/issuance_ams.bpmn with `change` applied, as text."""
    root = etree.fromstring((ROOT / "processes" / f"{KEY}.bpmn").read_bytes())
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def by_id(root: etree._Element, element_id: str) -> etree._Element:
    [found] = root.xpath(f"//*[@id='{element_id}']")
    return found


def with_second_recommendation(root: etree._Element) -> None:
    """A second Atasan approval after the first, reusing the recommendation form, stored as recommendation_second."""
    first = by_id(root, "recommendation")
    outgoing = by_id(root, "flow_to_recommendation_pdf")
    second = etree.fromstring(
        f'<bpmn:userTask xmlns:bpmn="{BPMN}" xmlns:sertel="{SERTEL}" id="recommendation_second" name="Rekomendasi kedua">'
        '<bpmn:extensionElements><sertel:form name="recommendation" output="recommendation_second">'
        '<sertel:input name="registration" value="registration_form" /></sertel:form></bpmn:extensionElements>'
        "<bpmn:incoming>flow_to_recommendation_second</bpmn:incoming>"
        "<bpmn:outgoing>flow_to_recommendation_pdf</bpmn:outgoing></bpmn:userTask>"
    )
    first.addnext(second)
    first.find(f"{{{BPMN}}}outgoing").text = "flow_to_recommendation_second"  # type: ignore[union-attr]
    outgoing.set("sourceRef", "recommendation_second")
    outgoing.addprevious(
        etree.fromstring(
            f'<bpmn:sequenceFlow xmlns:bpmn="{BPMN}" id="flow_to_recommendation_second" '
            'sourceRef="recommendation" targetRef="recommendation_second" />'
        )
    )
    lane_ref = etree.SubElement(first.getparent().find(f".//{{{BPMN}}}lane[@name='Atasan']"), f"{{{BPMN}}}flowNodeRef")  # type: ignore[arg-type, union-attr]
    lane_ref.text = "recommendation_second"


def with_property(name: str, value: str) -> Callable[[etree._Element], None]:
    """Give the main process a `<sertel:property>` (next to its start form)."""

    def change(root: etree._Element) -> None:
        extensions = by_id(root, KEY).find(f"{{{BPMN}}}extensionElements")
        assert extensions is not None
        properties = etree.SubElement(extensions, f"{{{SERTEL}}}properties")
        etree.SubElement(properties, f"{{{SERTEL}}}property", name=name, value=value)

    return change


def test_one_form_serves_a_second_approval_whose_submission_lands_under_its_output(app: Flask, api: Any) -> None:
    with app.app_context():
        deployment, created = deploy.deploy(edited(with_second_recommendation), KEY, "admin")
        assert created and deployment.version == 2
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200

    atasan = api("atasan")
    task = only_task(atasan, case_id, "recommendation_second")
    assert task["form_key"] == "recommendation"
    form = atasan.get(f"/tasks/{task['id']}/form").get_json()
    # The registration reaches the second step's form, cut by the field table for the Atasan (phone hidden).
    assert form["inputs"]["registration"]["full_name"] == "Budi Santoso"
    assert form["inputs"]["registration"]["phone"] == "— disembunyikan (perlu-tahu)"
    second = {**RECOMMEND, "notes": "Disetujui pada rekomendasi kedua."}
    response = atasan.post(f"/tasks/{task['id']}/complete", json=second)
    assert response.status_code == 200, response.get_json()

    data = api("verifikator").get(f"/cases/{case_id}").get_json()["data"]
    assert data["recommendation_second"]["notes"] == "Disetujui pada rekomendasi kedua."
    assert data["recommendation"]["notes"] != data["recommendation_second"]["notes"]
    assert only_task(api("verifikator"), case_id, "verification")["status"] == "open"


def test_inputs_reach_the_template(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    task = only_task(api("atasan"), case_id, "recommendation")
    browser = app.test_client()
    login(browser, "atasan")
    page = browser.get(f"/tugas/{task['id']}")
    assert page.status_code == 200
    summary = lxml.html.fromstring(page.get_data(as_text=True)).xpath("//section[h2='Data Pemohon']")[0].text_content()
    # The position is only in the registration the applicant submitted: the template sees it as
    # inputs.registration; the phone is there too but the field table hides it from the Atasan.
    assert "Pranata Komputer" in summary and "Budi Santoso" in summary
    assert "0812-3456-7890" not in summary and "disembunyikan (perlu-tahu)" in summary


def test_a_form_sees_nothing_of_the_case_the_diagram_does_not_give_it(app: Flask, api: Any) -> None:
    def without_inputs(root: etree._Element) -> None:
        form = by_id(root, "recommendation").find(f".//{{{SERTEL}}}form")
        assert form is not None
        for element in list(form):
            form.remove(element)

    with app.app_context():
        deploy.deploy(edited(without_inputs), KEY, "admin")
    _pemohon, case_id = start_and_register(api)
    task = only_task(api("atasan"), case_id, "recommendation")
    browser = app.test_client()
    login(browser, "atasan")
    page = browser.get(f"/tugas/{task['id']}")
    assert page.status_code == 200
    assert "0812-3456-7890" not in page.get_data(as_text=True)


def test_a_diagram_property_overrides_the_settings_default_for_the_verification_reminder(app: Flask, api: Any) -> None:
    # The owner's change goes through the modeler's API: publish the edited diagram, no Python.
    published = api("admin").post(f"/processes/{KEY}/publish", json={"xml": edited(with_property("sla_verification_reminder", "P1D"))})
    assert published.status_code == 201, published.get_json()
    with time_machine.travel(START, tick=False):
        _pemohon, case_id = start_and_register(api)
        assert recommend(api, case_id).status_code == 200
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None and case.next_timer_at == (START + timedelta(days=1)).replace(tzinfo=None)

    with time_machine.travel(START + timedelta(hours=23), tick=False), app.app_context():
        assert fire_due_timers() == 0
    with time_machine.travel(START + timedelta(days=1, minutes=1), tick=False), app.app_context():
        assert fire_due_timers() == 1
        sent = db.session.execute(select(OutboxMail).where(OutboxMail.template == "verification_reminder")).scalars().all()
        assert [m.instance_id for m in sent] == [case_id]


def test_catalogue_lists_forms_operators_roles_and_settings(api: Any) -> None:
    assert api("pemohon").get("/catalogue").status_code == 403
    assert api("auditor").get("/catalogue").status_code == 200
    body = api("admin").get("/catalogue").get_json()

    forms = {f["name"]: f for f in body["forms"]}
    assert {"registration", "recommendation", "verification", "activation", "delivery", "issuance_ams.start"} <= set(forms)
    registration_fields = {f["name"]: f for f in forms["registration"]["fields"]}
    assert registration_fields["phone"]["required"] is True
    assert registration_fields["ktp_scan"].get("document") is True
    assert registration_fields["nik"]["bound"] == "applicant.nik"
    assert forms["registration"]["title"] and forms["registration"]["template"] == "webforms/registration.html"

    operators = {o["name"]: o for o in body["operators"]}
    assert "common.form_pdf" in operators and operators["common.form_pdf"]["doc"]
    assert operators["common.form_pdf"]["version"] in operators["common.form_pdf"]["versions"]
    assert all(isinstance(o["params"], list) and isinstance(o["results"], list) for o in body["operators"])

    assert {"lane": "Verifikator", "role": "Verifikator"} in body["roles"]
    settings = {s["name"]: s for s in body["settings"]}
    assert settings["sla_verification_reminder"] == {"name": "sla_verification_reminder", "default": "P2D", "kind": "duration"}
    assert settings["cert_validity_days"]["kind"] == "int"
    assert not any("secret" in name or "kek" in name or "database" in name for name in settings)


def test_catalogue_is_in_the_openapi_document(client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/catalogue"]


def test_the_start_form_is_the_one_the_diagram_names(app: Flask, api: Any) -> None:
    def without_start_form(root: etree._Element) -> None:
        extensions = by_id(root, KEY).find(f"{{{BPMN}}}extensionElements")
        assert extensions is not None
        extensions.getparent().remove(extensions)  # type: ignore[union-attr]

    # With its start form (no fields of its own), extra start data is dropped and the case starts.
    started = api("pemohon").post("/cases", json={"process_key": KEY, "data": {"note": "x"}})
    assert started.status_code == 201, started.get_json()
    with app.app_context():
        deploy.deploy(edited(without_start_form), KEY, "admin")
    refused = api("pemohon2").post("/cases", json={"process_key": KEY, "data": {"note": "x"}})
    assert refused.status_code == 422
    assert "tidak menerima data awal" in refused.get_json()["error"]
