"""Re-executing a case from its recorded inputs only, step by step against its log (no handler, no PSrE).

The log of a case holds everything that moved it: the start data (`case_started`), each form
(`task_completed`), each timer the scheduler fired (`timer_fired`), each BPMN message delivered
(`message_received`), each move to another version
(`case_migrated`), and each engine step with what it produced (`step_completed`; a service task's output
is what the handler returned). Replay builds the workflow from the deployed definition the case ran on,
feeds it those inputs at their recorded moments (timers read the recorded clock), answers every service
call with its recorded output, and checks that each step it runs is the next one the log recorded, then
that the end state equals the stored one. Secrets typed in forms (passphrases) are never logged; they only
ever fed service tasks, whose outputs are recorded, so replay never needs them.

This module works on plain entries, so a case's log and a regression fixture (`replay_regression`) replay
alike; `replay_cases` reads them from the database.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine import runtime
from engine.services.runtime_context import settings

# Events that move a case: replay feeds them to the engine in log order.
INPUT_KINDS = ("case_started", "task_completed", "timer_fired", "message_received", "case_migrated")
# What must be equal between a logged step and the re-executed one (the label may be reworded freely).
COMPARED_FIELDS = ("task_name", "type", "operator", "output")
FIELD_LABELS = {"task_name": "elemen", "type": "jenis", "operator": "operator", "output": "keluaran"}
# The scheduler's name in the log (timers): a legacy log without `timer_fired` credits its steps to it.
SCHEDULER = "penjadwal"

# (process key, version, sha256 or None) -> the deployed definition (spec JSON); raises ReplayError if unknown.
DefinitionSource = Callable[[str, int, str | None], str]


class ReplayError(Exception):
    """The record cannot be re-executed (a definition is missing, an input does not fit)."""


class _Unrecorded(Exception):
    """A service task ran whose output the log does not hold."""

    def __init__(self, task_name: str, label: str) -> None:
        super().__init__(f"keluaran langkah layanan '{label}' ({task_name}) tidak tercatat di log")
        self.task_name, self.label = task_name, label


@dataclass(frozen=True)
class Entry:
    """One logged event as replay reads it."""

    seq: int
    at: datetime  # naive UTC, as stored
    actor: str
    kind: str
    task_name: str | None
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-safe data (fixtures, the replay page)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "kind": self.kind,
            "task_name": self.task_name,
            "payload": self.payload,
        }

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> Entry:
        """The inverse of as_dict."""
        return Entry(
            int(raw["seq"]),
            datetime.fromisoformat(str(raw["at"])),
            str(raw["actor"]),
            str(raw["kind"]),
            raw.get("task_name"),
            dict(raw.get("payload") or {}),
        )


@dataclass(frozen=True)
class Difference:
    """Where the re-execution first departs from the record, said in Indonesian."""

    seq: int | None  # the logged event where it shows (None: the final state)
    message: str

    def __str__(self) -> str:
        where = f"peristiwa #{self.seq}" if self.seq is not None else "status akhir"
        return f"Berbeda mulai {where}: {self.message}"


@dataclass
class Frame:
    """The case as it was right after one logged event (for the replay page)."""

    seq: int
    process: str
    completed: list[str]
    active: list[str]
    data: dict[str, Any]


@dataclass
class Result:
    """What a replay found: the steps it checked, the first difference (None: equal) and the end state."""

    steps_checked: int = 0
    inputs: int = 0
    difference: Difference | None = None
    final: dict[str, Any] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    # The process of each re-executed step, by logged seq (call activities' steps name their process).
    processes: dict[int, str] = field(default_factory=dict)
    # A service step's parameters as the re-execution evaluated them (the log keeps only outputs), by seq.
    service_inputs: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        """True when every step and the end state match the record."""
        return self.difference is None


def _json(value: Any) -> Any:
    """A value as the log stores it (JSON, dates as strings)."""
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ReplayEngine(runtime.SertelScriptEngine):
    """A script engine whose service calls return the outputs the log recorded, in order, per element."""

    def __init__(self, outputs: dict[str, deque[dict[str, Any]]]) -> None:
        super().__init__(settings())
        # Background steps run where the action that reached them left them (the log records them after it).
        self.background_steps = False
        self.outputs = outputs
        # The parameters each service call got, by task id, until its step is checked.
        self.params: dict[Any, dict[str, Any]] = {}
        # Diagram helpers that read the clock read the recorded moment.
        self.environment.globals["now"] = lambda: runtime.clock_now().isoformat()
        self.environment.globals["today"] = lambda: runtime.clock_now().date().isoformat()

    def call_service(self, task: Any, operation_name: str = "", operation_params: Any = None, **_: Any) -> str:
        queue = self.outputs.get(task.task_spec.name)
        if not queue:
            raise _Unrecorded(task.task_spec.name, runtime.task_label(task))
        output = queue.popleft()
        self.params[task.id] = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        return json.dumps(output.get(task.task_spec.result_variable))


@dataclass
class _Run:
    """The state of one replay as it walks the log."""

    definitions: DefinitionSource
    keep_frames: bool
    engine: ReplayEngine
    result: Result = field(default_factory=Result)
    workflow: Any = None
    key: str = ""
    # Re-executed steps not yet checked: (record, frame, process, service parameters).
    pending: deque[tuple[dict[str, Any], Frame | None, str, dict[str, Any]]] = field(default_factory=deque)
    last_frame: Frame | None = None
    # Which logged event last wrote each data name (to say where a differing end value came from).
    writers: dict[str, int] = field(default_factory=dict)
    current_seq: int = 0
    # A service step the re-execution reached without a recorded output: the path left the record there.
    blocked: _Unrecorded | None = None
    # The case once the last input's run has come to rest (shown for that run's last step and after it).
    settled: Frame | None = None

    def recorder(self, triggered_by: str) -> Callable[[Any], None]:
        """Collect the steps the engine completes, like the live step recorder logs them."""

        def on_completed(task: Any) -> None:
            if not runtime.is_significant(task):
                return
            # The data the step itself holds: inside a called process that is newer than the caller's.
            frame = self.snapshot(runtime.process_key_of(task), dict(task.data)) if self.keep_frames else None
            if runtime.is_user_task_record(task):
                self.last_frame = frame or self.last_frame
                for name in runtime.describe_completed(task).get("output") or {}:
                    self.writers[name] = self.current_seq
                return
            record = _json({**runtime.describe_completed(task), "triggered_by": triggered_by})
            params = self.engine.params.pop(task.id, {})
            self.pending.append((record, frame, runtime.process_key_of(task), params))

        return on_completed

    def snapshot(self, process: str = "", data: dict[str, Any] | None = None) -> Frame:
        """The workflow as it stands (what the page highlights and shows)."""
        return Frame(
            0,
            process or self.key,
            runtime.completed_path(self.workflow),
            runtime.active_elements(self.workflow),
            _json(runtime.current_data(self.workflow) if data is None else data),
        )


def _service_outputs(entries: list[Entry]) -> dict[str, deque[dict[str, Any]]]:
    """The recorded outputs of service tasks, in log order, per element."""
    outputs: dict[str, deque[dict[str, Any]]] = {}
    for entry in entries:
        if entry.kind == "step_completed" and "operator" in entry.payload:
            name = str(entry.payload.get("task_name") or entry.task_name)
            outputs.setdefault(name, deque()).append(dict(entry.payload.get("output") or {}))
    return outputs


def run(
    entries: list[Entry],
    definitions: DefinitionSource,
    stored: dict[str, Any] | None = None,
    keep_frames: bool = False,
    check_gaps: bool = True,
    compare_data: bool = True,
) -> Result:
    """Re-execute a log; compare every step with it and the end state with `stored` (see final_state).

    `check_gaps`: the log is a whole stream (seq 1, 2, 3, …), so a missing seq is a deleted event; a
    regression fixture keeps only some events. `compare_data`: compare the case data at the end too.
    """
    state = _Run(definitions, keep_frames, ReplayEngine(_service_outputs(entries)))
    expected_seq = 1
    for entry in entries:
        if check_gaps and entry.seq != expected_seq:
            missing = (
                f"peristiwa #{expected_seq}"
                if entry.seq == expected_seq + 1
                else f"peristiwa #{expected_seq}–#{entry.seq - 1}"
            )
            state.result.difference = Difference(entry.seq, f"{missing} hilang dari log sebelum peristiwa ini")
            return state.result
        expected_seq += 1
        difference = _step(state, entry)
        if difference is not None:
            state.result.difference = difference
            return state.result
    if state.workflow is None:
        state.result.difference = Difference(None, "log tidak memuat awal permohonan (case_started)")
        return state.result
    if state.blocked is not None:
        state.result.difference = Difference(None, str(state.blocked))
        return state.result
    if state.pending:
        record = state.pending[0][0]
        state.result.difference = Difference(
            None, f"langkah '{record.get('label')}' ({record.get('task_name')}) dijalankan ulang tetapi tidak tercatat"
        )
        return state.result
    state.result.final = final_state(state.workflow)
    if stored is not None:
        if not compare_data:
            stored = {k: v for k, v in stored.items() if k != "data"}
        state.result.difference = compare_final(state.result.final, stored, state.writers)
    return state.result


def _step(state: _Run, entry: Entry) -> Difference | None:
    """Process one logged event: feed an input, or check a recorded step against the re-executed one."""
    if entry.kind in INPUT_KINDS:
        if state.pending:
            record = state.pending[0][0]
            return Difference(
                entry.seq,
                f"sebelum peristiwa ini, langkah '{record.get('label')}' ({record.get('task_name')}) dijalankan ulang "
                "tetapi tidak tercatat",
            )
        if state.blocked is not None:
            return Difference(entry.seq, str(state.blocked))
        state.current_seq = entry.seq
        try:
            _feed(state, entry)
        except _Unrecorded as exc:
            state.blocked = exc  # the steps before it are still compared: the first differing one is named
        except (ReplayError, runtime.EngineError, runtime.ProcessError) as exc:
            return Difference(entry.seq, str(exc))
        state.result.inputs += 1
        if state.keep_frames and state.workflow is not None:
            state.settled = state.snapshot() if state.pending else None
            state.last_frame = state.last_frame if state.pending else state.snapshot()
        _keep_frame(state, entry, state.last_frame if state.keep_frames else None)
        return None
    if state.workflow is None:
        return (
            Difference(entry.seq, "peristiwa tercatat sebelum awal permohonan")
            if entry.kind == "step_completed"
            else None
        )
    if entry.kind == "step_completed":
        return _check_step(state, entry)
    if entry.kind == "case_completed":
        outcome = runtime.end_event(state.workflow) if runtime.is_completed(state.workflow) else None
        if not runtime.is_completed(state.workflow):
            return Difference(entry.seq, "log mencatat kasus selesai, tetapi saat dijalankan ulang kasus belum selesai")
        if entry.payload.get("outcome") != outcome:
            return Difference(
                entry.seq, f"hasil akhir tercatat '{entry.payload.get('outcome')}', dijalankan ulang '{outcome}'"
            )
    _keep_frame(state, entry, state.last_frame)
    return None


def _check_step(state: _Run, entry: Entry) -> Difference | None:
    """Compare a logged step with the next re-executed one."""
    if not state.pending and entry.actor == SCHEDULER:
        # A log written before timer firings were events: the scheduler's first step marks the firing.
        try:
            with _at(state, entry):
                runtime.advance(state.workflow, state.recorder(SCHEDULER))
        except (_Unrecorded, runtime.EngineError) as exc:
            return Difference(entry.seq, str(exc))
    logged = entry.payload
    if not state.pending and state.blocked is not None:
        return Difference(
            entry.seq,
            f"jalur berubah: tercatat langkah '{logged.get('label')}' ({logged.get('task_name')}), dijalankan ulang "
            f"langkah '{state.blocked.label}' ({state.blocked.task_name}) yang keluarannya tidak tercatat",
        )
    if not state.pending:
        return Difference(
            entry.seq,
            f"langkah tercatat '{logged.get('label')}' ({logged.get('task_name')}) tidak terjadi saat dijalankan ulang",
        )
    produced, frame, process, params = state.pending.popleft()
    state.result.processes[entry.seq] = process
    if params:
        state.result.service_inputs[entry.seq] = _json(params)
    for name in COMPARED_FIELDS:
        if _json(logged.get(name)) != produced.get(name):
            return Difference(
                entry.seq,
                f"{FIELD_LABELS[name]} berbeda: tercatat {_show(logged.get(name))}, dijalankan ulang "
                f"{_show(produced.get(name))} (langkah '{produced.get('label')}')",
            )
    if "triggered_by" in logged and logged["triggered_by"] != produced["triggered_by"]:
        return Difference(
            entry.seq,
            f"pemicu berbeda: tercatat '{logged['triggered_by']}', dijalankan ulang '{produced['triggered_by']}'",
        )
    state.result.steps_checked += 1
    for name in logged.get("output") or {}:
        state.writers[name] = entry.seq
    if frame is not None:
        state.last_frame = state.settled if not state.pending and state.settled is not None else frame
    _keep_frame(state, entry, state.last_frame)
    return None


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "…"


def _keep_frame(state: _Run, entry: Entry, frame: Frame | None) -> None:
    if not state.keep_frames:
        return
    base = frame or (state.snapshot() if state.workflow is not None else Frame(0, state.key, [], [], {}))
    state.result.frames.append(Frame(entry.seq, base.process, base.completed, base.active, base.data))


@contextmanager
def _at(state: _Run, entry: Entry) -> Iterator[None]:
    """Run as at the entry's recorded moment."""
    with runtime.clock_at(_utc(entry.at)):
        yield


