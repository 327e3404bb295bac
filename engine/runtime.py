"""The only boundary to SpiffWorkflow: parse, check, create, load, advance and save workflows."""

from __future__ import annotations

import base64
import json
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from threading import Lock
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import UserTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.spiff.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.spiff.specs.mixins.user_task import UserTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import registry, sandbox
from engine.handler_api import FormRefused, HandlerContext, HandlerError

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Sertel's own diagram vocabulary: <sertel:form> on user tasks and processes, <sertel:properties> on processes.
SERTEL_NS = "https://sertel.id/schema/bpmn/1.0"
_NSMAP = {"bpmn": BPMN_NS, "sertel": SERTEL_NS}
# Where a user task's form reference is kept among its (serialized) extensions.
FORM_EXTENSION = "sertel_form"
# A user task's own `<sertel:properties>` (e.g. priority="urgent" for a fast track), kept with its spec.
TASK_PROPERTIES_EXTENSION = "sertel_properties"
# A user task of a shared (called) process whose `label` property is "caller" is named, where people read it,
# by the call activity that runs it: the SOP's own diagram names the step (e.g. what its verification covers).
LABEL_PROPERTY = "label"
LABEL_FROM_CALLER = "caller"
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


@dataclass(frozen=True)
class FormRef:
    """What a user task's `<sertel:form>` says: the catalogue form, where its submission goes, its inputs."""

    name: str
    output: str
    # (input name, sandboxed expression over the case data), in diagram order.
    inputs: tuple[tuple[str, str], ...] = ()


@dataclass
class ParsedProcess:
    """A parsed BPMN file: its main process spec, called subprocess specs and metadata."""

    key: str
    title: str
    spec: Any
    subprocess_specs: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    # The `<sertel:properties>` in force: the called processes' overridden by the main process's.
    properties: dict[str, str] = field(default_factory=dict)
    # The `<sertel:form name>` of the main process (its start form), if it has one.
    start_form: str | None = None
    # Each process's own properties and start form, by process id (for checks and the catalogue).
    process_properties: dict[str, dict[str, str]] = field(default_factory=dict)
    # Service tasks the diagram lets run in the background (`background=true`), by the id of the process or
    # subprocess holding them.
    background_steps: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadyTask:
    """A READY user task, as the inbox projection needs it."""

    uuid: str
    name: str
    label: str
    lane: str
    process_key: str
    # The catalogue form the diagram names for the task (`<sertel:form name>`).
    form_key: str = ""
    # When the earliest timer on the task (an SLA reminder or deadline) fires, UTC naive; None without one.
    due_at: datetime | None = None
    # The task's `priority` property in the diagram ("urgent": a fast track the inbox shows first).
    priority: str | None = None


# ---------------------------------------------------------------- the clock timers read (replay sets it)

_clock: ContextVar[datetime | None] = ContextVar("sertel_clock", default=None)


class _TimerClock(datetime):
    """`datetime` as SpiffWorkflow's timers see it: the real time, or the recorded moment a replay runs at."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        fixed = _clock.get()
        return datetime.now(tz) if fixed is None else fixed.astimezone(tz)


_timer_module.datetime = _TimerClock


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run timers (due times, firing) as if it were `moment` (aware UTC), in this thread only."""
    token = _clock.set(moment)
    try:
        yield
    finally:
        _clock.reset(token)


def clock_now() -> datetime:
    """The time timers read now (aware UTC)."""
    return _TimerClock.now(UTC)


# ---------------------------------------------------------------- sandboxed scripting


@lru_cache(maxsize=4096)
def _compiled(source: str, mode: str) -> Any:
    """A diagram expression or script, checked and compiled once per process (code objects are immutable;
    a refused text raises each time, as exceptions are not cached)."""
    return sandbox.compile_checked(source, mode)


class SandboxedEnvironment(TaskDataEnvironment):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Evaluates diagram expressions and scripts only after the sandbox check, with a step limit."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        # The running deployment's diagram properties, bound when a workflow is created or loaded.
        self.properties: dict[str, str] = {}
        super().__init__(sandbox.helper_functions(settings, self.properties))
        self.max_steps = int(settings.get("SANDBOX_MAX_STEPS", 100_000))

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        code = _compiled(expression, "eval")
        namespace = dict(self.globals)
        namespace.update(external_context or {})
        namespace.update(context)
        return sandbox.run(code, namespace, "eval", self.max_steps)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        code = _compiled(script, "exec")
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
        # Service tasks marked `background=true` in the diagram wait for the background runner (else they run
        # in the request like any other step).
        self.background_steps = bool(settings.get("BACKGROUND_STEPS", False))

    @property
    def properties(self) -> dict[str, str]:
        """The diagram properties of the deployment this engine runs (what `setting()` reads first)."""
        props: dict[str, str] = self.environment.properties
        return props

    def bind_properties(self, properties: Mapping[str, str]) -> None:
        """Make `setting()` read the running deployment's properties before the settings defaults."""
        self.environment.properties.clear()
        self.environment.properties.update(properties)

    def call_service(self, task: Task, operation_name: str = "", operation_params: Any = None, **_: Any) -> str:
        if self.context_factory is None:
            raise WorkflowTaskException("Layanan tidak tersedia: mesin tanpa konteks handler", task=task)
        # SpiffWorkflow has evaluated each parameter's expression against the case data already.
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        try:
            # "name@N" runs version N (the deployment pinned it at publish); a bare name the newest version.
            op = registry.operator(operation_name)
        except registry.RegistryError as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc
        try:
            context = self.context_factory(task, params)
            # A handler setting the diagram overrides with a property of the same name follows the diagram.
            overridden = {
                k: sandbox.like(self.properties[k], v) for k, v in context.settings.items() if k in self.properties
            }
            context.settings = {**context.settings, **overridden}
            result = op.func(context)
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


