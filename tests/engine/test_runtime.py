"""The runtime boundary to SpiffWorkflow, driven with small diagrams written in the tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

import time_machine

import pytest
from marshmallow import Schema, fields

from engine import registry, runtime
from engine.handler_api import FormRefused, HandlerContext, HandlerError
from tests.engine.bpmn_builders import (
    chain,
    document,
    end,
    flow,
    gateway,
    script_task,
    service_task,
    start,
    timer_boundary,
    user_task,
)

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


def problems_of(xml: str, key: str = "tiny", form_exists: Callable[[str], bool] = lambda _name: True, with_schema: bool = True) -> list[runtime.Problem]:
    """Run the deploy checks, with the review form ("review") registered unless told otherwise."""
    if with_schema:
        registry.form_schema("review")(ReviewSchema)
    return runtime.check(runtime.parse(xml, key), LANE_ROLES, form_exists)


# ---------------------------------------------------------------- running and storing


def test_stored_state_round_trip_keeps_ready_user_task_and_data() -> None:
    register("test.double", double)
    definition, workflow = started(service_then_review())
    [ready] = runtime.ready_user_tasks(workflow)
    assert (ready.name, ready.label, ready.lane, ready.form_key) == ("review", "Periksa hasil", "Verifikator", "review")

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
    assert set(json.loads(definition)) == {"spec", "subprocess_specs", "sertel"}
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
    asked: list[str] = []

    def form_exists(name: str) -> bool:
        asked.append(name)
        return False

    found = problems_of(service_then_review(), form_exists=form_exists)
    assert asked == ["review"]
    assert found == [runtime.Problem("review", "tugas 'review' (Periksa hasil): templat webforms/review.html tidak ada")]


def test_check_reports_unsafe_service_parameter_and_script() -> None:
    xml = document(
        "tiny",
        [start(), script_task("prepare", "import os"), service_task("compute", "test.double", "doubled", n="().__class__"), end()],
        chain("start", "prepare", "compute", "end"),
    )
    register("test.double", double)
    found = {(p.element_id, p.message.split(": ")[-1]) for p in problems_of(xml)}
    assert found == {("prepare", "import tidak diizinkan"), ("compute", "atribut '.__class__' tidak diizinkan")}


def test_check_reports_user_task_naming_a_form_missing_from_the_catalogue() -> None:
    register("test.double", double)
    assert registry.form("review") is None
    found = problems_of(service_then_review(), with_schema=False)
    assert found == [runtime.Problem("review", "tugas 'review' (Periksa hasil): formulir 'review' tidak ada di katalog")]


def test_check_reports_user_task_naming_no_form() -> None:
    xml = document("tiny", [start(), user_task("review", "Periksa", form=""), end()], chain("start", "review", "end"), {"Verifikator": ["start", "review", "end"]})
    found = problems_of(xml)
    assert [p.element_id for p in found] == ["review"]
    assert "tidak menyebut formulir" in found[0].message and "'review' (Periksa)" in found[0].message


def test_check_reports_bad_output_name_and_unsafe_or_duplicate_inputs() -> None:
    task = user_task("review", "Periksa", form="review", output="2nd", inputs={"reg": "().__class__", "ok": "registration"})
    xml = document("tiny", [start(), task, end()], chain("start", "review", "end"), {"Verifikator": ["start", "review", "end"]})
    messages = sorted(p.message for p in problems_of(xml))
    assert messages == [
        "tugas 'review' (Periksa): masukan 'reg' = '().__class__': atribut '.__class__' tidak diizinkan",
        "tugas 'review' (Periksa): nama keluaran '2nd' bukan nama data yang valid",
    ]


def test_check_reports_unknown_start_form_and_a_bad_duration_property() -> None:
    xml = document(
        "tiny",
        [start(), user_task("review"), end()],
        chain("start", "review", "end"),
        {"Verifikator": ["start", "review", "end"]},
        properties={"sla_verification_reminder": "P1X", "sla_ok": "PT4H", "title_text": "Pejabat"},
        start_form="tiny.start",
    )
    assert sorted(problems_of(xml), key=lambda p: p.message) == [
        runtime.Problem("tiny", "proses 'tiny' (Test tiny): formulir awal 'tiny.start' tidak ada di katalog"),
        runtime.Problem("tiny", "proses 'tiny' (Test tiny): properti 'sla_verification_reminder' bukan durasi ISO 8601 yang valid: 'P1X'"),
    ]


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


# ---------------------------------------------------------------- forms by name, outputs, inputs, properties


def two_reviews() -> str:
    """start -> `first` and then `second`, two user tasks serving the same "review" form, -> end."""
    nodes = [
        start(),
        user_task("first", "Tinjau pertama", form="review"),
        user_task("second", "Tinjau kedua", form="review", output="second_review", inputs={"earlier": "first", "n": "first['n'] * 2", "missing": "nothing_yet"}),
        end(),
    ]
    return document("tiny", nodes, chain("start", "first", "second", "end"), {"Verifikator": ["start", "first", "second", "end"]})


def test_one_form_serves_two_user_tasks_and_each_submission_lands_under_its_output() -> None:
    assert problems_of(two_reviews()) == []
    definition, workflow = started(two_reviews())
    [first] = runtime.ready_user_tasks(workflow)
    assert (first.name, first.form_key) == ("first", "review")
    assert runtime.task_form(workflow, first.uuid) == runtime.FormRef("review", "first")
    runtime.complete_user_task(workflow, first.uuid, {"n": 4})

    reloaded = runtime.load(definition, runtime.dump_state(workflow), engine())
    [second] = runtime.ready_user_tasks(reloaded)
    assert (second.name, second.form_key) == ("second", "review")
    assert runtime.task_form(reloaded, second.uuid).output == "second_review"
    # The inputs are evaluated in the sandbox; one naming data the case does not have is None.
    assert runtime.form_inputs(reloaded, second.uuid) == {"earlier": {"n": 4}, "n": 8, "missing": None}
    runtime.complete_user_task(reloaded, second.uuid, {"n": 5})
    data = runtime.current_data(reloaded)
    assert data["first"] == {"n": 4} and data["second_review"] == {"n": 5} and "second" not in data


def test_form_input_the_sandbox_refuses_is_an_engine_error_naming_the_input() -> None:
    xml = document(
        "tiny",
        [start(), user_task("review", inputs={"leak": "setting('kek_keys')"}), end()],
        chain("start", "review", "end"),
        {"Verifikator": ["start", "review", "end"]},
    )
    _definition, workflow = started(xml)
    [ready] = runtime.ready_user_tasks(workflow)
    with pytest.raises(runtime.EngineError, match="Masukan formulir 'leak'"):
        runtime.form_inputs(workflow, ready.uuid)


def reminder_diagram(properties: dict[str, str] | None) -> str:
    """A review task with a non-interrupting reminder timer of `setting('sla_verification_reminder')`."""
    nodes = [
        start(),
        user_task("review"),
        end(),
        timer_boundary("remind", "review", "setting('sla_verification_reminder')"),
        script_task("note", "reminded = True"),
        end("end_reminded"),
    ]
    flows = [*chain("start", "review", "end"), *chain("remind", "note", "end_reminded")]
    lanes = {"Verifikator": ["start", "review", "end", "remind", "note", "end_reminded"]}
    return document("tiny", nodes, flows, lanes, properties=properties)


def test_diagram_property_overrides_the_settings_default_of_a_timer() -> None:
    settings = {**SETTINGS, "SLA_VERIFICATION_REMINDER": "P2D"}
    moment = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        _d, by_default = started(reminder_diagram(None), eng=engine(settings=settings))
        definition, by_property = started(reminder_diagram({"sla_verification_reminder": "P1D"}), eng=engine(settings=settings))
    naive = moment.replace(tzinfo=None)
    assert runtime.waiting(by_default).next_timer_at == naive + timedelta(days=2)
    assert runtime.waiting(by_property).next_timer_at == naive + timedelta(days=1)
    # The task itself knows when it is due (for the inbox): the same timer.
    assert [t.due_at for t in runtime.ready_user_tasks(by_property)] == [naive + timedelta(days=1)]
    assert [t.due_at for t in runtime.ready_user_tasks(by_default)] == [naive + timedelta(days=2)]
    assert runtime.definition_properties(definition) == {"sla_verification_reminder": "P1D"}

    # Time moved, not slept: the reloaded case's reminder fires after one day (the property), not two.
    state = runtime.dump_state(by_property)
    with time_machine.travel(moment + timedelta(hours=23), tick=False):
        early = runtime.load(definition, state, engine(settings=settings))
        runtime.advance(early)
        assert "note" not in runtime.completed_path(early)
    with time_machine.travel(moment + timedelta(days=1, minutes=1), tick=False):
        reloaded = runtime.load(definition, state, engine(settings=settings))
        runtime.advance(reloaded)
        assert "note" in runtime.completed_path(reloaded)
        assert [t.name for t in runtime.ready_user_tasks(reloaded)] == ["review"]


def test_setting_helper_reads_the_property_converted_to_the_default_type() -> None:
    settings = {**SETTINGS, "EXPIRY_REMINDER_DAYS": 30}
    xml = document(
        "tiny",
        [start(), script_task("compute", "days = setting('expiry_reminder_days') + 1\nown = setting('my_value')"), user_task("review"), end()],
        chain(*ALL_NODES),
        {"Verifikator": ALL_NODES},
        properties={"expiry_reminder_days": "14", "my_value": "x"},
    )
    _definition, workflow = started(xml, eng=engine(settings=settings))
    [ready] = runtime.ready_user_tasks(workflow)
    data = runtime.task_data(workflow, ready.uuid)
    assert (data["days"], data["own"]) == (15, "x")


def test_handler_settings_follow_a_property_of_the_same_name() -> None:
    received: list[HandlerContext] = []
    register("test.double", double)
    nodes = [start(), service_task("compute", "test.double", "doubled", n="21"), user_task("review"), end()]
    xml = document("tiny", nodes, chain(*ALL_NODES), {"Verifikator": ALL_NODES}, properties={"official_email_domain": "contoh.go.id"})
    handler_settings = {"official_email_domain": "pekalongankota.go.id", "base_url": "http://x"}

    def build(task: Any, params: dict[str, Any]) -> HandlerContext:
        context = HandlerContext(case_id=7, task_name=task.task_spec.name, idempotency_key="7", params=params, settings=handler_settings)
        received.append(context)
        return context

    started(xml, eng=runtime.SertelScriptEngine(SETTINGS, build))
    assert received[0].settings == {"official_email_domain": "contoh.go.id", "base_url": "http://x"}


def test_main_process_properties_override_those_of_a_called_process() -> None:
    called = document("shared", [start(), user_task("review"), end()], chain("start", "review", "end"), {"Verifikator": ["start", "review", "end"]}, properties={"sla_a": "P2D", "sla_b": "P3D"})
    main = document(
        "tiny",
        [start(), '<bpmn:callActivity id="call" calledElement="shared" />', end()],
        chain("start", "call", "end"),
        {"Verifikator": ["start", "call", "end"]},
        properties={"sla_a": "P1D"},
        start_form="review",
    )
    parsed = runtime.parse(main, "tiny", {"shared.bpmn": called})
    assert parsed.properties == {"sla_a": "P1D", "sla_b": "P3D"}
    assert parsed.start_form == "review"
    assert runtime.definition_start_form(runtime.spec_json(parsed)) == "review"
