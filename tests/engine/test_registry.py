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
    with pytest.raises(registry.RegistryError, match="'test.handler' version 1 registered twice"):
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


# ---------------------------------------------------------------- versions, parameters, pinning


def first(_context: Any) -> dict[str, Any]:
    """Version 1 of a test operator."""
    return {"version": 1}


def second(_context: Any) -> dict[str, Any]:
    """Version 2 of a test operator."""
    return {"version": 2}


def test_operators_have_versions_and_the_newest_is_the_default() -> None:
    registry.service_task("test.versioned", version=1)(first)
    assert registry.operator("test.versioned").func is first
    registry.service_task("test.versioned", version=2)(second)
    assert registry.versions("test.versioned") == [1, 2]
    assert registry.operator("test.versioned").func is second
    assert registry.operator("test.versioned", 1).func is first
    assert registry.operator("test.versioned@1").func is first
    assert registry.operator("test.versioned@2").pinned_id == "test.versioned@2"
    assert [op.version for op in registry.operators() if op.name == "test.versioned"] == [2]
    assert registry.has_operator("test.versioned@1") and not registry.has_operator("test.versioned@3")
    with pytest.raises(registry.RegistryError, match="versi 3 tidak terdaftar \\(versi yang ada: 1, 2\\)"):
        registry.operator("test.versioned@3")
    with pytest.raises(registry.RegistryError, match="tidak valid"):
        registry.operator("test.versioned@x")


def test_a_version_is_registered_once() -> None:
    registry.service_task("test.versioned", version=1)(first)
    with pytest.raises(registry.RegistryError, match="version 1 registered twice"):
        registry.service_task("test.versioned", version=1)(second)
    with pytest.raises(registry.RegistryError):
        registry.service_task("test.bad@1")
    with pytest.raises(registry.RegistryError):
        registry.service_task("test.bad", version=0)


def test_declared_parameters_and_results_are_kept() -> None:
    params = {"form": registry.Param("str", doc="which form", choices=("a", "b")), "n": registry.Param("int", required=False)}
    registry.service_task("test.declared", params=params, results=("document_id",))(first)
    op = registry.operator("test.declared")
    assert op.params == params and op.results == ("document_id",)
    assert op.params["form"].choices == ("a", "b") and op.params["n"].required is False
    with pytest.raises(registry.RegistryError, match="unknown"):
        registry.Param("float")


def test_parameter_problems_of_the_form_pdf_operator() -> None:
    registry.discover("handlers")
    ok = registry.parameter_problems("common.form_pdf", ["form", "submission"], {"form": "registration"})
    assert ok == []
    [wrong_choice] = registry.parameter_problems("common.form_pdf", ["form", "submission"], {"form": "nope"})
    assert "'form'" in wrong_choice and "'nope'" in wrong_choice and "'registration'" in wrong_choice
    [wrong_type] = registry.parameter_problems("common.form_pdf", ["form", "submission"], {"form": 3})
    assert "harus bertipe str" in wrong_type
    [missing] = registry.parameter_problems("common.form_pdf", ["form"], {"form": "registration"})
    assert "parameter wajib 'submission'" in missing
    [unknown] = registry.parameter_problems("common.form_pdf", ["form", "submission", "source"], {})
    assert "parameter 'source' tidak dikenal" in unknown
    assert registry.parameter_problems("common.nowhere", [], {}) == ["operator 'common.nowhere' tidak terdaftar"]
    [bad_version] = registry.parameter_problems("common.form_pdf@99", ["form", "submission"], {})
    assert "versi 99 tidak terdaftar" in bad_version


def test_optional_parameters_may_be_left_out_and_bool_is_not_an_int() -> None:
    params = {"n": registry.Param("int", required=False), "flag": registry.Param("bool", required=False)}
    registry.service_task("test.optional", params=params)(first)
    assert registry.parameter_problems("test.optional", [], {}) == []
    assert registry.parameter_problems("test.optional", ["n", "flag"], {"n": 2, "flag": True}) == []
    [problem] = registry.parameter_problems("test.optional", ["n"], {"n": True})
    assert "harus bertipe int" in problem