def form_ref_of(node: Any) -> dict[str, Any] | None:
    """The `<sertel:form>` among a BPMN element's extension elements, as plain data (None if absent)."""
    found = node.xpath("./bpmn:extensionElements/sertel:form", namespaces=_NSMAP)
    if not found:
        return None
    form = found[0]
    inputs = [
        [str(i.get("name") or ""), str(i.get("value") or "")] for i in form.xpath("./sertel:input", namespaces=_NSMAP)
    ]
    return {"name": str(form.get("name") or ""), "output": form.get("output"), "inputs": inputs}


BACKGROUND_PROPERTY = "background"


def properties_of(node: Any) -> dict[str, str]:
    """The `<sertel:properties>` of a BPMN element (a process, a user task or a service task)."""
    props = node.xpath("./bpmn:extensionElements/sertel:properties/sertel:property", namespaces=_NSMAP)
    return {str(p.get("name") or ""): str(p.get("value") or "") for p in props}


class SertelUserTaskParser(UserTaskParser):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Parses a user task like SpiffWorkflow does, and keeps its `<sertel:form>` with the task spec's extensions."""

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)
        form = form_ref_of(self.node if node is None else node)
        if form is not None:
            extensions[FORM_EXTENSION] = form
        properties = properties_of(self.node if node is None else node)
        if properties:
            extensions[TASK_PROPERTIES_EXTENSION] = properties
        return extensions


class SertelBpmnParser(SpiffBpmnParser):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """SpiffWorkflow's parser with Sertel's user-task extensions."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (SertelUserTaskParser, SpiffBpmnParser.OVERRIDE_PARSER_CLASSES[full_tag("userTask")][1]),
    }


def form_of(task_spec: Any) -> FormRef | None:
    """The form a user task spec names (None if its diagram names none)."""
    raw = (getattr(task_spec, "extensions", None) or {}).get(FORM_EXTENSION)
    if not raw:
        return None
    inputs = tuple((str(n), str(v)) for n, v in raw.get("inputs") or [])
    return FormRef(str(raw.get("name") or ""), str(raw.get("output") or task_spec.name), inputs)


def _process_metadata(
    documents: list[str],
) -> tuple[dict[str, dict[str, str]], dict[str, str | None], dict[str, list[str]]]:
    """Each process's own `<sertel:properties>`, start `<sertel:form name>` and background service tasks."""
    properties: dict[str, dict[str, str]] = {}
    start_forms: dict[str, str | None] = {}
    background: dict[str, list[str]] = {}
    for text in documents:
        root = etree.fromstring(text.encode("utf-8"))
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            pid = str(process.get("id"))
            properties[pid] = properties_of(process)
            form = form_ref_of(process)
            start_forms[pid] = form["name"] if form else None
        for task in root.iter(f"{{{BPMN_NS}}}serviceTask"):
            if properties_of(task).get(BACKGROUND_PROPERTY, "").strip().lower() != "true":
                continue
            holder = task.getparent()  # SpiffWorkflow keeps an embedded subprocess's tasks in its own spec
            background.setdefault(str(holder.get("id")), []).append(str(task.get("id")))
    return properties, start_forms, background


def parse(xml: str, key: str, dependencies: Mapping[str, str] | None = None) -> ParsedProcess:
    """Parse a BPMN document whose process id is `key`, with callable processes from `dependencies`."""
    parser = SertelBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_str(xml.encode("utf-8"), filename=f"{key}.bpmn")
        for name, dep_xml in (dependencies or {}).items():
            parser.add_bpmn_str(dep_xml.encode("utf-8"), filename=name)
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except (SpiffWorkflowException, etree.XMLSyntaxError, ValueError) as exc:
        raise ProcessError(f"Diagram {key} tidak dapat dibaca: {exc}") from exc
    own, start_forms, background = _process_metadata([xml, *(dependencies or {}).values()])
    used = {key, *(name for name, sub in subprocess_specs.items() if sub is not None)}
    by_process = {pid: props for pid, props in own.items() if pid in used}
    # Shared call activities bring their own values; the main process's override them.
    merged: dict[str, str] = {}
    for pid in sorted(by_process, key=lambda p: p == key):
        merged.update(by_process[pid])
    return ParsedProcess(
        key,
        spec.description or key,
        spec,
        subprocess_specs,
        element_labels(xml),
        properties=merged,
        start_form=start_forms.get(key),
        process_properties=by_process,
        background_steps={pid: ids for pid, ids in background.items() if pid in used or pid not in own},
    )


