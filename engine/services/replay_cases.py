"""Replaying stored cases: their log and deployed definitions from the database, their stored end state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import runtime
from engine.models import ProcessDeployment, ProcessInstance, db
from engine.services import audit
from engine.services.errors import NotFound
from engine.services.replay import Entry, ReplayError, Result, final_state, run


@dataclass
class CaseReplay:
    """The replay of one stored case."""

    case_id: int
    result: Result

    def summary(self) -> str:
        """One line in Indonesian: equal, or the first difference."""
        if self.result.equal:
            return (
                f"Kasus #{self.case_id}: cocok — {self.result.steps_checked} langkah dan {self.result.inputs} masukan "
                "dijalankan ulang sama dengan log, status akhir sama dengan yang tersimpan."
            )
        return f"Kasus #{self.case_id}: TIDAK cocok. {self.result.difference}"


def entries_of(case_id: int) -> list[Entry]:
    """A case's log as replay reads it."""
    return [
        Entry(e.seq, e.at, e.actor, e.kind, e.task_name, json.loads(e.payload_json))
        for e in audit.events_of_case(case_id)
    ]


def definition_of(key: str, version: int, sha256: str | None) -> str:
    """The definition of a deployed version (its digest checked when the log names one)."""
    deployment = db.session.execute(
        select(ProcessDeployment).where(ProcessDeployment.key == key, ProcessDeployment.version == version)
    ).scalar_one_or_none()
    if deployment is None:
        raise ReplayError(f"versi {version} proses '{key}' tidak ditemukan")
    if sha256 and deployment.sha256 != sha256:
        raise ReplayError(
            f"versi {version} proses '{key}' tersimpan dengan sidik {deployment.sha256[:12]}, log mencatat {sha256[:12]}"
        )
    return deployment.spec_json


def stored_final(case: ProcessInstance) -> dict[str, Any]:
    """The stored end state of a case, as replay compares it (its row's status and outcome included)."""
    workflow = runtime.load(case.deployment.spec_json, case.state_json, runtime.SertelScriptEngine({}))
    state = final_state(workflow)
    # The row must agree with the state it stores; a differing row is a difference too.
    state["completed"] = state["completed"] if (case.status == "completed") == state["completed"] else case.status
    state["outcome"] = state["outcome"] if case.outcome == state["outcome"] else case.outcome
    return state


def replay_case(case_id: int, keep_frames: bool = False) -> CaseReplay:
    """Re-execute a stored case and compare it with its log and stored state."""
    case = db.session.get(ProcessInstance, case_id)
    if case is None:
        raise NotFound("Kasus tidak ditemukan.")
    entries = entries_of(case_id)
    return CaseReplay(case_id, run(entries, definition_of, stored_final(case), keep_frames))


def case_ids() -> list[int]:
    """Every case id, oldest first."""
    return list(db.session.execute(select(ProcessInstance.id).order_by(ProcessInstance.id)).scalars())
