"""Handlers read only the parameters their diagram passes: no case data by task id, no diagram names in code.

A scan of the source of the operator modules of handlers/ (forms.py holds the form catalogue's rules and
is left to the forms' own tests), so a new handler that reaches into the case data or names a diagram
element fails here, before a diagram edit makes it misbehave (088.11: a handler that read
`head_statement` revoked for the wrong reason).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine import registry
from engine.config import ROOT
from engine.handler_api import HandlerContext

HANDLER_FILES = sorted(p for p in (ROOT / "handlers").glob("*.py") if p.name != "forms.py")
DIAGRAMS = sorted((ROOT / "processes").rglob("*.bpmn"))
# Words that are diagram data names in one diagram and something else in handlers: a certificate status.
NOT_DATA_NAMES = {"revoked"}
# The one operator that may read the whole case record: the dossier lists every submission.
CASE_RECORD_READERS = {("common.py", "dossier_manifest")}


def element_ids() -> set[str]:
    """The ids of every element of the shipped diagrams (tasks, events, gateways, flows)."""
    found: set[str] = set()
    for path in DIAGRAMS:
        found |= set(re.findall(r'<bpmn:\w+ id="([^"]+)"', path.read_text(encoding="utf-8")))
    return found


def data_names() -> set[str]:
    """The names the diagrams store data under: user task ids, result variables, script assignments."""
    found: set[str] = set()
    for path in DIAGRAMS:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'<bpmn:(?:userTask|serviceTask|callActivity) id="([^"]+)"', text))
        found |= set(re.findall(r'resultVariable="([^"]+)"', text))
        for script in re.findall(r"Script>([^<]*)<", text):
            found |= set(re.findall(r"^\s*(\w+)\s*=", script, re.M))
    return found - NOT_DATA_NAMES


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def enclosing_functions(tree: ast.Module) -> dict[ast.AST, str]:
    """Map every node to the name of the top-level function it is in ('' at module level)."""
    owner: dict[ast.AST, str] = {}
    for top in tree.body:
        name = top.name if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef) else ""
        for node in ast.walk(top):
            owner[node] = name
    return owner


def test_the_context_offers_no_case_data() -> None:
    fields = set(HandlerContext.__dataclass_fields__)
    assert "data" not in fields and "params" in fields


def test_the_scan_sees_the_handlers_and_the_diagrams() -> None:
    assert len(HANDLER_FILES) > 5 and len(DIAGRAMS) >= 9
    assert {"registration_form", "head_statement", "revocation_request", "verification"} <= data_names()


@pytest.mark.parametrize("path", HANDLER_FILES, ids=lambda p: p.name)
def test_no_handler_reads_case_data(path: Path) -> None:
    tree = parsed(path)
    owner = enclosing_functions(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "data":
            found.append(f"line {node.lineno}: .data")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            if any(isinstance(a, ast.Constant) and a.value in ("data", "case_record") for a in node.args):
                found.append(f"line {node.lineno}: getattr(..., {node.args[1].value!r})")  # type: ignore[attr-defined]
        if isinstance(node, ast.Attribute) and node.attr == "case_record":
            if (path.name, owner.get(node, "")) not in CASE_RECORD_READERS:
                found.append(f"line {node.lineno}: case_record outside the dossier")
    assert found == []


@pytest.mark.parametrize("path", HANDLER_FILES, ids=lambda p: p.name)
def test_no_handler_names_a_diagram_element_or_data_name(path: Path) -> None:
    """No module constant and no key read from a mapping is a task id or data name of a diagram."""
    names = data_names()
    found = []
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in names:
            found.append(f"line {node.lineno}: constant {node.value.value!r}")
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value in names:
            found.append(f"line {node.lineno}: [{node.slice.value!r}]")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in names
        ):
            found.append(f"line {node.lineno}: .get({node.args[0].value!r})")
    assert found == []


def test_declared_parameter_names_are_no_element_ids() -> None:
    """SpiffWorkflow's parser finds elements by id anywhere in a file: a parameter named like a task breaks it."""
    registry.discover("handlers")
    ids = element_ids()
    clashes = [
        f"{op.pinned_id}: {name}" for op in registry.all_operator_versions() for name in op.params if name in ids
    ]
    assert clashes == []


def test_every_operator_declares_what_the_shipped_diagrams_pass() -> None:
    """Each service task of processes/ passes its operator's required parameters and nothing undeclared."""
    registry.discover("handlers")
    problems = []
    pattern = re.compile(r'<bpmn:serviceTask id="([^"]+)".*?</bpmn:serviceTask>', re.S)
    for path in DIAGRAMS:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            body = match.group(0)
            operator_id = re.search(r'serviceTaskOperator id="([^"]+)"', body).group(1)  # type: ignore[union-attr]
            params = dict(re.findall(r'<spiffworkflow:parameter id="([^"]+)" type="[^"]*" value="([^"]*)"', body))
            literals = {}
            for name, expression in params.items():
                is_literal, value = registry.literal_value(expression.replace("&apos;", "'").replace("&quot;", '"'))
                if is_literal:
                    literals[name] = value
            for message in registry.parameter_problems(operator_id, params, literals):
                problems.append(f"{path.name} {match.group(1)}: {message}")
    assert problems == []