def element_labels(xml: str) -> dict[str, str]:
    """Map element ids to their `name` labels, as written in the diagram (parsed once per diagram text)."""
    return dict(_element_labels(xml))


@lru_cache(maxsize=128)
def _element_labels(xml: str) -> dict[str, str]:
    root = etree.fromstring(xml.encode("utf-8"))
    return {el.get("id"): el.get("name") for el in root.iter() if el.get("id") and el.get("name")}


# An end event's `<sertel:property name="granted" value="false"/>`: the case ends without what was asked for
# (rejected, declined, expired…); retention keeps such a case's identity documents for a shorter period.
GRANTED_PROPERTY = "granted"


@dataclass(frozen=True)
class Outcome:
    """A possible outcome of a case: an end event of an executable process."""

    label: str
    granted: bool


def end_events(xml: str) -> dict[str, Outcome]:
    """The end events of the diagram's executable processes (a case's possible outcomes), as the diagram says."""
    return dict(_end_events(xml))


def end_event_labels(xml: str) -> dict[str, str]:
    """The end events of the diagram's executable processes with their labels."""
    return {element_id: end.label for element_id, end in _end_events(xml).items()}


@lru_cache(maxsize=128)
def _end_events(xml: str) -> dict[str, Outcome]:
    root = etree.fromstring(xml.encode("utf-8"))
    return {
        end.get("id"): Outcome(
            end.get("name") or "Selesai", properties_of(end).get(GRANTED_PROPERTY, "true") != "false"
        )
        for process in root.iter(f"{{{BPMN_NS}}}process")
        if process.get("isExecutable") != "false"
        for end in process.findall(f"{{{BPMN_NS}}}endEvent")
        if end.get("id")
    }


def caller_labels(xml: str, called: Mapping[str, str]) -> dict[str, str]:
    """Labels of the shared user tasks marked `label="caller"`, as the SOP diagram `xml` names them.

    `called` holds the shared processes' diagrams (any keys). A task is relabelled only when its process is
    called from one call activity of `xml` (two calls with different names leave its own name).
    """
    return dict(_caller_labels(xml, tuple(called.values())))


@lru_cache(maxsize=128)
def _caller_labels(xml: str, called: tuple[str, ...]) -> dict[str, str]:
    root = etree.fromstring(xml.encode("utf-8"))
    names: dict[str, set[str]] = {}
    for call in root.iter(f"{{{BPMN_NS}}}callActivity"):
        names.setdefault(call.get("calledElement", ""), set()).add(call.get("name", ""))
    found: dict[str, str] = {}
    for other in called:
        other_root = etree.fromstring(other.encode("utf-8"))
        for process in other_root.iter(f"{{{BPMN_NS}}}process"):
            callers = names.get(process.get("id", ""), set())
            if len(callers) != 1 or not next(iter(callers)):
                continue
            for task in process.iter(f"{{{BPMN_NS}}}userTask"):
                if properties_of(task).get(LABEL_PROPERTY) == LABEL_FROM_CALLER and task.get("id"):
                    found[str(task.get("id"))] = next(iter(callers))
    return found


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
    parsed: ParsedProcess, lane_roles: Mapping[str, str], form_exists: Callable[[str], bool] | None = None
) -> list[Problem]:
    """Deploy checks: operators registered, forms in the catalogue, lanes mapped to roles, expressions sandboxed.

    `form_exists(name)` tells whether a catalogue form's template is present (None: not checked).
    """
    found: list[Problem] = []
    labels = parsed.labels
    for spec in all_specs(parsed):
        for ts in spec.task_specs.values():
            if isinstance(ts, ServiceTask) and not registry.has_operator(ts.operation_name):
                found.append(Problem(ts.name, f"operator '{ts.operation_name}' tidak terdaftar"))
            if isinstance(ts, UserTask):
                if not ts.lane:
                    found.append(Problem(ts.name, "tugas pengguna harus berada di dalam lane"))
                elif ts.lane not in lane_roles:
                    found.append(Problem(ts.name, f"lane '{ts.lane}' tidak dipetakan ke peran"))
                found.extend(_form_problems(ts, labels, form_exists))
            for text, mode in expressions(ts):
                for message in sandbox.problems(text, mode):
                    found.append(Problem(ts.name, f"ekspresi '{text}': {message}"))
    if parsed.start_form is not None:
        where = _named(parsed.key, labels)
        if registry.form(parsed.start_form) is None:
            found.append(
                Problem(parsed.key, f"proses {where}: formulir awal '{parsed.start_form}' tidak ada di katalog")
            )
    for pid, props in parsed.process_properties.items():
        for name, value in props.items():
            problem = property_problem(name, value)
            if problem:
                found.append(Problem(pid, f"proses {_named(pid, labels)}: properti '{name}' {problem}"))
    return found


