"""What the replay page shows: each logged event of a case with the case as it was right after it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from engine import runtime
from engine.models import HumanTask, ProcessInstance, User, db
from engine.services import audit, deploy, transactions
from engine.services.access import may_view_case
from engine.services.errors import Forbidden, NotFound
from engine.services.replay import Frame, run
from engine.services.replay_cases import CaseReplay, definition_of, entries_of, replay_case


def viewable_case(case_id: int, user: User) -> ProcessInstance:
    """The case if the user may see it (the case page's rule)."""
    case = db.session.get(ProcessInstance, case_id)
    if case is None:
        raise NotFound("Kasus tidak ditemukan.")
    if not may_view_case(user, case):
        raise Forbidden("Anda tidak berwenang melihat kasus ini.")
    return case


def diagram_xml(case_id: int, user: User) -> str:
    """The diagram of the version the case runs on."""
    return viewable_case(case_id, user).deployment.xml


def called_diagrams(case: ProcessInstance) -> dict[str, str]:
    """Process id -> XML of the shared processes the case's version calls, when they are provably that version's.

    A deployment stores its own diagram, and its digest covers the shared files it called at publish; the
    files on disk are shown only if, hashed the same way, they give that digest again (else they changed).
    """
    used = set(json.loads(case.deployment.spec_json).get("subprocess_specs") or {})
    digest = hashlib.sha256(case.deployment.xml.encode("utf-8"))
    found: dict[str, str] = {}
    for name, text in deploy.common_processes().items():
        ids = set(runtime.process_ids(text)) & used
        if ids:
            digest.update(b"\0" + name.encode("utf-8") + b"\0" + text.encode("utf-8"))
            found.update(dict.fromkeys(ids, text))
    return found if digest.hexdigest() == case.deployment.sha256 else {}


def called_diagram_xml(case_id: int, user: User, process_id: str) -> str:
    """The diagram of a process the case's version calls (only if it is provably the one it ran with)."""
    xml = called_diagrams(viewable_case(case_id, user)).get(process_id)
    if xml is None:
        raise NotFound("Diagram sub-proses versi kasus ini tidak tersedia (berkasnya telah berubah sejak diterbitkan).")
    return xml


def labels_of(case: ProcessInstance) -> dict[str, str]:
    """Element id -> label: the case's diagram and the shared call activities it may use."""
    found: dict[str, str] = {}
    common = deploy.common_processes()
    for xml in common.values():
        found.update(runtime.element_labels(xml))
    found.update(runtime.element_labels(case.deployment.xml))
    found.update(runtime.caller_labels(case.deployment.xml, common))  # shared steps named by this SOP
    return found


def process_titles(case: ProcessInstance) -> dict[str, str]:
    """Process id -> title, for the case's process and the processes it calls."""
    definition = json.loads(case.deployment.spec_json)
    titles = {case.sop_key: case.deployment.title}
    for key, spec in (definition.get("subprocess_specs") or {}).items():
        titles[key] = str(spec.get("description") or key)
    return titles


def _people(usernames: set[str]) -> dict[str, str]:
    rows = db.session.execute(select(User.username, User.full_name).where(User.username.in_(usernames)))
    return {username: full_name for username, full_name in rows}


def _task_roles(case_id: int) -> dict[int, str]:
    rows = db.session.execute(select(HumanTask.id, HumanTask.role).where(HumanTask.instance_id == case_id))
    return {task_id: role for task_id, role in rows}


def replay_view(case_id: int, user: User) -> dict[str, Any]:
    """The case's events, each with the state right after it (re-executed from the log), for the page."""
    case = viewable_case(case_id, user)
    entries = entries_of(case.id)
    result = run(entries, definition_of, keep_frames=True)
    frames: dict[int, Frame] = {f.seq: f for f in result.frames}
    labels = labels_of(case)
    titles = process_titles(case)
    roles = _task_roles(case.id)
    people = _people({e.actor for e in entries} | {str(e.payload.get("triggered_by") or "") for e in entries})
    steps: list[dict[str, Any]] = []
    last: Frame | None = None
    for entry in entries:
        frame = frames.get(entry.seq) or last
        last = frame
        process = result.processes.get(entry.seq) or (frame.process if frame else case.sop_key)
        task_id = entry.payload.get("task_id")
        steps.append(
            {
                "seq": entry.seq,
                "at": entry.at.isoformat(),
                "kind": entry.kind,
                "actor": entry.actor,
                "actor_name": people.get(entry.actor, ""),
                "triggered_by": entry.payload.get("triggered_by"),
                "role": roles.get(int(task_id)) if entry.kind == "task_completed" and task_id else None,
                "task_name": entry.task_name,
                # The label the version itself gave the step (logged with it), else the diagram's.
                "label": entry.payload.get("label") or labels.get(entry.task_name or "", entry.task_name or ""),
                "process": process,
                "process_title": titles.get(process, process),
                "in_called_process": process != case.sop_key,
                "payload": entry.payload,
                "service_inputs": result.service_inputs.get(entry.seq),
                "completed": frame.completed if frame else [],
                "active": frame.active if frame else [],
                "data": frame.data if frame else {},
            }
        )
    return {
        "case_id": case.id,
        "sop_key": case.sop_key,
        "title": case.deployment.title,
        "version": case.deployment.version,
        "sha256": case.deployment.sha256,
        "steps": steps,
        "labels": labels,
        "replay_stopped": str(result.difference) if result.difference else None,
        "finished": case.status == "completed",
        "called_diagrams": sorted(called_diagrams(case)),
    }


def check_case(case_id: int, user: User) -> CaseReplay:
    """Re-execute a case the user may see and compare it with the record; the check itself is logged."""
    viewable_case(case_id, user)
    outcome = replay_case(case_id)
    db.session.rollback()  # the replay only read; the record of the check is its own write
    transactions.begin_write()
    audit.append(
        "system",
        "case_replayed",
        user.username,
        {"case_id": case_id, "equal": outcome.result.equal, "summary": outcome.summary()},
    )
    db.session.commit()
    return outcome
