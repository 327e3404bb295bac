"""Contract of every diagram in processes/: it parses, and everything it names exists and is safe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from engine import diagram_checks, registry, runtime, sandbox
from engine.config import ROOT, load_settings
from engine.services.access import LANE_ROLES

PROCESSES = ROOT / "processes"
WEBFORMS = ROOT / "webforms"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SERTEL = "https://sertel.id/schema/bpmn/1.0"
READABLE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
FLOW_NODES = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "serviceTask", "scriptTask", "manualTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
}
# Elements whose text is a Python expression (eval) or script (exec) the engine will run.
EXPRESSION_ELEMENTS = {
    f"{{{BPMN}}}conditionExpression": "eval", f"{{{BPMN}}}timeDuration": "eval", f"{{{BPMN}}}timeDate": "eval",
    f"{{{BPMN}}}timeCycle": "eval", f"{{{BPMN}}}loopCardinality": "eval", f"{{{BPMN}}}completionCondition": "eval",
    f"{{{BPMN}}}condition": "eval", f"{{{BPMN}}}script": "exec",
    f"{{{SPIFF}}}preScript": "exec", f"{{{SPIFF}}}postScript": "exec",
}

MAIN_FILES = sorted(PROCESSES.glob("*.bpmn"))
COMMON_FILES = sorted((PROCESSES / "common").glob("*.bpmn"))
ALL_FILES = MAIN_FILES + COMMON_FILES


def file_id(path: Path) -> str:
    return str(path.relative_to(PROCESSES).with_suffix(""))


def dependencies(path: Path) -> dict[str, str]:
    """The shared call activities a diagram may call (all of processes/common/ but itself)."""
    return {p.name: p.read_text(encoding="utf-8") for p in COMMON_FILES if p != path}


def parsed(path: Path) -> runtime.ParsedProcess:
    return runtime.parse(path.read_text(encoding="utf-8"), path.stem, dependencies(path))


def tree(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def elements(path: Path, *names: str) -> list[etree._Element]:
    """Every BPMN element of the given local names in the file's processes."""
    return [el for el in tree(path).iter(*(f"{{{BPMN}}}{n}" for n in names))]


def lane_of_nodes(path: Path) -> dict[str, str]:
    """Flow node id -> name of the lane holding it."""
    return {
        ref.text.strip(): lane.get("name", "")
        for lane in tree(path).iter(f"{{{BPMN}}}lane")
        for ref in lane.findall(f"{{{BPMN}}}flowNodeRef")
        if ref.text
    }


def registered_handlers() -> None:
    registry.discover("handlers")


def user_task_keys(path: Path) -> list[tuple[str, str]]:
    """(process id, task id) of every user task declared in the file."""
    return [
        (process.get("id"), task.get("id"))
        for process in tree(path).iter(f"{{{BPMN}}}process")
        for task in process.iter(f"{{{BPMN}}}userTask")
    ]


pytestmark = pytest.mark.parametrize("path", ALL_FILES, ids=[file_id(p) for p in ALL_FILES])


def test_diagram_parses_with_the_spiff_parser(path: Path) -> None:
    result = parsed(path)
    assert result.spec.name == path.stem
    assert result.spec.task_specs, "the process has no tasks"


def test_process_id_is_the_file_stem(path: Path) -> None:
    executable = [p.get("id") for p in tree(path).iter(f"{{{BPMN}}}process") if p.get("isExecutable") == "true"]
    assert executable == [path.stem]


def test_every_operator_is_registered(path: Path) -> None:
    registered_handlers()
    operators = {
        task.get("id"): op.get("id")
        for task in elements(path, "serviceTask")
        for op in task.iter(f"{{{SPIFF}}}serviceTaskOperator")
    }
    assert len(operators) == len(elements(path, "serviceTask")), "a service task has no spiffworkflow:serviceTaskOperator"
    unknown = {task: op for task, op in operators.items() if not registry.has_operator(op)}
    assert unknown == {}