def _feed(state: _Run, entry: Entry) -> None:
    """Feed one input to the engine at its recorded moment."""
    payload = entry.payload
    if entry.kind == "case_started":
        if state.workflow is not None:
            raise ReplayError("awal permohonan tercatat dua kali")
        state.key = str(payload.get("sop_key") or "")
        definition = state.definitions(
            state.key, int(payload.get("deployment_version") or 0), payload.get("deployment_sha256")
        )
        with _at(state, entry):
            state.workflow = runtime.new_workflow(definition, state.engine)
            start = {"started_by": entry.actor, **dict(payload.get("start_data") or {})}
            runtime.seed(state.workflow, start)
            state.writers.update(dict.fromkeys(start, entry.seq))
            if state.keep_frames:
                state.last_frame = state.snapshot()
            runtime.advance(state.workflow, state.recorder(entry.actor))
        return
    if state.workflow is None:
        raise ReplayError("masukan tercatat sebelum awal permohonan")
    if entry.kind == "task_completed":
        ready = [t for t in runtime.ready_user_tasks(state.workflow) if t.name == entry.task_name]
        if not ready:
            waiting = ", ".join(f"'{t.label}'" for t in runtime.ready_user_tasks(state.workflow)) or "tidak ada"
            raise ReplayError(
                f"formulir tugas '{entry.task_name}' tercatat dikirim, tetapi saat dijalankan ulang tugas itu tidak "
                f"sedang menunggu (yang menunggu: {waiting})"
            )
        with _at(state, entry):
            runtime.complete_user_task(
                state.workflow, ready[0].uuid, dict(payload.get("submission") or {}), state.recorder(entry.actor)
            )
    elif entry.kind == "timer_fired":
        with _at(state, entry):
            runtime.advance(state.workflow, state.recorder(str(payload.get("triggered_by") or SCHEDULER)))
    elif entry.kind == "message_received":
        name = str(payload.get("message") or "")
        if name not in runtime.waiting_messages(state.workflow):
            waiting = ", ".join(f"'{m}'" for m in runtime.waiting_messages(state.workflow)) or "tidak ada"
            raise ReplayError(
                f"pesan '{name}' tercatat diterima, tetapi saat dijalankan ulang kasus tidak menunggunya "
                f"(yang ditunggu: {waiting})"
            )
        with _at(state, entry):
            runtime.deliver_message(
                state.workflow, name, dict(payload.get("payload") or {}), state.recorder(entry.actor)
            )
    elif entry.kind == "case_migrated":
        definition = state.definitions(str(payload.get("key") or state.key), int(payload["to_version"]), None)
        with _at(state, entry):
            state.workflow = runtime.migrate(state.workflow, definition, int(payload["to_version"]), state.engine)
            runtime.advance(state.workflow, state.recorder(entry.actor))


