"""The field table per SOP step, for /privasi: each step people take, its role, and what that role reads.

The steps are read from each SOP's current published diagram (user tasks, and the user tasks of the shared
processes it calls), like the help pages (`help`); what a step shows is the field table's task-screen column of
the step's role (`field_access`), so the page never disagrees with what the forms show.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

from engine import registry
from engine.runtime import BPMN_NS as BPMN
from engine.runtime import SERTEL_NS as SERTEL
from engine.services import deploy, field_access, help
from engine.services.access import LANE_ROLES


@dataclass(frozen=True)
class StepFields:
    """One step of a SOP: its name, the role doing it, its form, and the field categories per value."""

    label: str
    role: str
    form: str  # the catalogue form's title (its name where the catalogue lacks it)
    fields: dict[str, tuple[str, ...]]  # lengkap / tersamar / tidak ditampilkan -> category labels


@dataclass(frozen=True)
class SopSteps:
    """The steps of one SOP's current diagram."""

    number: str
    title: str
    version: int | None
    steps: tuple[StepFields, ...]


def _tasks(root: etree._Element) -> list[tuple[str, str, str]]:
    """(name, lane, form name) of every user task of a diagram, shared processes it calls expanded in place."""
    lanes = {
        (ref.text or "").strip(): lane.get("name", "")
        for lane in root.iter(f"{{{BPMN}}}lane")
        for ref in lane.iter(f"{{{BPMN}}}flowNodeRef")
    }
    found: list[tuple[str, str, str]] = []
    for task in root.iter(f"{{{BPMN}}}userTask", f"{{{BPMN}}}callActivity"):
        if etree.QName(task).localname == "callActivity":
            found.extend(_common_tasks(task.get("calledElement", "")))
            continue
        form = task.find(f"{{{BPMN}}}extensionElements/{{{SERTEL}}}form")
        name = form.get("name", "") if form is not None else ""
        found.append((task.get("name", ""), lanes.get(task.get("id", ""), ""), name))
    return found


@lru_cache(maxsize=16)
def _common_tasks(process_id: str) -> tuple[tuple[str, str, str], ...]:
    """The user tasks of a shared process (processes/common/<id>.bpmn); none for a process only the system runs."""
    path = Path(deploy.PROCESSES_DIR) / "common" / f"{process_id}.bpmn"
    if not path.is_file():
        return ()
    return tuple(_tasks(etree.parse(str(path)).getroot()))


def step_fields(role: str) -> dict[str, tuple[str, ...]]:
    """What the role reads on its task screen, grouped by value."""
    seen = field_access.rules("tugas", [field_access.step_viewer(role)])
    return {
        value: tuple(spec.label for category, spec in field_access.CATEGORIES.items() if seen[category] == value)
        for value in field_access.VALUES
    }


@lru_cache(maxsize=64)
def _steps(xml: str) -> tuple[StepFields, ...]:
    root = etree.fromstring(xml.encode("utf-8"))
    steps = []
    for label, lane, form in _tasks(root):
        role = LANE_ROLES.get(lane, lane)
        catalogued = registry.form(form)
        steps.append(StepFields(label, role, catalogued.title if catalogued else form, step_fields(role)))
    return tuple(steps)


def sops() -> list[SopSteps]:
    """Per SOP (in the help's order), the steps of its current published diagram with their fields."""
    found = []
    for key, text in help.SOPS.items():
        current = deploy.latest(key)
        found.append(
            SopSteps(
                text.number, text.title, current.version if current else None, _steps(current.xml) if current else ()
            )
        )
    return found