def test_every_user_task_names_a_catalogue_form_with_a_webform(path: Path) -> None:
    registered_handlers()
    for task in elements(path, "userTask"):
        form = task.find(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}form")
        assert form is not None, f"{task.get('id')}: no <sertel:form>"
        name = form.get("name", "")
        assert registry.form(name) is not None, f"{task.get('id')}: form {name!r} not in the catalogue"
        assert (WEBFORMS / f"{name}.html").is_file(), f"{task.get('id')}: webforms/{name}.html missing"


def test_form_inputs_are_sandbox_safe_expressions(path: Path) -> None:
    for element in tree(path).iter(f"{{{SERTEL}}}input"):
        value = element.get("value", "")
        assert value and sandbox.problems(value, "eval") == [], f"input {element.get('name')}: {value!r}"



def test_every_user_task_sits_in_a_lane_mapped_to_a_role(path: Path) -> None:
    lanes = lane_of_nodes(path)
    for _process_key, task_name in user_task_keys(path):
        assert task_name in lanes, f"{task_name}: not in any lane"
        assert lanes[task_name] in LANE_ROLES, f"{task_name}: lane '{lanes[task_name]}' has no role"


def test_every_expression_passes_the_sandbox(path: Path) -> None:
    root = tree(path)
    found: list[tuple[str, str, str]] = []
    for tag, mode in EXPRESSION_ELEMENTS.items():
        for el in root.iter(tag):
            if el.text and el.text.strip():
                found.append((owner_id(el), el.text.strip(), mode))
    for param in root.iter(f"{{{SPIFF}}}parameter"):
        found.append((owner_id(param), param.get("value", ""), "eval"))
    for element_id, source, mode in found:
        assert sandbox.problems(source, mode) == [], f"{element_id}: {source!r}"


def owner_id(el: etree._Element) -> str:
    """The id of the nearest BPMN element holding `el` (to name it in a failure)."""
    while el is not None and (el.get("id") is None or etree.QName(el).namespace != BPMN):
        el = el.getparent()
    return el.get("id") if el is not None else "?"


def webform_exists(name: str) -> bool:
    return (WEBFORMS / f"{name}.html").is_file()


def test_runtime_check_finds_nothing(path: Path) -> None:
    registered_handlers()
    assert runtime.check(parsed(path), LANE_ROLES, webform_exists) == []


def test_diagram_checks_find_nothing(path: Path) -> None:
    """The checks deploy runs before SpiffWorkflow parses (structure, data names, settings, timers, forms)."""
    registered_handlers()
    catalogue = diagram_checks.build_catalogue(LANE_ROLES, load_settings({"ENV": "testing"}), webform_exists)
    xml, shared = path.read_text(encoding="utf-8"), path in COMMON_FILES
    found = diagram_checks.check_diagram(xml, path.stem, catalogue, dependencies(path), shared=shared)
    assert [f"{p.element_id}: {p.message}" for p in found] == []


def test_every_flow_node_has_a_shape_and_every_flow_an_edge(path: Path) -> None:
    root = tree(path)
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{{{BPMNDI}}}BPMNEdge")}
    nodes = [el.get("id") for el in root.iter(f"{{{BPMN}}}*") if local(el) in FLOW_NODES]
    flows = [el.get("id") for el in root.iter(f"{{{BPMN}}}sequenceFlow")]
    assert nodes and flows
    assert [n for n in nodes if n not in shapes] == [], "flow nodes without BPMNShape"
    assert [f for f in flows if f not in edges] == [], "sequence flows without BPMNEdge"
    lanes = [el.get("id") for el in root.iter(f"{{{BPMN}}}lane")]
    assert [lane for lane in lanes if lane not in shapes] == [], "lanes without BPMNShape"


def test_every_sequence_flow_joins_existing_nodes(path: Path) -> None:
    root = tree(path)
    nodes = {el.get("id") for el in root.iter(f"{{{BPMN}}}*") if local(el) in FLOW_NODES}
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        assert flow.get("sourceRef") in nodes and flow.get("targetRef") in nodes, flow.get("id")


def test_element_ids_are_readable(path: Path) -> None:
    ids = [el.get("id") for el in tree(path).iter() if isinstance(el.tag, str) and el.get("id") and etree.QName(el).namespace != SPIFF]
    assert [i for i in ids if not READABLE_ID.match(i)] == []
    assert len(ids) == len(set(ids)), "duplicate ids"