def _named(element_id: str, labels: Mapping[str, str]) -> str:
    """An element as problems name it: its id and, when it has one, its label."""
    label = labels.get(element_id)
    return f"'{element_id}' ({label})" if label else f"'{element_id}'"


def _form_problems(ts: Any, labels: Mapping[str, str], form_exists: Callable[[str], bool] | None) -> list[Problem]:
    """Problems of a user task's `<sertel:form>`: present, in the catalogue, a valid output, sandboxed inputs."""
    where = f"tugas {_named(ts.name, labels)}"
    form = form_of(ts)
    if form is None or not form.name:
        return [Problem(ts.name, f"{where}: tidak menyebut formulir (<sertel:form name=...>)")]
    found: list[Problem] = []
    if registry.form(form.name) is None:
        found.append(Problem(ts.name, f"{where}: formulir '{form.name}' tidak ada di katalog"))
    elif form_exists is not None and not form_exists(form.name):
        found.append(Problem(ts.name, f"{where}: templat webforms/{form.name}.html tidak ada"))
    if not form.output.isidentifier() or form.output.startswith("_"):
        found.append(Problem(ts.name, f"{where}: nama keluaran '{form.output}' bukan nama data yang valid"))
    seen: set[str] = set()
    for name, value in form.inputs:
        if not name.isidentifier() or name in seen:
            found.append(Problem(ts.name, f"{where}: masukan formulir '{name}' tidak valid atau ganda"))
        seen.add(name)
        for message in sandbox.problems(value, "eval") if value else ["ekspresi kosong"]:
            found.append(Problem(ts.name, f"{where}: masukan '{name}' = '{value}': {message}"))
    return found


def property_problem(name: str, value: str) -> str | None:
    """Why a diagram property is invalid (None if it is fine): a name, and a duration for an SLA (`sla_*`)."""
    if not name.isidentifier():
        return "bukan nama yang valid"
    if name.lower().startswith("sla_"):
        try:
            parse_duration(value)
        except ValueError:
            return f"bukan durasi ISO 8601 yang valid: '{value}'"
    return None


def parse_duration(value: str) -> Any:
    """Parse an ISO 8601 duration the way timers do; raise ValueError if it is not one."""
    try:
        parsed = TimerEventDefinition.parse_iso_duration(value.strip())
    except Exception as exc:  # SpiffWorkflow raises assorted errors on malformed text
        raise ValueError(str(exc)) from exc
    if not value.strip().upper().startswith("P") or not any(parsed.values()):
        raise ValueError(value)
    return parsed


