"""The runtime boundary to SpiffWorkflow, driven with small diagrams written in the tests."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from marshmallow import Schema, fields

from engine import registry, runtime
from engine.handler_api import FormRefused, HandlerContext, HandlerError
from tests.engine.bpmn_builders import chain, document, end, flow, gateway, script_task, service_task, start, user_task

pytestmark = pytest.mark.usefixtures("clean_registry")

SETTINGS = {"OFFICIAL_EMAIL_DOMAIN": "pekalongankota.go.id", "SANDBOX_MAX_STEPS": 10_000}
LANE_ROLES = {"Pemohon": "Pemohon", "Verifikator": "Verifikator"}
ALL_NODES = ["start", "compute", "review", "end"]


def context_factory(received: list[HandlerContext]) -> runtime.ContextFactory:
    """Build HandlerContexts directly (no database), remembering each one."""

    def build(task: Any, params: dict[str, Any]) -> HandlerContext:
        context = HandlerContext(
            case_id=7, task_name=task.task_spec.name, idempotency_key=f"7:{task.task_spec.name}",
            case_record=lambda: dict(task.data), params=params, settings=SETTINGS,
        )
        received.append(context)
        return context

    return build


def engine(received: list[HandlerContext] | None = None, settings: dict[str, Any] = SETTINGS) -> runtime.SertelScriptEngine:
    return runtime.SertelScriptEngine(settings, context_factory(received if received is not None else []))


def register(name: str, func: Callable[[HandlerContext], dict[str, Any]]) -> None:
    registry.service_task(name)(func)


def double(context: HandlerContext) -> dict[str, Any]:
    return {"value": context.params["n"] * 2}


def service_then_review(operator: str = "test.double", lane: str = "Verifikator") -> str:
    """start -> service task `compute` (operator, n=21) -> user task `review` -> end, all in one lane."""
    nodes = [start(), service_task("compute", operator, "doubled", name="Hitung dua kali", n="21"), user_task("review", "Periksa hasil"), end()]
    return document("tiny", nodes, chain(*ALL_NODES), {lane: ALL_NODES})


def started(xml: str, key: str = "tiny", eng: runtime.SertelScriptEngine | None = None) -> tuple[str, Any]:
    """Parse, store the definition, create a workflow and advance it; return (definition, workflow)."""
    definition = runtime.spec_json(runtime.parse(xml, key))
    workflow = runtime.new_workflow(definition, eng or engine())
    runtime.advance(workflow)
    return definition, workflow


class ReviewSchema(Schema):
    """The form rules of the tiny diagram's review task."""

    ok = fields.Boolean()


def problems_of(xml: str, key: str = "tiny", form_exists: Callable[[str, str], bool] = lambda _p, _t: True, with_schema: bool = True) -> list[runtime.Problem]:
    """Run the deploy checks, with the review task's form schema registered unless told otherwise."""
    if with_schema:
        registry.form_schema(f"{key}.review")(ReviewSchema)
    return runtime.check(runtime.parse(xml, key), LANE_ROLES, form_exists)


# ---------------------------------------------------------------- running and storing


def test_stored_state_round_trip_keeps_ready_user_task_and_data() -> None:
    register("test.double", double)
    definition, workflow = started(service_then_review())
    [ready] = runtime.ready_user_tasks(workflow)
    assert (ready.name, ready.label, ready.lane, ready.form_key) == ("review", "Periksa hasil", "Verifikator", "tiny.review")

    reloaded = runtime.load(definition, runtime.dump_state(workflow), engine())

    assert runtime.ready_user_tasks(reloaded) == [ready]
    assert runtime.task_data(reloaded, ready.uuid)["doubled"] == {"value": 42}
    assert runtime.complete_user_task(reloaded, ready.uuid, {"approved": True}) == "review"
    assert runtime.is_completed(reloaded)
    assert runtime.end_event(reloaded) == "end"
    assert runtime.current_data(reloaded)["review"] == {"approved": True}


def test_stored_state_holds_no_definition() -> None:
    register("test.double", double)
    definition, workflow = started(service_then_review())
    state = json.loads(runtime.dump_state(workflow))
    assert "spec" not in state and "subprocess_specs" not in state
    assert set(json.loads(definition)) == {"spec", "subprocess_specs"}
    assert len(runtime.dump_state(workflow)) < len(definition)