def test_literal_values_are_told_from_expressions() -> None:
    assert registry.literal_value("'registration'") == (True, "registration")
    assert registry.literal_value("{'a': 1}") == (True, {"a": 1})
    assert registry.literal_value("registration_form") == (False, None)
    assert registry.literal_value("activation['csr_pem']") == (False, None)


TWO_OPERATORS = """<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment before the root stays -->
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:serviceTask id="a" name="Satu">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.versioned" resultVariable="x" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="b" name="Dua">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.versioned@1" resultVariable="y" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="c" name="Tiga">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.unknown" resultVariable="z" />
      </bpmn:extensionElements>
    </bpmn:serviceTask>
  </bpmn:process>
</bpmn:definitions>
"""


def operator_ids(xml: str) -> list[str]:
    root = etree.fromstring(xml.encode("utf-8"))
    return [str(el.get("id")) for el in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator")]


def test_pinning_fixes_unpinned_operators_to_the_newest_version_and_leaves_the_rest() -> None:
    registry.service_task("test.versioned", version=1)(first)
    registry.service_task("test.versioned", version=2)(second)
    pinned = registry.pin_operator_versions(TWO_OPERATORS)
    assert operator_ids(pinned) == ["test.versioned@2", "test.versioned@1", "test.unknown"]
    assert "<!-- a comment before the root stays -->" in pinned and 'name="Dua"' in pinned
    assert registry.pin_operator_versions(pinned) == pinned  # nothing left to pin: unchanged text


def test_an_old_deployment_keeps_version_1_after_version_2_is_registered() -> None:
    from engine import runtime
    from engine.handler_api import HandlerContext
    from tests.engine.bpmn_builders import chain, document, end, service_task, start

    registry.service_task("test.versioned", version=1)(first)
    nodes = [start(), service_task("compute", "test.versioned", "result"), end()]
    xml = document("pinned", nodes, chain("start", "compute", "end"), {})
    published = registry.pin_operator_versions(xml)  # published while only version 1 exists
    registry.service_task("test.versioned", version=2)(second)
    republished = registry.pin_operator_versions(xml)  # the same file published again now

    def run(definition_xml: str) -> Any:
        def factory(task: Any, params: dict[str, Any]) -> HandlerContext:
            return HandlerContext(case_id=1, task_name=task.task_spec.name, idempotency_key="k", params=params)

        definition = runtime.spec_json(runtime.parse(definition_xml, "pinned"))
        workflow = runtime.new_workflow(definition, runtime.SertelScriptEngine({}, factory))
        runtime.advance(workflow)
        return runtime.current_data(workflow)["result"]

    assert run(published) == {"version": 1}
    assert run(republished) == {"version": 2}
    assert run(xml) == {"version": 2}  # unpinned: the newest


def test_dispatch_to_an_unregistered_version_fails_naming_it() -> None:
    from engine import runtime
    from engine.handler_api import HandlerContext
    from tests.engine.bpmn_builders import chain, document, end, service_task, start

    registry.service_task("test.versioned", version=1)(first)
    nodes = [start(), service_task("compute", "test.versioned@7", "result"), end()]
    xml = document("pinned", nodes, chain("start", "compute", "end"), {})
    definition = runtime.spec_json(runtime.parse(xml, "pinned"))
    factory = lambda task, params: HandlerContext(case_id=1, task_name="compute", idempotency_key="k", params=params)  # noqa: E731
    workflow = runtime.new_workflow(definition, runtime.SertelScriptEngine({}, factory))
    with pytest.raises(runtime.EngineError, match="versi 7 tidak terdaftar"):
        runtime.advance(workflow)


def test_catalogue_lists_the_newest_version_with_its_parameters() -> None:
    registry.service_task("test.versioned", version=1)(first)
    params = {"form": registry.Param("str", doc="which form", choices=("a", "b")), "n": registry.Param("int", required=False)}
    registry.service_task("test.versioned", version=2, params=params, results=("document_id",))(second)
    [entry] = [e for e in registry.operator_catalogue() if e["name"] == "test.versioned"]
    assert entry == {
        "name": "test.versioned",
        "version": 2,
        "versions": [1, 2],
        "doc": "Version 2 of a test operator.",
        "params": [
            {"name": "form", "type": "str", "required": True, "doc": "which form", "choices": ["a", "b"]},
            {"name": "n", "type": "int", "required": False, "doc": ""},
        ],
        "results": ["document_id"],
    }
