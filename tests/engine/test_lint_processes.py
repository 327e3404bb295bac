"""scripts/lint-processes.mjs: bpmnlint's recommended rules plus the Sertel plugin, the modeler's live checks, in CI.

The catalogue comes from the app itself (GET /api/v1/catalogue, what the modeler loads).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "lint-processes.mjs"
PROCESSES = ROOT / "processes"

CATALOGUE = {
    "forms": [{"name": "recommendation", "title": "Rekomendasi", "fields": [{"name": "decision", "required": True}]}],
    "operators": [
        {
            "name": "common.form_pdf",
            "version": 2,
            "versions": [1, 2],
            "doc": "",
            "params": [
                {"name": "form", "type": "str", "required": True, "doc": ""},
                {"name": "submission", "type": "any", "required": True, "doc": ""},
            ],
            "results": ["document_id"],
        }
    ],
    "roles": [{"lane": "Atasan", "role": "Atasan"}],
    "settings": [{"name": "sla_verification_reminder", "default": "P2D", "kind": "duration"}],
}

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:sertel="https://sertel.id/schema/bpmn/1.0"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
"""


def diagram(form: str, operator: str, lane: str, timer: str, dead_end: bool) -> str:
    """One process: start -> approve (user task, a timer on it) -> pdf (service task) -> end; `dead_end` adds a task after pdf."""
    flows = [("f1", "start", "approve"), ("f2", "approve", "pdf"), ("f3", "pdf", "end"), ("f4", "remind", "end")]
    if dead_end:
        flows.append(("f_orphan", "pdf", "orphan"))

    def refs(node: str) -> str:
        incoming = "".join(f"<bpmn:incoming>{f}</bpmn:incoming>" for f, _s, t in flows if t == node)
        return incoming + "".join(f"<bpmn:outgoing>{f}</bpmn:outgoing>" for f, s, _t in flows if s == node)

    form_xml = f'<bpmn:extensionElements><sertel:form name="{form}" /></bpmn:extensionElements>' if form else ""
    operator_xml = f"""<bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="approve_pdf"><spiffworkflow:parameters>
        <spiffworkflow:parameter id="form" type="str" value="'recommendation'" />
      </spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"""
    timer_xml = (
        f'<bpmn:timerEventDefinition id="t"><bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>'
    )
    nodes = [
        ("start", f'<bpmn:startEvent id="start" name="Mulai">{refs("start")}</bpmn:startEvent>', (100, 100, 36, 36)),
        (
            "approve",
            f'<bpmn:userTask id="approve" name="Setujui">{form_xml}{refs("approve")}</bpmn:userTask>',
            (200, 80, 100, 80),
        ),
        (
            "pdf",
            f'<bpmn:serviceTask id="pdf" name="Buat PDF">{operator_xml}{refs("pdf")}</bpmn:serviceTask>',
            (350, 80, 100, 80),
        ),
        ("end", f'<bpmn:endEvent id="end" name="Selesai">{refs("end")}</bpmn:endEvent>', (500, 100, 36, 36)),
        (
            "remind",
            f'<bpmn:boundaryEvent id="remind" name="Pengingat" attachedToRef="approve" cancelActivity="false">'
            f"{refs('remind')}{timer_xml}</bpmn:boundaryEvent>",
            (232, 142, 36, 36),
        ),
    ]
    if dead_end:
        nodes.append(
            ("orphan", f'<bpmn:task id="orphan" name="Buntu">{refs("orphan")}</bpmn:task>', (350, 220, 100, 80))
        )
    shapes = '<bpmndi:BPMNShape id="lane_di" bpmnElement="lane" isHorizontal="true"><dc:Bounds x="50" y="40" width="600" height="300" /></bpmndi:BPMNShape>'
    shapes += "".join(
        f'<bpmndi:BPMNShape id="{n}_di" bpmnElement="{n}"><dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}" /></bpmndi:BPMNShape>'
        for n, _xml, (x, y, w, h) in nodes
    )
    edges = "".join(
        f'<bpmndi:BPMNEdge id="{f}_di" bpmnElement="{f}"><di:waypoint x="0" y="0" /><di:waypoint x="1" y="1" /></bpmndi:BPMNEdge>'
        for f, _s, _t in flows
    )
    members = "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n, _xml, _b in nodes)
    return f"""{HEAD}
  <bpmn:process id="p" isExecutable="true">
    <bpmn:extensionElements><sertel:properties><sertel:property name="sla_verification_reminder" value="P1D" /></sertel:properties></bpmn:extensionElements>
    <bpmn:laneSet id="ls"><bpmn:lane id="lane" name="{lane}">{members}</bpmn:lane></bpmn:laneSet>
    {"".join(xml for _n, xml, _b in nodes)}
    {"".join(f'<bpmn:sequenceFlow id="{f}" sourceRef="{s}" targetRef="{t}" />' for f, s, t in flows)}
  </bpmn:process>
  <bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="p">{shapes}{edges}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is required (scripts/lint-processes.mjs); install Node.js")
    if not (ROOT / "frontend" / "node_modules" / "bpmnlint").is_dir():
        subprocess.run(["bash", str(ROOT / "scripts" / "build-frontend.sh")], check=True, timeout=600)
    return found


def lint(node: str, tmp_path: Path, catalogue: Any, *targets: Path) -> tuple[int, dict[str, Any]]:
    catalogue_file = tmp_path / "catalogue.json"
    catalogue_file.write_text(json.dumps(catalogue), encoding="utf-8")
    run = subprocess.run(
        [node, str(SCRIPT), "--json", "--catalogue", str(catalogue_file), *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, json.loads(run.stdout)


def problems(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (p["rule"], p["id"], p["message"])
        for file in report["files"].values()
        for p in file
        if p["category"] == "error"
    ]


def test_a_good_diagram_passes(node: str, tmp_path: Path) -> None:
    good = tmp_path / "good.bpmn"
    good.write_text(
        diagram("recommendation", "common.form_pdf@1", "Atasan", "setting('sla_verification_reminder')", False)
    )
    catalogue = json.loads(json.dumps(CATALOGUE))
    catalogue["operators"][0]["params"][1]["required"] = False
    status, report = lint(node, tmp_path, catalogue, good)
    assert problems(report) == []
    assert status == 0


def test_each_broken_kind_is_reported_on_its_element(node: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpmn"
    bad.write_text(diagram("ghost_form", "common.form_pdf@7", "Tamu", "'P1X'", True))
    status, report = lint(node, tmp_path, CATALOGUE, bad)
    found = problems(report)
    assert status == 1
    by_rule = {(rule, element) for rule, element, _ in found}
    assert ("sertel/user-task-form", "approve") in by_rule
    assert ("sertel/user-task-lane", "approve") in by_rule
    assert ("sertel/service-task-operator", "pdf") in by_rule
    assert ("sertel/no-dead-end", "orphan") in by_rule
    assert ("sertel/reaches-end", "orphan") in by_rule
    assert ("sertel/durations", "remind") in by_rule
    messages = {element: message for rule, element, message in found if rule.startswith("sertel/")}
    assert "'ghost_form'" in messages["approve"] or any("'ghost_form'" in m for _, _, m in found)
    assert any("'common.form_pdf' versi 7 tidak terdaftar" in m for _, _, m in found)
    assert any("'P1X' bukan durasi" in m for _, _, m in found)


def test_missing_required_parameter_and_missing_form(node: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bpmn"
    bad.write_text(diagram("", "common.form_pdf", "Atasan", "setting('sla_unknown')", False))
    _status, report = lint(node, tmp_path, CATALOGUE, bad)
    messages = [m for _, _, m in problems(report)]
    assert any("parameter wajib 'submission'" in m for m in messages), messages
    assert any("belum memilih formulir" in m for m in messages), messages
    assert any("pengaturan 'sla_unknown' tidak dikenal" in m for m in messages), messages


def test_processes_pass_the_modelers_lint(node: str, tmp_path: Path, api: Any) -> None:
    response = api("admin").get("/catalogue")
    if response.status_code == 404:
        pytest.skip("GET /api/v1/catalogue comes with branch 'forms'")
    assert response.status_code == 200, response.get_json()
    files = sorted(PROCESSES.rglob("*.bpmn"))
    if not any("<sertel:form" in f.read_text(encoding="utf-8") for f in files):
        pytest.skip("processes/ name no forms yet (sertel:form comes with branch 'forms')")
    status, report = lint(node, tmp_path, response.get_json(), PROCESSES)
    everything = [(file, p["rule"], p["id"], p["message"]) for file, ps in report["files"].items() for p in ps]
    assert everything == [], "\n".join(map(str, everything))
    assert status == 0
