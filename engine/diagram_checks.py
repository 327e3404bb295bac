"""Checks of a BPMN diagram before SpiffWorkflow parses it: structure, data flow, settings, timers, forms, operators.

Every finding is a `runtime.Problem` on the element at fault, with an Indonesian message that names the element
by id and label. The checks read the XML with lxml, so a structural fault gets our own message (SpiffWorkflow's
parser would answer "found two items" for a flow to a missing target, and accepts a flow from a missing source).

Data flow is may-defined: a name is known at a point when some path from a start event produces it (start data,
a user task's output, a service task's result, a script assignment, a called process's data). That catches typos
such as `verifcation["decision"]` without refusing names that only some paths produce.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lxml import etree

from engine import runtime, sandbox
from engine.diagram_catalogue import Catalogue, OperatorInfo, ParamInfo, build_catalogue, parameter_problems

__all__ = ["Catalogue", "OperatorInfo", "ParamInfo", "build_catalogue", "check_diagram"]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SERTEL = "https://sertel.id/schema/bpmn/1.0"

KIND_LABELS = {
    "process": "proses",
    "subProcess": "subproses",
    "transaction": "subproses",
    "adHocSubProcess": "subproses",
    "sequenceFlow": "alur",
    "startEvent": "peristiwa mulai",
    "endEvent": "peristiwa akhir",
    "boundaryEvent": "peristiwa batas",
    "intermediateCatchEvent": "peristiwa antara",
    "intermediateThrowEvent": "peristiwa antara",
    "task": "tugas",
    "userTask": "tugas pengguna",
    "manualTask": "tugas manual",
    "serviceTask": "tugas layanan",
    "scriptTask": "tugas skrip",
    "sendTask": "tugas kirim",
    "receiveTask": "tugas terima",
    "businessRuleTask": "tugas aturan bisnis",
    "callActivity": "aktivitas panggilan",
    "exclusiveGateway": "gerbang",
    "inclusiveGateway": "gerbang",
    "parallelGateway": "gerbang paralel",
    "eventBasedGateway": "gerbang peristiwa",
    "complexGateway": "gerbang",
}
SCOPES = {"subProcess", "transaction", "adHocSubProcess"}
FLOW_NODES = set(KIND_LABELS) - {"process", "sequenceFlow"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
# A bare timer value such as P1D (not quoted) is a Python name to the script engine, not a duration.
BARE_ISO = re.compile(r"^(R\d*/)?P[0-9A-Z.,]*$")
# Names every expression may use without a task producing them: safe builtins and the diagram helpers.
PREDEFINED = frozenset(sandbox.SAFE_BUILTINS) | frozenset(sandbox.helper_functions({}))


# ---------------------------------------------------------------- entry point


def check_diagram(
    xml: str,
    key: str,
    catalogue: Catalogue,
    dependencies: Mapping[str, str] | None = None,
    *,
    shared: bool = False,
) -> list[runtime.Problem]:
    """Every problem of the diagram whose main process is `key`; `dependencies` holds callable processes.

    The data names a called process reads are checked at each call, against what the caller has there (and
    reported on the call activity). A `shared` diagram (a call activity of processes/common/) is checked on
    its own for everything but those names, since its data comes from callers it does not know.
    """
    try:
        root = _parse(xml)
    except etree.XMLSyntaxError as exc:
        return [runtime.Problem(key, f"berkas bukan XML yang valid: {exc}")]
    called: dict[str, etree._Element] = {}
    for text in (dependencies or {}).values():
        try:
            for process in _parse(text).iter(f"{{{BPMN}}}process"):
                called.setdefault(process.get("id", ""), process)
        except etree.XMLSyntaxError:
            continue
    checker = _Checker(root, catalogue, called, shared)
    processes = list(root.iter(f"{{{BPMN}}}process"))
    checker.check_ids()
    if key not in {p.get("id") for p in processes}:
        checker.add_raw(key, f"diagram tidak memuat proses dengan id '{key}'")
    called_here = {el.get("calledElement") for el in root.iter(f"{{{BPMN}}}callActivity")}
    for process in processes:
        # A modeler may add an empty pool (a non-executable process) for an outside party: nothing runs there.
        if process.get("id") == key or process.get("isExecutable") == "true" or process.get("id") in called_here:
            checker.check_process(process)
    return list(dict.fromkeys(checker.problems))  # a process called twice reports a problem once


def _parse(text: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    return etree.fromstring(text.encode("utf-8"), parser)


def local(el: etree._Element) -> str:
    """The local name of an element."""
    return str(etree.QName(el).localname)


def describe(el: etree._Element) -> str:
    """How a message names an element: its kind, id and label."""
    kind = KIND_LABELS.get(local(el), "elemen")
    label = " ".join((el.get("name") or "").split())
    return f"{kind} '{el.get('id', '?')}'" + (f" ({label})" if label else "")


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class _Source:
    """What an expression or script reads and assigns, and the setting() names it asks for."""

    reads: frozenset[str]
    assigns: frozenset[str]
    settings: tuple[str | None, ...]  # None: setting() called with a computed name


def _analyse(text: str, mode: str) -> _Source:
    tree = ast.parse(text, mode=mode)
    local_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for generator in node.generators:
                local_names |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    stores = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    settings: list[str | None] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setting":
            arg = node.args[0] if node.args else None
            settings.append(arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None)
    assigns = stores - local_names
    return _Source(frozenset(loads - local_names - assigns), frozenset(assigns), tuple(settings))


def _sandbox_problems(text: str, mode: str) -> list[str]:
    """The sandbox's verdict, also for text Python's own parser gives up on (a diagram is untrusted input)."""
    try:
        return sandbox.problems(text, mode)
    except (MemoryError, RecursionError, ValueError):
        return ["ekspresi terlalu panjang atau terlalu dalam bersarang"]


def _assigned(text: str | None) -> set[str]:
    """Names a script assigns (nothing when it does not compile: that is reported where it is checked)."""
    if not text or not text.strip() or _sandbox_problems(text, "exec"):
        return set()
    return set(_analyse(text, "exec").assigns)


# ---------------------------------------------------------------- the checker


class _Checker:
    """Collects the problems of one document."""

    def __init__(
        self, root: etree._Element, catalogue: Catalogue, called: Mapping[str, etree._Element], shared: bool
    ) -> None:
        self.root = root
        self.shared = shared
        self.catalogue = catalogue
        self.ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
        self.processes = {p.get("id", ""): p for p in root.iter(f"{{{BPMN}}}process")}
        self.called = {**called, **self.processes}
        self.problems: list[runtime.Problem] = []
        self._produced: dict[str, set[str]] = {}

    def add(self, el: etree._Element, message: str) -> None:
        self.problems.append(runtime.Problem(el.get("id", "?"), f"{describe(el)}: {message}"))

    def add_raw(self, element_id: str, message: str) -> None:
        self.problems.append(runtime.Problem(element_id, message))

    # ---- document

    def check_ids(self) -> None:
        seen: dict[str, etree._Element] = {}
        for el in self.root.iter():
            if not isinstance(el.tag, str) or etree.QName(el).namespace in (SPIFF, SERTEL) or not el.get("id"):
                continue
            element_id = el.get("id", "")
            if element_id in seen:
                self.add(el, f"id '{element_id}' dipakai lebih dari sekali (juga oleh {describe(seen[element_id])})")
            else:
                seen[element_id] = el

    def check_process(self, process: etree._Element) -> None:
        properties = self._properties(process)
        entry = set(self.catalogue.start_names) | self._start_form_fields(process) | set(_io(process, "dataInput"))
        lanes = {
            (ref.text or "").strip(): lane.get("name", "")
            for lane in process.iter(f"{{{BPMN}}}lane")
            for ref in lane.findall(f"{{{BPMN}}}flowNodeRef")
        }
        _Scope(self, process, process, properties, lanes).check(entry)

    def _properties(self, process: etree._Element) -> dict[str, str]:
        found: dict[str, str] = {}
        for prop in process.findall(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}properties/{{{SERTEL}}}property"):
            name, value = (prop.get("name") or "").strip(), prop.get("value")
            if not name or value is None:
                self.add(process, "properti diagram harus punya name dan value")
                continue
            found[name.lower()] = value
            default = self.catalogue.setting_defaults.get(name.lower())
            if isinstance(default, str) and runtime.timer_value_problem("timeDuration", default) is None:
                problem = runtime.timer_value_problem("timeDuration", value)
                if problem:
                    self.add(process, f"properti '{name}': {problem}")
        return found

    def _start_form_fields(self, process: etree._Element) -> set[str]:
        form = process.find(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}form")
        if form is not None:
            name = form.get("name", "")
            if name not in self.catalogue.forms:
                self.add(process, f"formulir awal '{name}' tidak ada di katalog formulir")
                return set()
            return set(self.catalogue.forms[name])
        return set()

    def produced_by_process(self, process_id: str) -> set[str]:
        """Every name a (called) process may produce, for the data a call activity hands back."""
        if process_id in self._produced:
            return self._produced[process_id]
        self._produced[process_id] = set()  # a recursive call adds nothing new
        process = self.called.get(process_id)
        names: set[str] = set()
        outputs = _io(process, "dataOutput") if process is not None else []
        if outputs:  # SpiffWorkflow then hands back only these
            names = set(outputs)
        elif process is not None:
            for el in process.iter(f"{{{BPMN}}}*"):
                if local(el) in FLOW_NODES:
                    names |= self.node_output(el)
        self._produced[process_id] = names
        return names

    def node_output(self, node: etree._Element) -> set[str]:
        """The names a flow node adds to the case data when it completes."""
        kind = local(node)
        names = _assigned(_ext_text(node, "preScript")) | _assigned(_ext_text(node, "postScript"))
        if kind == "userTask":
            form = node.find(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}form")
            names.add((form.get("output") if form is not None else None) or node.get("id", ""))
        elif kind == "serviceTask":
            operator = node.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}serviceTaskOperator")
            if operator is not None and operator.get("resultVariable"):
                names.add(operator.get("resultVariable", ""))
        elif kind == "scriptTask":
            names |= _assigned(node.findtext(f"{{{BPMN}}}script"))
        elif kind == "callActivity":
            names |= self.produced_by_process(node.get("calledElement", ""))
        elif kind in SCOPES:
            for inner in node.iter(f"{{{BPMN}}}*"):
                if inner is not node and local(inner) in FLOW_NODES:
                    names |= self.node_output(inner)
        loop = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
        if loop is not None:
            output = loop.findtext(f"{{{BPMN}}}loopDataOutputRef")
            if output and output.strip():
                names.add(output.strip())
        return names

    def check_expression(
        self,
        owner: etree._Element,
        what: str,
        text: str,
        mode: str,
        available: set[str] | None,
        properties: Mapping[str, str],
        via: Call | None = None,
    ) -> None:
        """Sandbox, names and setting() of one expression; `available` None: its names are not checked here.

        `via`: the expression belongs to a called process checked at a call; only its data names are reported.
        """
        shown = " ".join(text.split())
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        found = _sandbox_problems(text, mode)
        if found and via is not None:
            return
        if found:
            self.add(owner, f"{what} '{shown}': " + "; ".join(found))
            return
        source = _analyse(text, mode)
        for name in source.settings if via is None else ():
            if name is None:
                self.add(owner, f"{what} '{shown}': setting() harus memakai nama tetap, mis. setting('sla_activation')")
            elif name.lower() not in self.catalogue.setting_names and name.lower() not in properties:
                self.add(
                    owner,
                    f"{what} '{shown}': pengaturan '{name}' tidak dikenal (bukan pengaturan publik maupun "
                    f"properti diagram){_suggest(name.lower(), set(self.catalogue.setting_names) | set(properties))}",
                )
        if available is None:
            return
        for name in sorted(source.reads - available - PREDEFINED):
            message = f"{what} '{shown}' memakai data '{name}' yang belum ada pada titik ini{_suggest(name, available)}"
            if via is None:
                self.add(owner, message)
            else:
                self.add(via.activity, f"di proses '{via.process_id}', {describe(owner)}: {message}")


@dataclass(frozen=True)
class Call:
    """A call activity of the published diagram, while the process it calls is checked in its context."""

    activity: etree._Element
    process_id: str
    stack: frozenset[str]  # processes being checked through this call (a process calling itself stops there)


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.75)
    return f" (maksudnya '{close[0]}'?)" if close else ""


def _ext_text(node: etree._Element, name: str) -> str | None:
    text = node.findtext(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}{name}")
    return str(text) if text is not None else None


class _Scope:
    """The flow nodes and sequence flows directly inside one process or subprocess."""

    def __init__(
        self,
        checker: _Checker,
        container: etree._Element,
        process: etree._Element,
        properties: Mapping[str, str],
        lanes: Mapping[str, str],
        via: Call | None = None,
    ) -> None:
        self.checker = checker
        self.via = via
        self.container = container
        self.process = process
        self.properties = properties
        self.lanes = lanes
        self.nodes = {el.get("id", ""): el for el in container if isinstance(el.tag, str) and local(el) in FLOW_NODES}
        self.flows = [el for el in container if isinstance(el.tag, str) and local(el) == "sequenceFlow"]
        self.incoming: dict[str, list[etree._Element]] = {n: [] for n in self.nodes}
        self.outgoing: dict[str, list[etree._Element]] = {n: [] for n in self.nodes}
        self.hosts = {n: el.get("attachedToRef", "") for n, el in self.nodes.items() if local(el) == "boundaryEvent"}
        self.entries: set[str] = set()  # where data flow starts besides start events (set by check_paths)

    def add(self, el: etree._Element, message: str) -> None:
        if self.via is None:  # a called process's own faults are reported when its file is checked
            self.checker.add(el, message)

    def expression(self, owner: etree._Element, what: str, text: str, mode: str, names: set[str] | None) -> None:
        self.checker.check_expression(owner, what, text, mode, names, self.properties, self.via)

    def check(self, entry: set[str]) -> None:
        self.check_flows()
        reached = self.check_paths()
        if self.checker.shared and self.via is None:
            reached = set()  # the names a shared process reads are checked where it is called
        available = self.data_flow(entry)
        for node_id, node in self.nodes.items():
            self.check_node(node, available.get(node_id) if node_id in reached else None)
        for flow in self.flows:
            condition = flow.find(f"{{{BPMN}}}conditionExpression")
            if condition is not None and (condition.text or "").strip():
                source = flow.get("sourceRef", "")
                names = available[source] | self.checker.node_output(self.nodes[source]) if source in reached else None
                self.expression(flow, "kondisi", condition.text or "", "eval", names)

    # ---- structure

    def check_flows(self) -> None:
        where = self._where()
        for flow in self.flows:
            ends = []
            for attr, word in (("sourceRef", "sumber"), ("targetRef", "tujuan")):
                ref = flow.get(attr, "")
                if not ref:
                    self.add(flow, f"{word} alur tidak diisi")
                elif ref not in self.nodes:
                    place = "tidak ada di diagram" if ref not in self.checker.ids else f"bukan elemen alur di {where}"
                    self.add(flow, f"{word} '{ref}' {place}")
                else:
                    ends.append(ref)
            if len(ends) == 2:
                self.outgoing[ends[0]].append(flow)
                self.incoming[ends[1]].append(flow)

    def check_paths(self) -> set[str]:
        """Report nodes that nothing enters, dead ends and unreachable nodes.

        Return the nodes whose data names are checked: all of them. In an unreachable part (already reported)
        any name the process produces somewhere counts as known, so only a name produced nowhere is reported.
        """
        starts = [n for n, el in self.nodes.items() if local(el) == "startEvent"]
        if not starts:
            self.add(self.container, "tidak punya peristiwa mulai")
        if not any(local(el) == "endEvent" for el in self.nodes.values()):
            self.add(self.container, "tidak punya peristiwa akhir")
        for node_id, host in self.hosts.items():
            if host not in self.nodes:
                self.add(self.nodes[node_id], f"melekat pada '{host}' yang tidak ada di {self._where()}")
        for node_id, node in self.nodes.items():
            kind = local(node)
            if _event_subprocess(node):
                continue
            if not self.incoming[node_id] and kind not in {"startEvent", "boundaryEvent"}:
                self.add(node, "tidak punya alur masuk, sehingga tidak akan pernah dijalankan")
            if not self.outgoing[node_id] and kind != "endEvent":
                self.add(node, "buntu: tidak punya alur keluar (hanya peristiwa akhir yang boleh berakhir)")
            if kind in GATEWAYS or node.get("default"):
                self._check_gateway(node)
        forward = {n: [f.get("targetRef", "") for f in self.outgoing[n]] for n in self.nodes}
        backward = {n: [f.get("sourceRef", "") for f in self.incoming[n]] for n in self.nodes}
        for boundary, host in self.hosts.items():
            if host in self.nodes:
                forward[host].append(boundary)
                backward[boundary].append(host)
        reached = _closure(starts, forward)
        orphans = [n for n in self.orphans() if n not in reached]
        after_orphans = _closure(orphans, forward)
        unreachable = set(self.nodes) - reached - after_orphans
        self.entries = {*orphans, *self._report_unreachable(unreachable, forward)}
        self._report_endless_loops(forward, backward)
        return set(self.nodes)

    def _report_endless_loops(self, forward: Mapping[str, list[str]], backward: Mapping[str, list[str]]) -> None:
        """Name each loop with no way out to an end event (a path into a dead end is reported as that dead end)."""
        stops = [n for n, el in self.nodes.items() if local(el) == "endEvent" or not self.outgoing[n]]
        trapped = set(self.nodes) - _closure(stops, backward)
        covered: set[str] = set()
        for node_id in self.nodes:
            if node_id not in trapped or node_id in covered:
                continue
            loop = {n for n in _closure(forward[node_id], forward) if node_id in _closure(forward[n], forward)}
            if node_id not in loop:
                continue  # it leads into a loop, which is named itself
            covered |= loop
            more = f" (bersama {len(loop) - 1} elemen lain di putaran ini)" if len(loop) > 1 else ""
            self.add(self.nodes[node_id], f"berputar tanpa jalan keluar ke peristiwa akhir{more}")

    def _report_unreachable(self, unreachable: set[str], forward: Mapping[str, list[str]]) -> set[str]:
        """Name the first node of each unreachable part (a flow cut off there first), with what follows it."""
        dangling = {f.get("targetRef") for f in self.flows if f.get("sourceRef") not in self.nodes}
        heads = sorted(
            (n for n in unreachable if not _event_subprocess(self.nodes[n])),
            key=lambda n: (n not in dangling, list(self.nodes).index(n)),
        )
        covered: set[str] = set()
        reported: set[str] = set()
        for head in heads:
            if head in covered:
                continue
            part = _closure([head], forward) & unreachable
            covered |= part
            more = f" (begitu pula {len(part) - 1} elemen sesudahnya)" if len(part) > 1 else ""
            self.add(self.nodes[head], f"tidak dapat dicapai dari peristiwa mulai{more}")
            reported.add(head)
        return reported

    def orphans(self) -> list[str]:
        """Nodes that should have an incoming flow and have none."""
        return [
            n
            for n, el in self.nodes.items()
            if not self.incoming[n] and local(el) not in {"startEvent", "boundaryEvent"} and not _event_subprocess(el)
        ]

    def _where(self) -> str:
        return "proses ini" if self.container is self.process else f"subproses '{self.container.get('id')}'"

    def _check_gateway(self, node: etree._Element) -> None:
        default = node.get("default")
        outgoing = self.outgoing[node.get("id", "")]
        if default and default not in {f.get("id") for f in outgoing}:
            exists = default in {f.get("id") for f in self.flows}
            self.add(node, f"alur default '{default}' " + ("tidak keluar dari elemen ini" if exists else "tidak ada"))
        if local(node) in {"exclusiveGateway", "inclusiveGateway"} and len(outgoing) > 1:
            for flow in outgoing:
                condition = flow.find(f"{{{BPMN}}}conditionExpression")
                if flow.get("id") != default and (condition is None or not (condition.text or "").strip()):
                    self.add(flow, f"keluar dari gerbang '{node.get('id')}' tanpa kondisi dan bukan alur default")

    # ---- data

    def data_flow(self, entry: set[str]) -> dict[str, set[str]]:
        """The names that may exist when each node starts (union over the paths reaching it)."""
        outputs = {n: self.checker.node_output(el) for n, el in self.nodes.items()}
        everything = entry.union(*outputs.values()) if outputs else set(entry)
        before: dict[str, set[str]] = {n: set() for n in self.nodes}
        changed = True
        while changed:
            changed = False
            for node_id, node in self.nodes.items():
                if _event_subprocess(node):
                    names = set(everything)
                elif local(node) == "startEvent":
                    names = set(entry)
                elif node_id in self.entries:  # cut off from the start: only names produced nowhere are typos
                    names = set(everything)
                elif node_id in self.hosts:
                    names = set(before.get(self.hosts[node_id], set()))
                else:
                    names = set()
                for flow in self.incoming[node_id]:
                    source = flow.get("sourceRef", "")
                    names |= before[source] | outputs[source]
                if names != before[node_id]:
                    before[node_id] = names
                    changed = True
        return before

    # ---- one node

    def check_node(self, node: etree._Element, available: set[str] | None) -> None:
        kind = local(node)
        check = self.expression
        pre = _ext_text(node, "preScript")
        if pre and pre.strip():
            check(node, "skrip awal", pre, "exec", available)
        inside = None if available is None else available | _assigned(pre)
        if kind == "userTask":
            self._check_user_task(node, inside)
        elif kind == "endEvent":
            self._check_end_event(node)
        elif kind == "serviceTask":
            self._check_service_task(node, inside)
        elif kind == "scriptTask":
            script = node.findtext(f"{{{BPMN}}}script") or ""
            if not script.strip():
                self.add(node, "tugas skrip tanpa skrip")
            else:
                check(node, "skrip", script, "exec", inside)
        elif kind == "callActivity":
            called = node.get("calledElement", "")
            if called not in self.checker.called:
                known = ", ".join(sorted(self.checker.called)) or "tidak ada"
                self.add(node, f"memanggil proses '{called}' yang tidak ada (tersedia: {known})")
            elif inside is not None:
                self._check_call(node, called, inside)
        elif kind in SCOPES:
            entry = set(inside or set()) | set(self.checker.catalogue.start_names)
            _Scope(self.checker, node, self.process, self.properties, self.lanes, self.via).check(entry)
        self._check_timers(node, inside)
        self._check_loop(node, inside)
        post = _ext_text(node, "postScript")
        if post and post.strip():
            after = None if inside is None else inside | self.checker.node_output(node)
            check(node, "skrip akhir", post, "exec", after)

    def _check_call(self, node: etree._Element, called: str, available: set[str]) -> None:
        """The data a called process needs exists at the call: its declared inputs, or the names it reads."""
        process = self.checker.called[called]
        inputs = _io(process, "dataInput")
        for name in inputs:
            if name not in available:
                self.add(node, f"data masukan '{name}' untuk proses '{called}' belum ada pada titik ini")
        stack = self.via.stack if self.via is not None else frozenset({self.process.get("id", "")})
        if called in stack:
            return
        via = Call(self.via.activity if self.via is not None else node, called, stack | {called})
        entry = set(inputs) | set(self.checker.catalogue.start_names) if inputs else set(available)
        _Scope(self.checker, process, process, {}, {}, via).check(entry)

    def _check_end_event(self, node: etree._Element) -> None:
        for name, value in runtime.properties_of(node).items():
            if name != runtime.GRANTED_PROPERTY:
                self.add(
                    node, f"properti peristiwa akhir '{name}' tidak dikenal (yang ada: '{runtime.GRANTED_PROPERTY}')"
                )
            elif value not in {"true", "false"}:
                self.add(node, f"properti '{name}' harus 'true' atau 'false', bukan '{value}'")

    def _check_user_task(self, node: etree._Element, available: set[str] | None) -> None:
        for prop in node.iterfind(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}properties/{{{SERTEL}}}property"):
            name, value = prop.get("name", ""), prop.get("value", "")
            if name not in {"priority", runtime.LABEL_PROPERTY}:
                self.add(
                    node, f"properti tugas '{name}' tidak dikenal (yang ada: 'priority', '{runtime.LABEL_PROPERTY}')"
                )
            elif name == "priority" and value not in {"urgent", "normal"}:
                self.add(node, f"properti 'priority' harus 'urgent' atau 'normal', bukan '{value}'")
            elif name == runtime.LABEL_PROPERTY and value != runtime.LABEL_FROM_CALLER:
                self.add(node, f"properti '{name}' harus '{runtime.LABEL_FROM_CALLER}', bukan '{value}'")
        catalogue = self.checker.catalogue
        form = node.find(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}form")
        if form is not None:
            name = form.get("name", "")
            if not name:
                self.add(node, "sertel:form tanpa name")
            elif name not in catalogue.forms:
                self.add(node, f"formulir '{name}' tidak ada di katalog formulir{_suggest(name, catalogue.forms)}")
            elif catalogue.template_exists is not None and not catalogue.template_exists(name):
                self.add(node, f"formulir '{name}': templat webforms/{name}.html tidak ada")
            if form.get("output") is not None:
                self._check_output_name(node, "output formulir", form.get("output", ""))
            for item in form.findall(f"{{{SERTEL}}}input"):
                if not (item.get("name") or "").isidentifier():
                    self.add(
                        node, f"masukan formulir '{item.get('name', '')}': name harus berupa nama, mis. registration"
                    )
                what = f"masukan formulir '{item.get('name', '?')}'"
                # A shared form task lists what each of its callers may show; a name the caller lacks is None
                # at run time (runtime.form_inputs), so at a call only the expression itself is checked.
                self.expression(node, what, item.get("value", ""), "eval", None if self.via else available)
        else:
            self.add(node, "tidak menyebut formulir: pilih formulir dari katalog (<sertel:form name=...>)")
        lane = self.lanes.get(node.get("id", ""))
        if lane is None:
            self.add(node, "tugas pengguna harus berada di dalam lane yang dipetakan ke peran")
        elif lane not in catalogue.lane_roles:
            roles = ", ".join(sorted(catalogue.lane_roles))
            self.add(node, f"lane '{lane}' tidak dipetakan ke peran (lane yang dikenal: {roles})")

    def _check_service_task(self, node: etree._Element, available: set[str] | None) -> None:
        for prop in node.iterfind(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}properties/{{{SERTEL}}}property"):
            name, value = prop.get("name", ""), prop.get("value", "")
            if name != runtime.BACKGROUND_PROPERTY:
                self.add(node, f"properti tugas '{name}' tidak dikenal (yang ada: '{runtime.BACKGROUND_PROPERTY}')")
            elif value.strip().lower() not in {"true", "false"}:
                self.add(node, f"properti '{name}' harus 'true' atau 'false', bukan '{value}'")
        operator = node.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}serviceTaskOperator")
        if operator is None:
            self.add(node, "tidak menyebut operator (spiffworkflow:serviceTaskOperator)")
            return
        if operator.get("resultVariable") is not None:
            self._check_output_name(node, "resultVariable", operator.get("resultVariable", ""))
        values: dict[str, str] = {}
        for param in operator.iter(f"{{{SPIFF}}}parameter"):
            name, value = param.get("id", ""), param.get("value", "")
            if name in values:
                self.add(node, f"parameter '{name}' ditulis lebih dari sekali")
            values[name] = value
            self.expression(node, f"parameter '{name}'", value, "eval", available)
        operator_id = operator.get("id", "")
        name, _, pin = operator_id.partition("@")
        versions = self.checker.catalogue.operators.get(name)
        if not versions:
            known = self.checker.catalogue.operators
            self.add(node, f"operator '{operator_id}' tidak terdaftar{_suggest(name, known)}")
            return
        if pin and (not pin.isdigit() or int(pin) not in versions):
            listed = ", ".join(str(v) for v in sorted(versions))
            self.add(node, f"operator '{name}' tidak punya versi '{pin}' (versi yang ada: {listed})")
            return
        version = int(pin) if pin else max(versions)
        hook = self.checker.catalogue.parameter_problems
        if hook is not None:
            for message in hook(name, version, values):
                self.add(node, message)
            return
        for message in parameter_problems(operator_id, versions[version], values):
            self.add(node, message)

    def _check_output_name(self, node: etree._Element, what: str, name: str) -> None:
        """The name a task stores its result under must be usable in expressions and hide no helper."""
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            self.add(node, f"{what} '{name}' bukan nama data yang sah (huruf, angka dan _, tidak diawali _)")
        elif name in PREDEFINED:
            self.add(node, f"{what} '{name}' menutupi fungsi bawaan diagram dengan nama yang sama")

    def _check_timers(self, node: etree._Element, available: set[str] | None) -> None:
        for definition in node.findall(f"{{{BPMN}}}timerEventDefinition"):
            for kind in TIMER_KINDS:
                expression = definition.find(f"{{{BPMN}}}{kind}")
                if expression is None:
                    continue
                self._check_timer(node, kind, (expression.text or "").strip(), available)

    def _check_timer(self, node: etree._Element, kind: str, text: str, available: set[str] | None) -> None:
        if not text:
            self.add(node, "timer tanpa nilai")
            return
        if BARE_ISO.match(text):
            problem = runtime.timer_value_problem(kind, text)
            hint = f"; {problem}" if problem else ""
            self.add(node, f"timer '{text}' harus ditulis sebagai teks berkutip, mis. '{text}'{hint}")
            return
        self.expression(node, "timer", text, "eval", available)
        value, origin = self._static_value(text)
        if value is not None:
            problem = runtime.timer_value_problem(kind, value)
            if problem:
                self.add(node, f"timer '{text}': {problem}{origin}")

    def _static_value(self, text: str) -> tuple[str | None, str]:
        """The value a timer expression has before any case runs (a literal or a setting()), if it has one."""
        try:
            tree = ast.parse(text, mode="eval").body
        except (SyntaxError, MemoryError, RecursionError, ValueError):
            return None, ""
        if isinstance(tree, ast.Constant) and isinstance(tree.value, str):
            return tree.value, ""
        if (
            isinstance(tree, ast.Call)
            and isinstance(tree.func, ast.Name)
            and tree.func.id == "setting"
            and len(tree.args) == 1
            and isinstance(tree.args[0], ast.Constant)
            and isinstance(tree.args[0].value, str)
        ):
            name = tree.args[0].value.lower()
            if name in self.properties:
                return self.properties[name], f" (nilai properti diagram '{name}')"
            default = self.checker.catalogue.setting_defaults.get(name)
            if isinstance(default, str):
                return default, f" (nilai bawaan pengaturan '{name}')"
        return None, ""

    def _check_loop(self, node: etree._Element, available: set[str] | None) -> None:
        loop = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
        names = None if available is None else set(available)
        if loop is not None:
            source = (loop.findtext(f"{{{BPMN}}}loopDataInputRef") or "").strip()
            if source and names is not None and source not in names:
                self.add(node, f"data masukan perulangan '{source}' belum ada pada titik ini{_suggest(source, names)}")
            for item in ("inputDataItem", "outputDataItem"):
                element = loop.find(f"{{{BPMN}}}{item}")
                if element is not None and names is not None:
                    names.add(element.get("name") or element.get("id") or "")
            for part, what in (("loopCardinality", "jumlah perulangan"), ("completionCondition", "syarat selesai")):
                text = loop.findtext(f"{{{BPMN}}}{part}")
                if text and text.strip():
                    self.expression(node, what, text, "eval", names)
        standard = node.find(f"{{{BPMN}}}standardLoopCharacteristics")
        if standard is not None:
            text = standard.findtext(f"{{{BPMN}}}loopCondition")
            if text and text.strip():
                after = None if names is None else names | self.checker.node_output(node)
                self.expression(node, "syarat perulangan", text, "eval", after)


def _io(process: etree._Element, kind: str) -> list[str]:
    """The ids of a process's declared data inputs or outputs (SpiffWorkflow names the data by id)."""
    return [el.get("id", "") for el in process.findall(f"{{{BPMN}}}ioSpecification/{{{BPMN}}}{kind}")]


def _event_subprocess(node: etree._Element) -> bool:
    return local(node) in SCOPES and node.get("triggeredByEvent") == "true"


def _closure(starts: Iterable[str], edges: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(n for n in edges.get(node, []) if n in edges)
    return seen