def test_loaded_workflow_runs_handlers_through_the_engine_it_is_given() -> None:
    register("test.double", double)
    received: list[HandlerContext] = []
    xml = document(
        "tiny",
        [start(), user_task("review"), service_task("compute", "test.double", "doubled", n="review['n']"), end()],
        chain("start", "review", "compute", "end"),
        {"Verifikator": ALL_NODES},
    )
    definition, workflow = started(xml)
    [ready] = runtime.ready_user_tasks(workflow)
    reloaded = runtime.load(definition, runtime.dump_state(workflow), engine(received))
    runtime.complete_user_task(reloaded, ready.uuid, {"n": 5})
    assert [c.params for c in received] == [{"n": 5}]
    assert runtime.current_data(reloaded)["doubled"] == {"value": 10}


def test_service_task_calls_its_handler_with_a_handler_context() -> None:
    register("test.double", double)
    received: list[HandlerContext] = []
    _definition, workflow = started(service_then_review(), eng=engine(received))
    [context] = received
    assert isinstance(context, HandlerContext)
    assert (context.case_id, context.task_name, context.idempotency_key) == (7, "compute", "7:compute")
    assert context.params == {"n": 21}
    [ready] = runtime.ready_user_tasks(workflow)
    assert runtime.task_data(workflow, ready.uuid)["doubled"] == {"value": 42}


def test_handler_returning_none_stores_an_empty_result() -> None:
    register("test.nothing", lambda _context: None)  # type: ignore[arg-type, return-value]
    _definition, workflow = started(service_then_review("test.nothing"))
    [ready] = runtime.ready_user_tasks(workflow)
    assert runtime.task_data(workflow, ready.uuid)["doubled"] == {}


def test_handler_error_surfaces_as_engine_error_with_its_message() -> None:
    def refuse(_context: HandlerContext) -> dict[str, Any]:
        raise HandlerError("PSrE tidak menjawab")

    register("test.refuse", refuse)
    with pytest.raises(runtime.EngineError, match="PSrE tidak menjawab") as caught:
        started(service_then_review("test.refuse"))
    assert "Hitung dua kali" in str(caught.value)


def test_form_refused_by_a_handler_carries_its_field_errors() -> None:
    def refuse(_context: HandlerContext) -> dict[str, Any]:
        raise FormRefused("Sertifikat sudah dicabut.", {"certificate_serial": ["Sertifikat sudah dicabut."]})

    register("test.double", refuse)
    with pytest.raises(runtime.EngineError) as caught:
        started(service_then_review())
    assert caught.value.fields == {"certificate_serial": ["Sertifikat sudah dicabut."]}
    assert str(caught.value) == "Sertifikat sudah dicabut."


def test_handler_bug_surfaces_as_engine_error_naming_operator_and_exception() -> None:
    def broken(context: HandlerContext) -> dict[str, Any]:
        return {"value": context.params["missing"]}

    register("test.broken", broken)
    with pytest.raises(runtime.EngineError, match="test.broken: KeyError"):
        started(service_then_review("test.broken"))


def test_service_task_without_handler_context_is_an_engine_error() -> None:
    register("test.double", double)
    with pytest.raises(runtime.EngineError, match="tanpa konteks handler"):
        started(service_then_review(), eng=runtime.SertelScriptEngine(SETTINGS))


def test_script_task_uses_the_setting_helper_and_stores_its_assignments() -> None:
    xml = document(
        "tiny",
        [start(), script_task("compute", "domain = setting('official_email_domain')\nofficial = 'a@' + domain"), user_task("review"), end()],
        chain(*ALL_NODES),
        {"Verifikator": ALL_NODES},
    )
    _definition, workflow = started(xml)
    [ready] = runtime.ready_user_tasks(workflow)
    data = runtime.task_data(workflow, ready.uuid)
    assert data["domain"] == "pekalongankota.go.id" and data["official"] == "a@pekalongankota.go.id"
    assert "setting" not in data and "__builtins__" not in data


def test_long_script_is_stopped_by_the_configured_step_limit() -> None:
    xml = document(
        "tiny",
        [start(), script_task("compute", "n = sum(i for i in range(9999) for j in range(9999))"), user_task("review"), end()],
        chain(*ALL_NODES),
        {"Verifikator": ALL_NODES},
    )
    with pytest.raises(runtime.EngineError, match="batas langkah"):
        started(xml, eng=engine(settings={**SETTINGS, "SANDBOX_MAX_STEPS": 1000}))