def timer_value_problem(kind: str, value: str) -> str | None:
    """Why a timer's value does not parse the way SpiffWorkflow will parse it (None when it does).

    `kind` is the BPMN element: "timeDuration", "timeDate" or "timeCycle".
    """
    try:
        if kind == "timeDuration":
            # SpiffWorkflow reads a bare "P" as zero: refused here, it is a typo, not a deliberate "now".
            if not value.upper().startswith("P") or not TimerEventDefinition.parse_iso_duration(value):
                raise ValueError(value)
        elif kind == "timeDate":
            TimerEventDefinition.get_datetime(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception (and ValueError, AttributeError)
        labels = {"timeDuration": "durasi", "timeDate": "tanggal", "timeCycle": "siklus"}
        example = {"timeDuration": " (mis. 'P2D' atau 'PT4H')"}.get(kind, "")
        return f"'{value}' bukan {labels.get(kind, 'nilai waktu')} ISO 8601 yang valid{example}"
    return None


# ---------------------------------------------------------------- state


def spec_json(parsed: ParsedProcess) -> str:
    """Serialize a deployment's definition once, to be shared by all its instances."""
    return json.dumps(
        {
            "spec": _serializer.to_dict(parsed.spec),
            "subprocess_specs": {k: _serializer.to_dict(v) for k, v in parsed.subprocess_specs.items() if v},
            # Sertel's process-level vocabulary, versioned with the definition.
            "sertel": {
                "properties": parsed.properties,
                "start_form": parsed.start_form,
                "background": parsed.background_steps,
            },
        }
    )


def definition_properties(definition_json: str) -> dict[str, str]:
    """The diagram properties stored with a deployment's definition (empty for older definitions)."""
    props: dict[str, str] = (json.loads(definition_json).get("sertel") or {}).get("properties") or {}
    return props


def definition_start_form(definition_json: str) -> str | None:
    """The start form a deployment's main process names, if any."""
    name = (json.loads(definition_json).get("sertel") or {}).get("start_form")
    return str(name) if name else None


def new_workflow(definition_json: str, engine: SertelScriptEngine) -> BpmnWorkflow:
    """Create a fresh workflow from a stored definition (deserialised once per process)."""
    known = _definition(definition_json, lambda: definition_json)
    engine.bind_properties(known.properties)
    workflow = BpmnWorkflow(known.spec, dict(known.subprocess_specs), script_engine=engine)
    _mark_background(workflow, known.background, engine.background_steps)
    return workflow


def use_engine(workflow: BpmnWorkflow, engine: SertelScriptEngine) -> None:
    """Let a loaded workflow run its next steps with another engine (another actor), without loading it again."""
    engine.bind_properties(workflow.script_engine.environment.properties)
    workflow.script_engine = engine


def seed(workflow: BpmnWorkflow, data: dict[str, Any]) -> None:
    """Give a fresh workflow its start data (before the first advance)."""
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize the instance part of a workflow (the definition is stored with its deployment)."""
    dct = _instance_to_dict(workflow)
    _prune_finished_subprocesses(workflow, dct)
    dct[_serializer.VERSION_KEY] = _serializer.VERSION
    text = json.dumps(dct, separators=(",", ":"))
    if workflow.is_completed():
        # A finished case is read (case page) but never advanced again: stored compressed, once.
        return _COMPRESSED + base64.b85encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    return text


def _instance_to_dict(workflow: BpmnWorkflow) -> dict[str, Any]:
    """SpiffWorkflow's `to_dict` of a workflow without its spec and subprocess specs, which it would convert only
    for dump_state to drop them (they are the deployment's): the same dictionary, without that work.

    Falls back to the full conversion if the serializer's workflow converter is not SpiffWorkflow's own.
    """
    registry_ = _serializer.registry
    typename = registry_.typenames.get(type(workflow))
    to_dict = registry_.convert_to_dict.get(typename) if typename else None
    converter = getattr(to_dict.args[1], "__self__", None) if to_dict is not None else None
    if converter is None or type(converter) is not BpmnWorkflowConverter:
        dct: dict[str, Any] = _serializer.to_dict(workflow)
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        return dct
    # What BpmnWorkflowConverter.to_dict does, less its "spec" and "subprocess_specs" entries.
    dct = WorkflowConverter.to_dict(converter, workflow)
    dct["subprocesses"] = converter.mapping_to_dict(workflow.subprocesses)
    dct["bpmn_events"] = registry_.convert(workflow.bpmn_events)
    dct["typename"] = typename
    return dct


# The prefix of a compressed state (zlib, then base85: printable ASCII, no quotes or backslashes, 25 %
# larger than the bytes where base64 is 33 %); a plain state is a JSON object and starts with "{".
_COMPRESSED = "zlib:"


def state_dict(state_json: str) -> dict[str, Any]:
    """The stored state of a case as a dictionary, whether it is stored plain or compressed."""
    if state_json.startswith(_COMPRESSED):
        state_json = zlib.decompress(base64.b85decode(state_json[len(_COMPRESSED) :])).decode("utf-8")
    found: dict[str, Any] = json.loads(state_json)
    return found


def _prune_finished_subprocesses(workflow: BpmnWorkflow, dct: dict[str, Any]) -> None:
    """Drop the data of call activities that have finished: it was handed to the calling task already.

    A finished subprocess keeps its tasks (the path taken, iteration counts for idempotency keys) but not
    its copy of the case data (its workflow data and its start task's full copy, the rest being deltas
    against that copy): nothing reads a finished subprocess's data, and the call activity that took it
    over holds it. The audit log keeps every submission and service output in any case.
    """
    for sp_id, sub in (dct.get("subprocesses") or {}).items():
        caller = workflow.get_task_from_id(UUID(sp_id))
        if caller is None or not caller.has_state(TaskState.COMPLETED):
            continue
        sub["data"] = {}
        for task in (sub.get("tasks") or {}).values():
            task["data"] = {}
            task["delta"] = {}


@dataclass(frozen=True)
class _Definition:
    """A deployment's definition, deserialised: its specs are shared, read-only, by every workflow built on it."""

    spec: Any
    subprocess_specs: dict[str, Any]
    properties: dict[str, str]
    # Background service tasks by the id of the process or subprocess holding them.
    background: dict[str, list[str]]


# Deserialised definitions keyed by their stored JSON text (content-addressed, so never stale: a deployment is
# immutable and another database's deployment with the same id but other content is another key), or by a key
# the caller vouches names that text as well (`load_deployed`).
_DEFINITIONS: OrderedDict[Hashable, _Definition] = OrderedDict()
_DEFINITIONS_KEPT = 64
_definitions_lock = Lock()


def _definition(key: Hashable, read_json: Callable[[], str]) -> _Definition:
    """The deserialised definition, parsed once per process and kept (least recently used first out)."""
    with _definitions_lock:
        found = _DEFINITIONS.get(key)
        if found is not None:
            _DEFINITIONS.move_to_end(key)
            return found
    definition = json.loads(read_json())
    built = _Definition(
        _serializer.from_dict(definition["spec"]),
        {k: _serializer.from_dict(v) for k, v in definition["subprocess_specs"].items()},
        dict((definition.get("sertel") or {}).get("properties") or {}),
        dict((definition.get("sertel") or {}).get("background") or {}),
    )
    with _definitions_lock:
        _DEFINITIONS[key] = built
        while len(_DEFINITIONS) > _DEFINITIONS_KEPT:
            _DEFINITIONS.popitem(last=False)
    return built


def load(definition_json: str, state_json: str, engine: SertelScriptEngine) -> BpmnWorkflow:
    """Rebuild a workflow from its deployment's definition and its stored instance state.

    The definition is deserialised once per process (`_definition`); a state in an older serialisation
    format is upgraded through the full definition, as SpiffWorkflow's migrations expect.
    """
    return load_deployed(definition_json, lambda: definition_json, state_json, engine)


def load_deployed(
    key: Hashable, read_json: Callable[[], str], state_json: str, engine: SertelScriptEngine
) -> BpmnWorkflow:
    """`load`, with the definition named by `key` (which must name one definition text in every database the
    process serves) and its JSON read by `read_json` only when the process has not deserialised it yet."""
    dct = state_dict(state_json)
    known = _definition(key, read_json)
    engine.bind_properties(known.properties)
    if dct.get(_serializer.VERSION_KEY) != _serializer.VERSION:
        definition = json.loads(read_json())
        definition.pop("sertel", None)
        dct.update(definition)
        _serializer.migrate(dct)
    else:
        del dct[_serializer.VERSION_KEY]
        # Spec objects pass through the registry unchanged: nothing of the definition is parsed again.
        dct["spec"] = known.spec
        dct["subprocess_specs"] = dict(known.subprocess_specs)
    workflow = _serializer.from_dict(dct)
    workflow.script_engine = engine
    _mark_background(workflow, known.background, engine.background_steps)
    return workflow


def _mark_background(workflow: BpmnWorkflow, marks: Mapping[str, list[str]], enabled: bool) -> None:
    """Make the diagram's background service tasks wait for the background runner (when it is enabled).

    SpiffWorkflow's engine steps skip READY tasks whose spec is `manual`; `run_background_steps` runs them.
    The specs are shared by the process's workflows of this definition: every load sets the flag again from
    the settings, which are the same for the whole process.
    """
    if not marks:
        return
    specs = {workflow.spec.name: workflow.spec, **workflow.subprocess_specs}
    for holder, ids in marks.items():
        spec = specs.get(holder)
        if spec is None:
            continue
        for task_id in ids:
            if task_id in spec.task_specs:
                spec.task_specs[task_id].manual = enabled


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


@dataclass(frozen=True)
class Waiting:
    """What a workflow waits for after a run, read in one walk of its task tree: READY user tasks (for the
    inbox), READY background service tasks (the background runner's), and when the scheduler must next look."""

    user_tasks: list[ReadyTask]
    background: list[Task]
    next_timer_at: datetime | None


def waiting(workflow: BpmnWorkflow) -> Waiting:
    """The READY user and background tasks and the next timer, as `save_case` stores them."""
    manual = workflow.get_tasks(state=TaskState.READY, manual=True)
    background = [t for t in manual if _is_background(t)]
    return Waiting(
        _ready_tasks([t for t in manual if not _is_background(t)]), background, _next_due(workflow, background)
    )


def ready_user_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    """The READY user tasks of a workflow (subprocesses included)."""
    return _ready_tasks([t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if not _is_background(t)])


def _ready_tasks(tasks: list[Task]) -> list[ReadyTask]:
    return [
        ReadyTask(
            str(t.id),
            t.task_spec.name,
            task_label(t),
            t.task_spec.lane or "",
            t.workflow.spec.name,
            _form_name(t.task_spec),
            _due_of(t),
            task_properties(t.task_spec).get("priority") or None,
        )
        for t in tasks
    ]


def task_properties(task_spec: Any) -> dict[str, str]:
    """The `<sertel:properties>` a user task declares in its diagram (empty when none)."""
    raw = (getattr(task_spec, "extensions", None) or {}).get(TASK_PROPERTIES_EXTENSION)
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _due_of(task: Task) -> datetime | None:
    """The earliest due time of the timer boundary events waiting on a task (their durations already evaluated)."""
    due: list[datetime] = []
    for sibling in task.parent.children if task.parent is not None else []:
        definition = getattr(sibling.task_spec, "event_definition", None)
        if sibling is task or sibling.state != TaskState.WAITING or not isinstance(definition, TimerEventDefinition):
            continue
        moment = _utc_naive(sibling._get_internal_data("event_value"))
        if moment is not None:
            due.append(moment)
    return min(due) if due else None


def _utc_naive(value: Any) -> datetime | None:
    """An ISO date-time as naive UTC, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _form_name(task_spec: Any) -> str:
    form = form_of(task_spec)
    return form.name if form else ""


def task_data(workflow: BpmnWorkflow, task_uuid: str) -> dict[str, Any]:
    """The data a READY task sees."""
    return dict(_ready_task(workflow, task_uuid).data)


def task_form(workflow: BpmnWorkflow, task_uuid: str) -> FormRef:
    """The form of a READY user task (its name, output and inputs); a task naming none stores under its id."""
    spec = _ready_task(workflow, task_uuid).task_spec
    return form_of(spec) or FormRef("", spec.name)


def form_inputs(workflow: BpmnWorkflow, task_uuid: str) -> dict[str, Any]:
    """Evaluate a READY task's `<sertel:input>` expressions in the sandbox over the task's data.

    An input naming data the case does not have (yet), e.g. the verifikator's verdict before any
    verification, is None: a form shows it only when present.
    """
    task = _ready_task(workflow, task_uuid)
    form = form_of(task.task_spec)
    values: dict[str, Any] = {}
    for name, expression in form.inputs if form else ():
        try:
            values[name] = workflow.script_engine.environment.evaluate(expression, dict(task.data))
        except NameError:
            values[name] = None
        except Exception as exc:  # a sandbox refusal or a failing expression: staff see which input
            raise EngineError(f"Masukan formulir '{name}' ({expression}) gagal dievaluasi: {exc}") from exc
    return values


def complete_user_task(
    workflow: BpmnWorkflow,
    task_uuid: str,
    submission: dict[str, Any],
    on_completed: Callable[[Task], None] | None = None,
) -> str:
    """Store a validated submission under the form's output (default: the task id), complete it and advance.

    Returns the task name.
    """
    task = _ready_task(workflow, task_uuid)
    form = form_of(task.task_spec)
    task.data[form.output if form else task.task_spec.name] = submission
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


def _is_background(task: Task) -> bool:
    return isinstance(task.task_spec, ServiceTask) and bool(task.task_spec.manual)


def ready_background_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """READY service tasks left to the background runner (diagram property `background=true`)."""
    return [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if _is_background(t)]


def run_background_steps(workflow: BpmnWorkflow, on_completed: Callable[[Task], None] | None = None) -> int:
    """Run the READY background service tasks and what follows them, until none is left; how many ran."""
    ran = 0
    while ready := ready_background_tasks(workflow):
        for task in ready:
            try:
                task.run()
            except SpiffWorkflowException as exc:
                raise _engine_error(exc) from exc
            except sandbox.SandboxViolation as exc:
                raise EngineError(str(exc)) from exc
            ran += 1
            if on_completed is not None:
                on_completed(task)
        advance(workflow, on_completed)
    return ran


def _next_due(workflow: BpmnWorkflow, background: list[Task]) -> datetime | None:
    """When the scheduler must next advance the workflow (UTC, naive): now if a background service task is
    waiting (`background`: the READY ones), else the earliest due time of its waiting timers; None if neither."""
    if background:
        return datetime.now(UTC).replace(tzinfo=None)
    due: list[datetime] = []
    for event in workflow.waiting_events():
        moment = _utc_naive(event.value) if "Timer" in event.event_type else None
        if moment is not None:
            due.append(moment)
    return min(due) if due else None


def waiting_messages(workflow: BpmnWorkflow) -> list[str]:
    """The names of the BPMN messages the workflow waits for (message catch events, receive tasks)."""
    return sorted({e.name for e in workflow.waiting_events() if e.event_type == MessageEventDefinition.__name__})


def deliver_message(
    workflow: BpmnWorkflow, name: str, payload: dict[str, Any], on_completed: Callable[[Task], None] | None = None
) -> None:
    """Deliver a message the workflow waits for (its payload goes to the catch event's messageVariable), then advance."""
    if name not in waiting_messages(workflow):
        waiting = ", ".join(f"'{m}'" for m in waiting_messages(workflow)) or "tidak ada"
        raise EngineError(f"Kasus tidak sedang menunggu pesan '{name}' (yang ditunggu: {waiting}).")
    try:
        workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    except SpiffWorkflowException as exc:
        raise _engine_error(exc) from exc
    advance(workflow, on_completed)


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
    """The human label of a task: its name in the diagram, or its caller's for a `label="caller"` user task."""
    if task_properties(task.task_spec).get(LABEL_PROPERTY) == LABEL_FROM_CALLER:
        caller = _calling_task(task)
        if caller is not None and caller.task_spec.bpmn_name:
            return str(caller.task_spec.bpmn_name)
    return str(task.task_spec.bpmn_name or task.task_spec.name)


def _calling_task(task: Task) -> Task | None:
    """The call activity (or subprocess) task running the workflow that holds `task`; None at the top."""
    parent_id = getattr(task.workflow, "parent_task_id", None)
    if parent_id is None:
        return None
    found: Task | None = task.workflow.top_workflow.get_task_from_id(parent_id)
    return found


def describe_completed(task: Task) -> dict[str, Any]:
    """What the audit log records of a completed task: its element, kind and what it produced.

    Not its label or element type: those are the diagram's, named by the deployment the case started on
    (`case_started` records its version and sha256).
    """
    spec = task.task_spec
    record: dict[str, Any] = {"task_name": spec.name}
    if isinstance(spec, ServiceTask):
        record["operator"] = spec.operation_name
        record["output"] = {spec.result_variable: task.data.get(spec.result_variable)}
    elif isinstance(spec, UserTask):
        form = form_of(spec)
        output = form.output if form else spec.name
        record["output"] = {output: task.data.get(output)}
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
_MIGRATION_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class MigrationPlan:
    """Whether a running case can move to another version: its current elements, or why it cannot."""

    tasks: list[str]
    reason: str | None = None

    @property
    def movable(self) -> bool:
        """True when nothing blocks the move."""
        return self.reason is None


def _migration_definition(definition_json: str) -> tuple[Any, dict[str, Any]]:
    definition = json.loads(definition_json)
    spec = _serializer.from_dict(definition["spec"])
    return spec, {k: _serializer.from_dict(v) for k, v in definition["subprocess_specs"].items()}


def _migration_named(spec: Any) -> str:
    label = spec.bpmn_name or ""
    return f"'{spec.name}' ({label})" if label and label != spec.name else f"'{spec.name}'"


def _migration_active_tasks(workflow: Any) -> list[Task]:
    return [t for t in workflow.get_tasks(state=_MIGRATION_ACTIVE, skip_subprocesses=True) if t.task_spec.bpmn_id]


def _calls_elsewhere(old: Any, new: Any) -> bool:
    """Tell whether a running call activity (or subprocess) became another kind or calls another process.

    Its incoming and outgoing flows may change: the steps after it are predicted anew when it completes.
    """
    before, after = _serializer.registry.convert(old), _serializer.registry.convert(new)
    return bool(before.get("typename") != after.get("typename") or before.get("spec") != after.get("spec"))


def _apply_migration(workflow: BpmnWorkflow, definition_json: str, version: int) -> list[str]:
    """Move `workflow` onto a definition in place; return why it cannot move (empty when it can)."""
    spec, dependencies = _migration_definition(definition_json)
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
        for task in _migration_active_tasks(wf):
            if id(task) in removed:
                reasons.append(
                    f"langkah {_migration_named(task.task_spec)} yang sedang berjalan tidak ada di versi {version}"
                )
            elif task.has_state(TaskState.STARTED) and _calls_elsewhere(task.task_spec, diff.alignment[task]):
                reasons.append(
                    f"aktivitas panggilan {_migration_named(task.task_spec)} yang sedang berjalan berubah di versi {version}"
                )
    if reasons:
        return reasons
    for wf, diff, new in diffs:
        # Only READY tasks are reset: a waiting timer keeps its due time (an SLA does not restart on a move).
        migrate_workflow(diff, wf, new, reset_mask=TaskState.READY)
        # A running call activity or a waiting event is not reset, but the steps fixed to come after it (FUTURE)
        # are the old version's: drop them and predict its successors on the new version. (Children a waiting
        # boundary event only may take are predicted, not FUTURE; SpiffWorkflow re-predicts those itself.)
        for task in wf.get_tasks(state=TaskState.STARTED | TaskState.WAITING, skip_subprocesses=True):
            if not any(child.has_state(TaskState.FUTURE) for child in task.children):
                continue
            for child in list(task.children):
                if child.has_state(TaskState.FUTURE | TaskState.PREDICTED_MASK):
                    wf._remove_task(child.id)
            mask = task.state | TaskState.FUTURE | TaskState.PREDICTED_MASK
            task.task_spec._predict(task, mask=mask)
    workflow.subprocess_specs = dependencies
    for wf, _diff, new in diffs:
        for task in wf.tasks.values():
            if new.task_specs.get(task.task_spec.name) is not task.task_spec:
                when = "yang sudah dilalui" if task.has_state(TaskState.FINISHED_MASK) else "berikutnya"
                reasons.append(f"langkah {_migration_named(task.task_spec)} {when} tidak ada di versi {version}")
    return sorted(set(reasons))


def migration_plan(
    definition_json: str, state_json: str, new_definition_json: str, new_version: int, engine: SertelScriptEngine
) -> MigrationPlan:
    """Tell whether a stored case could move to another version (a trial on a copy; nothing changes)."""
    workflow = load(definition_json, state_json, engine)
    tasks = sorted({t.task_spec.name for t in workflow.get_tasks(state=_MIGRATION_ACTIVE) if t.task_spec.bpmn_id})
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

    READY tasks are reset onto the new definition (keeping their ids); waiting timers keep their due time.
    Raise ProcessError naming what blocks the move; call `advance` afterwards.
    """
    reasons = _apply_migration(workflow, new_definition_json, new_version)
    if reasons:
        raise ProcessError("; ".join(reasons))
    return load(new_definition_json, dump_state(workflow), engine)


# ---------------------------------------------------------------- closing a case outside its main flow


def cancel(workflow: BpmnWorkflow) -> None:
    """Cancel every task of a workflow that has not finished (a case withdrawn by its applicant)."""
    workflow.cancel()


def called_process_workflow(
    definition_json: str, process_id: str, engine: SertelScriptEngine, data: dict[str, Any]
) -> BpmnWorkflow:
    """A fresh workflow of a process the deployment calls (e.g. the shared archive), seeded with `data`.

    The process comes from the deployment's own definition, so it is the version the case ran on.
    """
    definition = json.loads(definition_json)
    specs = {k: _serializer.from_dict(v) for k, v in definition["subprocess_specs"].items()}
    if process_id not in specs:
        raise ProcessError(f"proses '{process_id}' tidak dipanggil oleh definisi ini")
    engine.bind_properties((definition.get("sertel") or {}).get("properties") or {})
    workflow = BpmnWorkflow(specs[process_id], specs, script_engine=engine)
    seed(workflow, data)
    return workflow