# ---------------------------------------------------------------- the end state


def final_state(workflow: Any) -> dict[str, Any]:
    """What replay compares at the end: finished or not, the end event, the waiting tasks and the case data."""
    completed = runtime.is_completed(workflow)
    return {
        "completed": completed,
        "outcome": runtime.end_event(workflow) if completed else None,
        "ready": sorted(t.name for t in runtime.ready_user_tasks(workflow)),
        "data": _json(runtime.current_data(workflow)),
    }


FINAL_LABELS = {"completed": "status selesai", "outcome": "hasil akhir", "ready": "tugas yang menunggu"}


def compare_final(replayed: dict[str, Any], stored: dict[str, Any], writers: dict[str, int]) -> Difference | None:
    """The first difference between the re-executed end state and the stored one."""
    for name in ("completed", "outcome", "ready"):
        if replayed.get(name) != stored.get(name):
            return Difference(
                None,
                f"{FINAL_LABELS[name]} tersimpan {_show(stored.get(name))}, dijalankan ulang {_show(replayed.get(name))}",
            )
    if "data" not in stored:
        return None
    ours, theirs = replayed.get("data") or {}, stored.get("data") or {}
    for key in sorted(set(ours) | set(theirs)):
        if ours.get(key) != theirs.get(key):
            writer = writers.get(key)
            return Difference(
                writer,
                f"data '{key}' tersimpan {_show(theirs.get(key))}, dijalankan ulang {_show(ours.get(key))}"
                + (" (nilai itu terakhir ditulis oleh peristiwa ini)" if writer is not None else ""),
            )
    return None
