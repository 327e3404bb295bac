"""The only boundary to SpiffWorkflow: parse, check, create, load, advance and save workflows."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.spiff.specs.mixins.user_task import UserTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import registry, sandbox
from engine.handler_api import FormRefused, HandlerContext, HandlerError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


class ProcessError(ValueError):
    """A BPMN file could not be parsed or failed a deploy check."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class EngineError(RuntimeError):
    """Advancing a case failed (a handler error or a script error); the message is for staff."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        # Set when a handler refused the submitted form (FormRefused): the submitter gets a 422.
        self.fields = fields


@dataclass(frozen=True)
class Problem:
    """One deploy-check finding, tied to a diagram element."""

    element_id: str
    message: str


@dataclass
class ParsedProcess:
    """A parsed BPMN file: its main process spec, called subprocess specs and metadata."""

    key: str
    title: str
    spec: Any
    subprocess_specs: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadyTask:
    """A READY user task, as the inbox projection needs it."""

    uuid: str
    name: str
    label: str
    lane: str
    process_key: str

    @property
    def form_key(self) -> str:
        """The key of the task's form: "<process key>.<task id>"."""
        return f"{self.process_key}.{self.name}"


# ---------------------------------------------------------------- sandboxed scripting


class SandboxedEnvironment(TaskDataEnvironment):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Evaluates diagram expressions and scripts only after the sandbox check, with a step limit."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(sandbox.helper_functions(settings))
        self.max_steps = int(settings.get("SANDBOX_MAX_STEPS", 100_000))

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        code = sandbox.compile_checked(expression, "eval")
        namespace = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        return sandbox.run(code, namespace, "eval", self.max_steps)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        code = sandbox.compile_checked(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        namespace = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        before = set(namespace)
        sandbox.run(code, namespace, "exec", self.max_steps)
        for name, value in namespace.items():
            if (name in context or (name not in before and not callable(value))) and not name.startswith("_"):
                context[name] = value
        return True


ContextFactory = Callable[[Task, dict[str, Any]], HandlerContext]


class SertelScriptEngine(PythonScriptEngine):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Script engine that dispatches service tasks to registered handlers (and fixes 3.2's error path)."""

    def __init__(self, settings: Mapping[str, Any], context_factory: ContextFactory | None = None) -> None:
        super().__init__(environment=SandboxedEnvironment(settings))
        self.context_factory = context_factory

    def call_service(self, task: Task, operation_name: str = "", operation_params: Any = None, **_: Any) -> str:
        if self.context_factory is None:
            raise WorkflowTaskException("Layanan tidak tersedia: mesin tanpa konteks handler", task=task)
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        op = registry.operator(operation_name)
        try:
            result = op.func(self.context_factory(task, params))
        except HandlerError as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc
        except SpiffWorkflowException:
            raise
        except Exception as exc:  # a handler bug must not leave the case half-advanced
            raise WorkflowTaskException(
                f"{operation_name}: {exc.__class__.__name__}: {exc}", task=task, exception=exc
            ) from exc
        return json.dumps(result if result is not None else {})


# ---------------------------------------------------------------- parsing and checks


def parse(xml: str, key: str, dependencies: Mapping[str, str] | None = None) -> ParsedProcess:
    """Parse a BPMN document whose process id is `key`, with callable processes from `dependencies`."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_str(xml.encode("utf-8"), filename=f"{key}.bpmn")
        for name, dep_xml in (dependencies or {}).items():
            parser.add_bpmn_str(dep_xml.encode("utf-8"), filename=name)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except (SpiffWorkflowException, etree.XMLSyntaxError, ValueError) as exc:
        raise ProcessError(f"Diagram {key} tidak dapat dibaca: {exc}") from exc
    return ParsedProcess(key, spec.description or key, spec, subprocess_specs, element_labels(xml))


def element_labels(xml: str) -> dict[str, str]:
    """Map element ids to their `name` labels, as written in the diagram."""
    root = etree.fromstring(xml.encode("utf-8"))
    return {el.get("id"): el.get("name") for el in root.iter() if el.get("id") and el.get("name")}


def process_ids(xml: str) -> list[str]:
    """The ids of the processes declared in a BPMN document; ProcessError if it is not XML."""
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        raise ProcessError(f"Berkas bukan XML BPMN yang valid: {exc}") from exc
    return [el.get("id") for el in root.iter(f"{{{BPMN_NS}}}process")]


def all_specs(parsed: ParsedProcess) -> list[Any]:
    """The main spec followed by every called subprocess spec."""
    return [parsed.spec, *[s for s in parsed.subprocess_specs.values() if s is not None]]


def expressions(task_spec: Any) -> list[tuple[str, str]]:
    """Every expression or script a task spec will run, with the mode it runs in."""
    found: list[tuple[str, str]] = []
    for attr in ("script", "prescript", "postscript"):
        text = getattr(task_spec, attr, None)
        if text:
            found.append((text, "exec"))
    for condition, _target in getattr(task_spec, "cond_task_specs", []) or []:
        text = condition.args[0] if hasattr(condition, "args") else condition
        if text:
            found.append((str(text), "eval"))
    for param in (getattr(task_spec, "operation_params", None) or {}).values():
        found.append((param["value"], "eval"))
    event = getattr(task_spec, "event_definition", None)
    expression = getattr(event, "expression", None)
    if expression:
        found.append((expression, "eval"))
    return found


def user_tasks(parsed: ParsedProcess) -> list[tuple[str, Any]]:
    """(process key, task spec) for every user task in the process and its called processes."""
    return [
        (spec.name, ts) for spec in all_specs(parsed) for ts in spec.task_specs.values() if isinstance(ts, UserTask)
    ]


def check(
    parsed: ParsedProcess, lane_roles: Mapping[str, str], form_exists: Callable[[str, str], bool]
) -> list[Problem]:
    """Deploy checks: operators registered, forms present, lanes mapped to roles, expressions sandboxed."""
    found: list[Problem] = []
    for spec in all_specs(parsed):
        for ts in spec.task_specs.values():
            if isinstance(ts, ServiceTask) and not registry.has_operator(ts.operation_name):
                found.append(Problem(ts.name, f"operator '{ts.operation_name}' tidak terdaftar"))
            if isinstance(ts, UserTask):
                if not ts.lane:
                    found.append(Problem(ts.name, "tugas pengguna harus berada di dalam lane"))
                elif ts.lane not in lane_roles:
                    found.append(Problem(ts.name, f"lane '{ts.lane}' tidak dipetakan ke peran"))
                if not form_exists(spec.name, ts.name):
                    found.append(Problem(ts.name, f"formulir webforms/{spec.name}/{ts.name}.html tidak ada"))
                if registry.form_for(f"{spec.name}.{ts.name}") is None:
                    found.append(Problem(ts.name, f"aturan formulir {spec.name}.{ts.name} tidak terdaftar"))
            for text, mode in expressions(ts):
                for message in sandbox.problems(text, mode):
                    found.append(Problem(ts.name, f"ekspresi '{text}': {message}"))
    return found


# ---------------------------------------------------------------- state


def spec_json(parsed: ParsedProcess) -> str:
    """Serialize a deployment's definition once, to be shared by all its instances."""
    return json.dumps(
        {
            "spec": _serializer.to_dict(parsed.spec),
            "subprocess_specs": {k: _serializer.to_dict(v) for k, v in parsed.subprocess_specs.items() if v},
        }
    )


def new_workflow(definition_json: str, engine: SertelScriptEngine) -> BpmnWorkflow:
    """Create a fresh workflow from a stored definition."""
    definition = json.loads(definition_json)
    spec = _serializer.from_dict(definition["spec"])
    subprocess_specs = {k: _serializer.from_dict(v) for k, v in definition["subprocess_specs"].items()}
    return BpmnWorkflow(spec, subprocess_specs, script_engine=engine)


def seed(workflow: BpmnWorkflow, data: dict[str, Any]) -> None:
    """Give a fresh workflow its start data (before the first advance)."""
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize the instance part of a workflow (the definition is stored with its deployment)."""
    dct = _serializer.to_dict(workflow)
    dct.pop("spec", None)
    dct.pop("subprocess_specs", None)
    dct[_serializer.VERSION_KEY] = _serializer.VERSION
    return json.dumps(dct)


def load(definition_json: str, state_json: str, engine: SertelScriptEngine) -> BpmnWorkflow:
    """Rebuild a workflow from its deployment's definition and its stored instance state."""
    dct = json.loads(state_json)
    dct.update(json.loads(definition_json))
    _serializer.migrate(dct)
    workflow = _serializer.from_dict(dct)
    workflow.script_engine = engine
    return workflow


# ---------------------------------------------------------------- running


def advance(workflow: BpmnWorkflow, on_completed: Callable[[Task], None] | None = None) -> None:
    """Run the engine until every path waits for a person, a timer or a message."""
    workflow.refresh_timers()
    try:
        workflow.do_engine_steps(did_complete_task=on_completed)
    except SpiffWorkflowException as exc:
        raise _engine_error(exc) from exc
    except sandbox.SandboxViolation as exc:
        raise EngineError(str(exc)) from exc


def _engine_error(exc: SpiffWorkflowException) -> EngineError:
    """Describe a failed step; a handler's FormRefused keeps its own message and field errors."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, FormRefused):
            return EngineError(str(cause), cause.fields)
        cause = cause.__cause__ or cause.__context__
    return EngineError(_describe(exc))


def _describe(exc: SpiffWorkflowException) -> str:
    task = getattr(exc, "task", None)
    where = f" pada langkah '{task.task_spec.bpmn_name or task.task_spec.name}'" if task is not None else ""
    return f"Proses gagal{where}: {exc}"


def ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    """The READY user tasks of a workflow (subprocesses included)."""
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    return [
        ReadyTask(
            str(t.id),
            t.task_spec.name,
            t.task_spec.bpmn_name or t.task_spec.name,
            t.task_spec.lane or "",
            t.workflow.spec.name,
        )
        for t in tasks
    ]


def task_data(workflow: BpmnWorkflow, task_uuid: str) -> dict[str, Any]:
    """The data a READY task sees (to prefill and show its form)."""
    return dict(_ready_task(workflow, task_uuid).data)


def complete_user_task(
    workflow: BpmnWorkflow,
    task_uuid: str,
    submission: dict[str, Any],
    on_completed: Callable[[Task], None] | None = None,
) -> str:
    """Store a validated submission under the task's id, complete it and advance; return the task name."""
    task = _ready_task(workflow, task_uuid)
    task.data[task.task_spec.name] = submission
    try:
        task.run()
    except SpiffWorkflowException as exc:
        raise _engine_error(exc) from exc
    if on_completed:
        on_completed(task)
    advance(workflow, on_completed)
    name: str = task.task_spec.name
    return name


def _ready_task(workflow: BpmnWorkflow, task_uuid: str) -> Task:
    task = workflow.get_task_from_id(UUID(task_uuid))
    if task is None or task.state != TaskState.READY:
        raise EngineError("Tugas tidak lagi menunggu.")
    return task


def next_timer_due(workflow: BpmnWorkflow) -> datetime | None:
    """The earliest due time of the workflow's waiting timers (UTC, naive), or None."""
    due: list[datetime] = []
    for event in workflow.waiting_events():
        if "Timer" not in event.event_type or not isinstance(event.value, str):
            continue
        try:
            moment = datetime.fromisoformat(event.value)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        due.append(moment)
    return min(due) if due else None


def is_completed(workflow: BpmnWorkflow) -> bool:
    """Tell whether the workflow has reached its end."""
    return bool(workflow.is_completed())


def end_event(workflow: BpmnWorkflow) -> str | None:
    """The id of the end event the main process finished on, if any."""
    ends = [
        t
        for t in workflow.get_tasks(state=TaskState.COMPLETED)
        if isinstance(t.task_spec, EndEvent) and t.workflow is workflow
    ]
    # A branch such as an escalation may end before the main path does: the outcome is the last end reached.
    return str(max(ends, key=lambda t: t.last_state_change).task_spec.name) if ends else None


def active_elements(workflow: BpmnWorkflow) -> list[str]:
    """Elements to highlight as current: READY user tasks and the running call activities holding them."""
    names = {t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    names |= {
        t.task_spec.name for t in workflow.get_tasks(state=TaskState.STARTED | TaskState.WAITING) if t.task_spec.bpmn_id
    }
    return sorted(names)


def completed_path(workflow: BpmnWorkflow) -> list[str]:
    """The element ids of completed tasks (for the diagram highlight)."""
    return sorted({t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)})


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The case data as it stands: a waiting task's data, or the finished workflow's."""
    waiting = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
    if waiting:
        return dict(waiting[0].data)
    if workflow.data:
        return dict(workflow.data)
    finished = workflow.get_tasks(state=TaskState.COMPLETED)
    return dict(max(finished, key=lambda t: t.last_state_change).data) if finished else {}


def task_label(task: Task) -> str:
    """The human label of a task."""
    return str(task.task_spec.bpmn_name or task.task_spec.name)


def describe_completed(task: Task) -> dict[str, Any]:
    """What the audit log records of a completed task: its element, kind and what it produced."""
    spec = task.task_spec
    record: dict[str, Any] = {
        "task_name": spec.name,
        "label": task_label(task),
        "type": spec.bpmn_id and spec.__class__.__name__,
    }
    if isinstance(spec, ServiceTask):
        record["operator"] = spec.operation_name
        record["output"] = {spec.result_variable: task.data.get(spec.result_variable)}
    elif isinstance(spec, UserTask):
        record["output"] = {spec.name: task.data.get(spec.name)}
    return record


def is_user_task_record(task: Task) -> bool:
    """Tell whether a task is a user task (its completion is logged with the submitting person)."""
    return isinstance(task.task_spec, UserTask)


def is_significant(task: Task) -> bool:
    """Tell whether a completed task belongs in the timeline (not the library's internal helpers)."""
    return bool(task.task_spec.bpmn_id)


def iteration(task: Task) -> int:
    """How many times this element has completed before in the case, plus one (stable across retries)."""
    done = task.workflow.top_workflow.get_tasks(state=TaskState.COMPLETED, spec_name=task.task_spec.name)
    return len(done) + 1


def process_key_of(task: Task) -> str:
    """The id of the process the task belongs to."""
    return str(task.workflow.spec.name)


# ---------------------------------------------------------------- migration between versions (issue 9)

# The states of a task a case is "at": waiting for a person, a timer or message, or a running call activity.
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class MigrationPlan:
    """Whether a running case can move to another version: its current elements, or why it cannot."""

    tasks: list[str]
    reason: str | None = None

    @property
    def movable(self) -> bool:
        """True when nothing blocks the move."""
        return self.reason is None


def _definition(definition_json: str) -> tuple[Any, dict[str, Any]]:
    definition = json.loads(definition_json)
    spec = _serializer.from_dict(definition["spec"])
    return spec, {k: _serializer.from_dict(v) for k, v in definition["subprocess_specs"].items()}


def _named(spec: Any) -> str:
    label = spec.bpmn_name or ""
    return f"'{spec.name}' ({label})" if label and label != spec.name else f"'{spec.name}'"


def _active_tasks(workflow: Any) -> list[Task]:
    return [t for t in workflow.get_tasks(state=_ACTIVE, skip_subprocesses=True) if t.task_spec.bpmn_id]


def _apply_migration(workflow: BpmnWorkflow, definition_json: str, version: int) -> list[str]:
    """Move `workflow` onto a definition in place; return why it cannot move (empty when it can)."""
    spec, dependencies = _definition(definition_json)
    top_diff, sub_diffs = diff_workflow(_serializer.registry, workflow, spec, dependencies)
    reasons: list[str] = []
    diffs: list[tuple[Any, Any, Any]] = [(workflow, top_diff, spec)]
    for sp_id, sub in workflow.subprocesses.items():
        sub_diff = sub_diffs.get(sp_id)
        if sub_diff is None:
            reasons.append(f"sub-proses '{sub.spec.name}' tidak ada di versi {version}")
            continue
        diffs.append((sub, sub_diff, dependencies[sub.spec.name]))
    for wf, diff, _new in diffs:
        removed = {id(t) for t in diff.removed}
        for task in _active_tasks(wf):
            if id(task) in removed:
                reasons.append(f"langkah {_named(task.task_spec)} yang sedang berjalan tidak ada di versi {version}")
            elif task.has_state(TaskState.STARTED) and task in diff.changed:
                reasons.append(
                    f"aktivitas panggilan {_named(task.task_spec)} yang sedang berjalan berubah di versi {version}"
                )
    if reasons:
        return reasons
    for wf, diff, new in diffs:
        migrate_workflow(diff, wf, new)
    workflow.subprocess_specs = dependencies
    for wf, _diff, new in diffs:
        for task in wf.tasks.values():
            if new.task_specs.get(task.task_spec.name) is not task.task_spec:
                when = "yang sudah dilalui" if task.has_state(TaskState.FINISHED_MASK) else "berikutnya"
                reasons.append(f"langkah {_named(task.task_spec)} {when} tidak ada di versi {version}")
    return sorted(set(reasons))


def migration_plan(
    definition_json: str, state_json: str, new_definition_json: str, new_version: int, engine: SertelScriptEngine
) -> MigrationPlan:
    """Tell whether a stored case could move to another version (a trial on a copy; nothing changes)."""
    workflow = load(definition_json, state_json, engine)
    tasks = sorted({t.task_spec.name for t in workflow.get_tasks(state=_ACTIVE) if t.task_spec.bpmn_id})
    try:
        reasons = _apply_migration(workflow, new_definition_json, new_version)
        if not reasons:
            load(new_definition_json, dump_state(workflow), engine)
    except (SpiffWorkflowException, KeyError, AttributeError, TypeError, ValueError) as exc:
        reasons = [f"status kasus tidak dapat dipetakan ke versi {new_version}: {exc}"]
    return MigrationPlan(tasks, "; ".join(reasons) or None)


def migrate(
    workflow: BpmnWorkflow, new_definition_json: str, new_version: int, engine: SertelScriptEngine
) -> BpmnWorkflow:
    """Move a loaded workflow onto another version and return it rebuilt from that version's definition.

    READY and WAITING tasks are reset by SpiffWorkflow (a timer restarts; a READY task keeps its id). Raise
    ProcessError naming what blocks the move; call `advance` afterwards.
    """
    reasons = _apply_migration(workflow, new_definition_json, new_version)
    if reasons:
        raise ProcessError("; ".join(reasons))
    return load(new_definition_json, dump_state(workflow), engine)