def escape_at_gateway(condition: str) -> str:
    """start -> gateway (a flow guarded by `condition`, else the default) -> end_a / end_b."""
    nodes = [start(), gateway("choose", "flow_choose_end_b"), end("end_a"), end("end_b")]
    flows = [flow("start", "choose"), flow("choose", "end_a", condition), flow("choose", "end_b")]
    return document("tiny", nodes, flows, {"Verifikator": ["start", "choose", "end_a", "end_b"]})


def test_gateway_condition_importing_os_is_refused_at_run_time() -> None:
    with pytest.raises(runtime.EngineError, match="__import__"):
        started(escape_at_gateway("__import__('os').system('true') == 0"))


def test_gateway_condition_importing_os_is_refused_at_deploy_time() -> None:
    found = problems_of(escape_at_gateway("__import__('os').system('true') == 0"))
    assert {p.element_id for p in found} == {"choose"}
    assert any("nama '__import__' tidak diizinkan" in p.message for p in found), found


def test_safe_gateway_condition_routes_the_flow() -> None:
    _definition, workflow = started(escape_at_gateway("setting('official_email_domain').endswith('.go.id')"))
    assert runtime.end_event(workflow) == "end_a"


# ---------------------------------------------------------------- deploy checks


def test_clean_diagram_passes_the_checks() -> None:
    register("test.double", double)
    assert problems_of(service_then_review()) == []


def test_check_reports_unregistered_operator() -> None:
    found = problems_of(service_then_review("test.nowhere"))
    assert found == [runtime.Problem("compute", "operator 'test.nowhere' tidak terdaftar")]


def test_check_reports_user_task_outside_any_lane() -> None:
    register("test.double", double)
    xml = document("tiny", [start(), user_task("review"), end()], chain("start", "review", "end"))
    assert problems_of(xml) == [runtime.Problem("review", "tugas pengguna harus berada di dalam lane")]


def test_check_reports_lane_without_a_role() -> None:
    register("test.double", double)
    found = problems_of(service_then_review(lane="Bendahara"))
    assert found == [runtime.Problem("review", "lane 'Bendahara' tidak dipetakan ke peran")]


def test_check_reports_missing_form_template() -> None:
    register("test.double", double)
    asked: list[tuple[str, str]] = []

    def form_exists(process_key: str, task_name: str) -> bool:
        asked.append((process_key, task_name))
        return False

    found = problems_of(service_then_review(), form_exists=form_exists)
    assert asked == [("tiny", "review")]
    assert found == [runtime.Problem("review", "formulir webforms/tiny/review.html tidak ada")]


def test_check_reports_unsafe_service_parameter_and_script() -> None:
    xml = document(
        "tiny",
        [start(), script_task("prepare", "import os"), service_task("compute", "test.double", "doubled", n="().__class__"), end()],
        chain("start", "prepare", "compute", "end"),
    )
    register("test.double", double)
    found = {(p.element_id, p.message.split(": ")[-1]) for p in problems_of(xml)}
    assert found == {("prepare", "import tidak diizinkan"), ("compute", "atribut '.__class__' tidak diizinkan")}


def test_check_reports_user_task_without_registered_form_schema() -> None:
    register("test.double", double)
    assert registry.form_for("tiny.review") is None
    found = problems_of(service_then_review(), with_schema=False)
    assert [p.element_id for p in found] == ["review"]


def test_parse_refuses_malformed_xml_and_unknown_process() -> None:
    with pytest.raises(runtime.ProcessError, match="tidak dapat dibaca"):
        runtime.parse("<bpmn:definitions", "tiny")
    with pytest.raises(runtime.ProcessError, match="tidak dapat dibaca"):
        runtime.parse(service_then_review(), "other")


def test_diagram_cannot_read_secret_settings() -> None:
    secrets = {**SETTINGS, "SECRET_KEY": "s3cret", "KEK_KEYS": "kek", "DATABASE_URL": "postgresql://u:pw@db/sertel"}
    xml = document(
        "tiny",
        [start(), script_task("compute", "leak = setting('kek_keys')"), user_task("review"), end()],
        chain(*ALL_NODES),
        {"Verifikator": ALL_NODES},
    )
    with pytest.raises(runtime.EngineError, match="kek_keys"):
        started(xml, eng=engine(settings=secrets))
