"""Deploying diagrams: versions, running cases pinned to their version, deploy checks and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import func, select

from engine import runtime
from engine.cli import deploy_command
from engine.models import AuditEvent, ProcessDeployment, ProcessInstance, db
from engine.services import deploy
from engine.services.errors import Invalid
from tests.sops.builders import registration
from tests.sops.test_issuance_ams import only_task

KEY = "issuance_ams"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SERTEL = "https://sertel.id/schema/bpmn/1.0"


def original_xml() -> str:
    return (deploy.PROCESSES_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")


def v1_label() -> str:
    """The label of the recommendation task as deployed from processes/."""
    return runtime.element_labels(original_xml())["recommendation"]


def changed_xml() -> str:
    """The issuance diagram with the recommendation task relabelled: a new version."""
    old = f'id="recommendation" name="{v1_label()}"'
    assert old in original_xml()
    return original_xml().replace(old, 'id="recommendation" name="Rekomendasi atasan (versi 2)"')


def edited(xml: str, change: Callable[[etree._Element], None]) -> str:
    """The document after `change` edited its element tree."""
    root = etree.fromstring(xml.encode("utf-8"))
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def first(root: etree._Element, tag: str) -> etree._Element:
    element = next(root.iter(tag), None)
    assert element is not None, f"no {tag} in {KEY}.bpmn"
    return element


def with_unknown_operator(xml: str) -> tuple[str, str]:
    """The document with its first service task calling an unregistered operator; and that task's id."""
    task_id: list[str] = []

    def change(root: etree._Element) -> None:
        task = first(root, f"{{{BPMN}}}serviceTask")
        first(task, f"{{{SPIFF}}}serviceTaskOperator").set("id", "common.no_such_operator")
        task_id.append(task.get("id", ""))

    return edited(xml, change), task_id[0]


def with_user_task_renamed(xml: str, new_id: str) -> tuple[str, str]:
    """The document with its first user task given an id that has no webform; and the old id."""
    old_id: list[str] = []

    def change(root: etree._Element) -> None:
        old = first(root, f"{{{BPMN}}}userTask").get("id", "")
        old_id.append(old)
        for el in root.iter():
            for attr in ("id", "sourceRef", "targetRef", "bpmnElement"):
                if el.get(attr) == old:
                    el.set(attr, new_id)
            if el.tag == f"{{{BPMN}}}flowNodeRef" and el.text == old:
                el.text = new_id

    return edited(xml, change), old_id[0]


def versions(key: str = KEY) -> list[int]:
    return list(db.session.execute(select(ProcessDeployment.version).where(ProcessDeployment.key == key).order_by(ProcessDeployment.version)).scalars())


def start_case(api: Any, username: str = "pemohon") -> tuple[Any, int]:
    pemohon = api(username)
    response = pemohon.post("/cases", json={"process_key": KEY})
    assert response.status_code == 201, response.get_json()
    return pemohon, response.get_json()["case"]["id"]


def test_deploying_the_same_xml_again_keeps_the_version(app: Flask) -> None:
    with app.app_context():
        first = deploy.latest(KEY)
        assert first is not None and first.version == 1
        again, created = deploy.deploy(original_xml(), KEY, "test")
        assert not created
        assert again.id == first.id and versions() == [1]


def test_changed_xml_becomes_version_two_with_its_own_definition(app: Flask) -> None:
    with app.app_context():
        deployment, created = deploy.deploy(changed_xml(), KEY, "test")
        assert created and deployment.version == 2 and deployment.deployed_by == "test"
        assert versions() == [1, 2]
        assert deploy.latest(KEY).id == deployment.id  # type: ignore[union-attr]
        assert "versi 2" in deployment.spec_json


