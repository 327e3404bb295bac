"""The registry of service-task operators and form schemas: registration rules and discovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from marshmallow import Schema, fields

from engine import registry
from engine.config import ROOT

pytestmark = pytest.mark.usefixtures("clean_registry")

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def handler(_context: Any) -> dict[str, Any]:
    """A test operator."""
    return {"ok": True}


def other_handler(_context: Any) -> dict[str, Any]:
    return {"ok": False}


class NoteSchema(Schema):
    note = fields.String(required=True)


class OtherNoteSchema(Schema):
    note = fields.String()


def operators_used_by(path: Path) -> set[str]:
    """The operator names a BPMN file's service tasks call."""
    root = etree.parse(str(path)).getroot()
    return {el.get("id") for el in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator")}


def form_keys_of(path: Path) -> set[str]:
    """The form keys "<process id>.<task id>" of a BPMN file's user tasks."""
    root = etree.parse(str(path)).getroot()
    return {
        f"{process.get('id')}.{task.get('id')}"
        for process in root.iter(f"{{{BPMN_NS}}}process")
        for task in process.iter(f"{{{BPMN_NS}}}userTask")
    }


def test_registered_operator_is_found_with_its_docstring_and_module() -> None:
    registry.service_task("test.handler")(handler)
    op = registry.operator("test.handler")
    assert op.func is handler and op.doc == "A test operator." and op.module == __name__
    assert registry.has_operator("test.handler")
    assert "test.handler" in [o.name for o in registry.operators()]


def test_registering_the_same_function_twice_is_harmless() -> None:
    registry.service_task("test.handler")(handler)
    assert registry.service_task("test.handler")(handler) is handler
    assert registry.operator("test.handler").func is handler


def test_registering_another_function_under_a_taken_name_fails() -> None:
    registry.service_task("test.handler")(handler)
    with pytest.raises(registry.RegistryError, match="'test.handler' registered twice"):
        registry.service_task("test.handler")(other_handler)
    assert registry.operator("test.handler").func is handler


def test_unknown_operator_raises_naming_it() -> None:
    assert not registry.has_operator("test.nowhere")
    with pytest.raises(registry.RegistryError, match="'test.nowhere' tidak terdaftar"):
        registry.operator("test.nowhere")


def test_operators_are_listed_sorted_by_name() -> None:
    names = [op.name for op in registry.operators()]
    assert names == sorted(names)


def test_discovery_registers_every_operator_the_processes_call() -> None:
    registry.discover("handlers")
    registry.discover("handlers")  # idempotent: a second discovery neither fails nor duplicates
    used = set().union(*(operators_used_by(p) for p in sorted((ROOT / "processes").rglob("*.bpmn"))))
    assert used, "no process calls an operator: is processes/ empty?"
    assert sorted(name for name in used if not registry.has_operator(name)) == []


def test_discovery_registers_a_form_schema_for_every_user_task() -> None:
    registry.discover("handlers")
    keys = set().union(*(form_keys_of(p) for p in sorted((ROOT / "processes").rglob("*.bpmn"))))
    assert keys, "no process has a user task: is processes/ empty?"
    assert sorted(key for key in keys if registry.form_for(key) is None) == []
    assert all(issubclass(registry.form_for(key), Schema) for key in keys)  # type: ignore[arg-type]


def test_form_schema_is_registered_by_key() -> None:
    assert registry.form_schema("test_sop.note")(NoteSchema) is NoteSchema
    assert registry.form_for("test_sop.note") is NoteSchema
    assert registry.forms()["test_sop.note"] is NoteSchema
    assert registry.form_for("test_sop.unknown") is None


def test_form_schema_under_a_taken_key_fails_but_the_same_schema_is_harmless() -> None:
    registry.form_schema("test_sop.note")(NoteSchema)
    registry.form_schema("test_sop.note")(NoteSchema)
    with pytest.raises(registry.RegistryError, match="'test_sop.note' registered twice"):
        registry.form_schema("test_sop.note")(OtherNoteSchema)


def test_forms_listing_is_a_copy() -> None:
    registry.forms()["test_sop.sneaky"] = NoteSchema
    assert registry.form_for("test_sop.sneaky") is None
