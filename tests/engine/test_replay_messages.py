"""A BPMN message that fired is an input of the case: logged, replayed, and kept in regression fixtures.

088.9 gets a message catch event before its "issued" end (the archive's acknowledgement, `arsip_diterima`);
the case runs through HTTP, the message is delivered over the API, and replay delivers it again.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from lxml import etree
from sqlalchemy import select, update

from engine.models import AuditEvent, ProcessInstance, db
from engine.services import deploy
from engine.services.replay_cases import replay_case
from tests.engine.test_replay import returned_then_delivered
from tests.engine.test_replay_fixtures import KEY, original, versions_of

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
MESSAGE = "arsip_diterima"


def with_message(xml: str, label: str = "Tunggu tanda terima arsip") -> str:
    """088.9 waiting for the message `arsip_diterima` between archiving and the "issued" end."""
    root = etree.fromstring(xml.encode("utf-8"))
    process = root.xpath("//*[@id=$id]", id=KEY)[0]
    root.xpath("//*[@id='flow_to_end_delivered']")[0].set("targetRef", "wait_archive_ack")
    event = etree.SubElement(process, f"{{{BPMN}}}intermediateCatchEvent", id="wait_archive_ack", name=label)
    etree.SubElement(event, f"{{{BPMN}}}incoming").text = "flow_to_end_delivered"
    etree.SubElement(event, f"{{{BPMN}}}outgoing").text = "flow_ack_to_end"
    definition = etree.SubElement(
        event, f"{{{BPMN}}}messageEventDefinition", id="ack_definition", messageRef="msg_archive_ack"
    )
    # The payload lands in the case data as `tanda_terima`.
    extensions = etree.SubElement(definition, f"{{{BPMN}}}extensionElements")
    etree.SubElement(extensions, f"{{{SPIFF}}}messageVariable").text = "tanda_terima"
    etree.SubElement(
        process,
        f"{{{BPMN}}}sequenceFlow",
        id="flow_ack_to_end",
        sourceRef="wait_archive_ack",
        targetRef="end_delivered",
    )
    for incoming in root.xpath("//*[@id='end_delivered']")[0].iter(f"{{{BPMN}}}incoming"):
        if incoming.text == "flow_to_end_delivered":
            incoming.text = "flow_ack_to_end"
    root.insert(list(root).index(process), etree.Element(f"{{{BPMN}}}message", id="msg_archive_ack", name=MESSAGE))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def status_of(app: Flask, case_id: int) -> str:
    with app.app_context():
        db.session.expire_all()
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        return case.status


def test_a_delivered_message_is_logged_replayed_and_kept_in_a_fixture(app: Flask, api: Any) -> None:
    with app.app_context():
        deploy.deploy(with_message(original()), KEY, "pemilik")
    case_id = returned_then_delivered(api)
    assert status_of(app, case_id) == "running"
    admin = api("admin")

    wrong = admin.post(f"/cases/{case_id}/messages", json={"name": "lain", "payload": {}})
    assert wrong.status_code == 409 and f"'{MESSAGE}'" in wrong.get_json()["error"]
    assert api("auditor").post(f"/cases/{case_id}/messages", json={"name": MESSAGE}).status_code == 403
    delivered = admin.post(f"/cases/{case_id}/messages", json={"name": MESSAGE, "payload": {"nomor_arsip": "A-7"}})
    assert delivered.status_code == 200, delivered.get_json()
    assert status_of(app, case_id) == "completed"
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.kind == "message_received")).scalar_one()
        assert event.actor == "admin" and json.loads(event.payload_json) == {
            "message": MESSAGE,
            "payload": {"nomor_arsip": "A-7"},
        }
        step = db.session.execute(
            select(AuditEvent).where(AuditEvent.kind == "step_completed", AuditEvent.task_name == "wait_archive_ack")
        ).scalar_one()
        assert json.loads(step.payload_json)["triggered_by"] == "admin" and step.seq > event.seq

    # Replay delivers the message again at its recorded place: equal to the record, payload included.
    with app.app_context():
        result = replay_case(case_id).result
        assert result.difference is None, result.difference
        assert result.final["data"]["tanda_terima"] == {"nomor_arsip": "A-7"}

    # In a fixture, the message is one of the inputs; a diagram that no longer waits for it is refused.
    saved = admin.post(f"/processes/{KEY}/regressions", json={"case_id": case_id, "name": "dengan-pesan"})
    assert saved.status_code == 201, saved.get_json()
    listed = admin.get(f"/processes/{KEY}/regressions").get_json()
    assert [f["name"] for f in listed] == ["dengan-pesan"]
    relabelled = admin.post(f"/processes/{KEY}/check", json={"xml": with_message(original(), "Tanda terima arsip")})
    assert [r["passed"] for r in relabelled.get_json()["regressions"]] == [True], relabelled.get_json()
    before = versions_of(app)
    refused = admin.post(f"/processes/{KEY}/publish", json={"xml": original()})
    assert refused.status_code == 422, refused.get_json()
    assert "uji regresi 'dengan-pesan'" in refused.get_json()["message"]
    assert versions_of(app) == before


def test_replay_reports_a_changed_message_where_it_was_recorded(app: Flask, api: Any) -> None:
    with app.app_context():
        deploy.deploy(with_message(original()), KEY, "pemilik")
    case_id = returned_then_delivered(api)
    answer = api("admin").post(f"/cases/{case_id}/messages", json={"name": MESSAGE, "payload": {"nomor_arsip": "A-7"}})
    assert answer.status_code == 200
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(AuditEvent.kind == "message_received")).scalar_one()
        # Another payload: the stored data no longer follows from the record, named at the message.
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.id == event.id)
            .values(payload_json=json.dumps({"message": MESSAGE, "payload": {"nomor_arsip": "B-1"}}))
        )
        db.session.commit()
        result = replay_case(case_id).result
        assert result.difference is not None and "tanda_terima" in result.difference.message, result.difference
        # Another message name: the re-executed case does not wait for it.
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.id == event.id)
            .values(payload_json=json.dumps({"message": "lain", "payload": {}}))
        )
        db.session.commit()
        result = replay_case(case_id).result
        assert result.difference is not None and result.difference.seq == event.seq
        assert "pesan 'lain' tercatat diterima" in result.difference.message