def test_a_change_to_a_shared_call_activity_is_a_new_version(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = deploy.common_processes()
    changed = {
        name: text.replace('name="Verifikasi', 'name="Verifikasi (ubah)') if "common_verification" in name else text
        for name, text in shared.items()
    }
    assert changed != shared
    monkeypatch.setattr(deploy, "common_processes", lambda: changed)
    with app.app_context():
        deployment, created = deploy.deploy(original_xml(), KEY, "test")
        assert created and deployment.version == 2


def test_case_started_on_version_one_stays_on_it_after_a_new_deployment(app: Flask, api: Any) -> None:
    pemohon, old_case = start_case(api)
    with app.app_context():
        deploy.deploy(changed_xml(), KEY, "test")

    task = only_task(pemohon, old_case, "registration_form")
    response = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()

    assert only_task(api("atasan"), old_case, "recommendation")["label"] == v1_label()
    assert pemohon.get(f"/cases/{old_case}").get_json()["case"]["process_version"] == 1
    siti, new_case = start_case(api, "pemohon2")  # pemohon's own request is still running
    assert siti.get(f"/cases/{new_case}").get_json()["case"]["process_version"] == 2
    with app.app_context():
        assert db.session.get(ProcessInstance, old_case).deployment.version == 1  # type: ignore[union-attr]


def test_unknown_operator_fails_naming_the_element(app: Flask) -> None:
    xml, task_id = with_unknown_operator(original_xml())
    with app.app_context():
        with pytest.raises(Invalid) as caught:
            deploy.deploy(xml, KEY, "test")
        assert list(caught.value.fields) == [task_id]
        [message] = caught.value.fields[task_id]
        assert message.startswith(f"tugas layanan '{task_id}'") and message.endswith("operator 'common.no_such_operator' tidak terdaftar")
        assert versions() == [1]


def test_form_missing_from_the_catalogue_fails_naming_the_user_task(app: Flask) -> None:
    def change(root: etree._Element) -> None:
        first(root, f"{{{BPMN}}}userTask").find(f".//{{{SERTEL}}}form").set("name", "no_such_form")  # type: ignore[union-attr]

    with app.app_context():
        with pytest.raises(Invalid) as caught:
            deploy.deploy(edited(original_xml(), change), KEY, "test")
        assert caught.value.fields == {
            "registration_form": [
                "tugas pengguna 'registration_form' (Isi formulir pendaftaran dan unggah dokumen): "
                "formulir 'no_such_form' tidak ada di katalog formulir"
            ]
        }
        assert versions() == [1]


def test_renamed_user_task_keeps_its_form(app: Flask) -> None:
    xml, old = with_user_task_renamed(original_xml(), "handover")
    with app.app_context():
        # Its data keeps the name the rest of the diagram reads only when the form says so.
        with pytest.raises(Invalid) as caught:
            deploy.deploy(xml, KEY, "test")
        assert any(f"'{old}'" in message for messages in caught.value.fields.values() for message in messages)
        xml = xml.replace('<sertel:form name="registration">', f'<sertel:form name="registration" output="{old}">', 1)
        deployment, created = deploy.deploy(xml, KEY, "test")
        assert created and deployment.version == 2


def test_process_id_must_match_the_key(app: Flask) -> None:
    with app.app_context():
        with pytest.raises(Invalid, match="id 'issuance_other'.*ditemukan: issuance_ams"):
            deploy.deploy(original_xml(), "issuance_other", "test")
        assert versions("issuance_other") == []


def test_empty_document_is_invalid(app: Flask) -> None:
    with app.app_context(), pytest.raises(Invalid, match="ditemukan: tidak ada"):
        deploy.deploy("   ", KEY, "test")


def test_malformed_xml_is_invalid_not_a_crash(app: Flask) -> None:
    with app.app_context(), pytest.raises(Invalid):
        deploy.deploy(original_xml()[:-40], KEY, "test")


def test_deploy_is_recorded_in_the_system_log(app: Flask) -> None:
    with app.app_context():
        deploy.deploy(changed_xml(), KEY, "alice")
        last = db.session.execute(select(AuditEvent).where(AuditEvent.stream == "system").order_by(AuditEvent.seq.desc())).scalars().first()
        assert last is not None and last.kind == "process_deployed" and last.actor == "alice"
        assert json.loads(last.payload_json)["version"] == 2


def test_cli_deploy_prints_the_version(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "diagrams"
    folder.mkdir()
    path = folder / f"{KEY}.bpmn"
    path.write_text(original_xml(), encoding="utf-8")
    runner = app.test_cli_runner()

    unchanged = runner.invoke(deploy_command, [str(path)])
    assert unchanged.exit_code == 0, unchanged.output
    assert unchanged.output.startswith(f"{KEY}: v1 (tidak berubah")

    path.write_text(changed_xml(), encoding="utf-8")
    created = runner.invoke(deploy_command, [str(path), "--actor", "operator"])
    assert created.exit_code == 0, created.output
    assert created.output.startswith(f"{KEY}: v2 (versi baru")
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(ProcessDeployment).where(ProcessDeployment.deployed_by == "operator")).scalar() == 1


def test_cli_deploy_of_a_broken_diagram_exits_1_naming_the_element(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / f"{KEY}.bpmn"
    xml, task_id = with_unknown_operator(original_xml())
    path.write_text(xml, encoding="utf-8")
    result = app.test_cli_runner().invoke(deploy_command, [str(path)])
    assert result.exit_code == 1
    assert f"  {task_id}: tugas layanan '{task_id}'" in result.stderr
    assert "operator 'common.no_such_operator' tidak terdaftar" in result.stderr
