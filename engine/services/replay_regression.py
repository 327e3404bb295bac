"""Regression tests of a diagram from finished cases: their recorded inputs replayed on a new diagram.

A fixture holds a case's inputs and recorded steps (its log minus claims, mails and other side events)
and its stored end state; checking it against a changed diagram re-executes the same inputs there and
names the first step where the path departs from the recorded one, before the change is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import runtime
from engine.models import ProcessInstance, db
from engine.services.errors import Invalid, NotFound
from engine.services.replay import INPUT_KINDS, Difference, Entry, ReplayError, run
from engine.services.replay_cases import entries_of, stored_final

FORMAT = "sertel-regression/1"
# Besides the inputs, what a fixture keeps: the recorded path and how the case ended.
KEPT_KINDS = (*INPUT_KINDS, "step_completed", "case_completed")


def fixture_of(case_id: int) -> dict[str, Any]:
    """A regression fixture from a finished case: its recorded inputs and, as expectation, its recorded path."""
    case = db.session.get(ProcessInstance, case_id)
    if case is None:
        raise NotFound("Kasus tidak ditemukan.")
    if case.status != "completed":
        raise Invalid(f"Kasus #{case_id} belum selesai; uji regresi dibuat dari kasus yang sudah selesai.")
    expected = stored_final(case)
    entries = [e.as_dict() for e in entries_of(case_id) if e.kind in KEPT_KINDS]
    names = {e["task_name"] for e in entries} | {str(e["payload"].get("task_name")) for e in entries}
    # The recorded steps' labels in the version the case ran on: a refusal names the step as the owner knows it.
    labels = {k: v for k, v in runtime.element_labels(case.deployment.xml).items() if k in names}
    return {
        "format": FORMAT,
        "case_id": case.id,
        "process_key": case.sop_key,
        "version": case.deployment.version,
        "sha256": case.deployment.sha256,
        "entries": entries,
        "labels": labels,
        "expected": {k: expected[k] for k in ("completed", "outcome", "ready")},
    }


@dataclass(frozen=True)
class RegressionFinding:
    """The outcome of one fixture on the new diagram."""

    case_id: int
    difference: Difference | None
    steps_checked: int
    # The recorded event where the path first departs: its element and label (None: the end state).
    element_id: str | None = None
    step_label: str | None = None

    @property
    def step(self) -> str:
        """The first differing step, in Indonesian ("langkah 'Label' (element)" or "status akhir")."""
        if self.element_id is None:
            seq = self.difference.seq if self.difference is not None else None
            return f"peristiwa #{seq}" if seq is not None else "status akhir"
        label = f"'{self.step_label}' " if self.step_label and self.step_label != self.element_id else ""
        return f"langkah {label}({self.element_id})"

    def __str__(self) -> str:
        if self.difference is None:
            return f"Kasus #{self.case_id}: jalur sama ({self.steps_checked} langkah)."
        return f"Kasus #{self.case_id}: jalur BERUBAH. {self.difference}"


def check(key: str, definition: str, fixtures: list[dict[str, Any]]) -> list[RegressionFinding]:
    """Re-execute each fixture of process `key` on a checked definition (spec JSON of the new diagram).

    No handler runs and the PSrE is never called: every service task gets the output the case recorded.
    """
    findings: list[RegressionFinding] = []
    for fixture in fixtures:
        if fixture.get("format") != FORMAT or fixture.get("process_key") != key:
            raise Invalid(f"Berkas uji regresi bukan untuk proses '{key}' (format {FORMAT}).")
        entries = [Entry.from_dict(raw) for raw in fixture["entries"]]

        def on_new_diagram(process: str, _version: int, _sha256: str | None) -> str:
            if process != key:
                raise ReplayError(f"uji regresi proses '{key}' memuat proses lain '{process}'")
            return definition

        result = run(entries, on_new_diagram, fixture["expected"], check_gaps=False, compare_data=False)
        element, label = _where(entries, result.difference, dict(fixture.get("labels") or {}))
        findings.append(
            RegressionFinding(int(fixture["case_id"]), result.difference, result.steps_checked, element, label)
        )
    return findings


def _where(
    entries: list[Entry], difference: Difference | None, labels: dict[str, str]
) -> tuple[str | None, str | None]:
    """The element and label of the recorded event a difference names."""
    if difference is None or difference.seq is None:
        return None, None
    for entry in entries:
        if entry.seq == difference.seq:
            element = entry.payload.get("task_name") or entry.task_name
            label = entry.payload.get("label") or labels.get(str(element))
            return (str(element) if element else None), (str(label) if label else None)
    return None, None
