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
    """Another note form.

    With more lines.
    """

    note = fields.String()


def operators_used_by(path: Path) -> set[str]:
    """The operator names a BPMN file's service tasks call."""
    root = etree.parse(str(path)).getroot()
    return {el.get("id") for el in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator")}


SERTEL_NS = "https://sertel.id/schema/bpmn/1.0"


def form_names_of(path: Path) -> dict[str, str | None]:
    """The form each user task of a BPMN file names (`<sertel:form name>`), by task id (None: names none)."""
    root = etree.parse(str(path)).getroot()
    named: dict[str, str | None] = {}
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        form = task.find(f"{{{BPMN_NS}}}extensionElements/{{{SERTEL_NS}}}form")
        named[str(task.get("id"))] = form.get("name") if form is not None else None
    return named


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


def test_every_user_task_names_a_catalogue_form_with_its_template() -> None:
    registry.discover("handlers")
    named = {
        f"{path.stem}.{task}": name
        for path in sorted((ROOT / "processes").rglob("*.bpmn"))
        for task, name in form_names_of(path).items()
    }
    assert named, "no process has a user task: is processes/ empty?"
    assert sorted(task for task, name in named.items() if name is None or registry.form(name) is None) == []
    for name in set(named.values()):
        form = registry.form(str(name))
        assert form is not None and issubclass(form.schema, Schema)
        assert (ROOT / "webforms" / form.template).is_file(), form.template
    # One form serves several tasks: the registration and recommendation forms of 088.9 and 088.14.
    assert named["issuance_ams.registration_form"] == named["issuance_esign.registration_form"] == "registration"


def test_form_schema_is_registered_by_name_with_a_title() -> None:
    assert registry.form_schema("test_note", title="Catatan")(NoteSchema) is NoteSchema
    assert registry.form_for("test_note") is NoteSchema
    form = registry.form("test_note")
    assert form is not None and (form.title, form.template, form.module) == ("Catatan", "test_note.html", __name__)
    assert "test_note" in [f.name for f in registry.forms()]
    assert registry.form_for("test_unknown") is None


def test_form_title_defaults_to_the_first_docstring_line() -> None:
    registry.form_schema("test_other")(OtherNoteSchema)
    form = registry.form("test_other")
    assert form is not None and form.title == "Another note form."


def test_form_schema_under_a_taken_name_fails_but_the_same_schema_is_harmless() -> None:
    registry.form_schema("test_note")(NoteSchema)
    registry.form_schema("test_note")(NoteSchema)
    with pytest.raises(registry.RegistryError, match="'test_note' registered twice"):
        registry.form_schema("test_note")(OtherNoteSchema)


def test_forms_listing_is_sorted_and_a_copy() -> None:
    forms = registry.forms()
    assert [f.name for f in forms] == sorted(f.name for f in forms)
    forms.clear()
    assert registry.forms()
