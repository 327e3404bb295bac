"""BPMN messages delivered to a waiting case: an input of the case like a form or a timer firing.

The delivery is logged (`message_received`, credited to whoever delivered it, with the message name and its
payload) before the steps it sets off, so replay and regression fixtures deliver it again at its recorded
moment.
"""

from __future__ import annotations

from typing import Any

from engine import runtime
from engine.models import ProcessInstance, db
from engine.services import advance, audit, transactions
from engine.services.errors import Conflict, Invalid, NotFound


def deliver(case_id: int, name: str, payload: dict[str, Any], actor: str) -> ProcessInstance:
    """Deliver message `name` (with a JSON object payload) to a running case that waits for it."""
    if not name or len(name) > 200:
        raise Invalid("Nama pesan wajib diisi (maks. 200 karakter).", {"name": ["Wajib diisi."]})
    transactions.begin_write()
    if db.session.get(ProcessInstance, case_id) is None:
        raise NotFound("Kasus tidak ditemukan.")
    case = advance.lock_case(case_id)  # Conflict when the case has ended
    workflow = runtime.load(case.deployment.spec_json, case.state_json, advance.engine_for(case, actor))
    waiting = runtime.waiting_messages(workflow)
    if name not in waiting:
        shown = ", ".join(f"'{m}'" for m in waiting) or "tidak ada"
        raise Conflict(f"Kasus #{case_id} tidak sedang menunggu pesan '{name}' (yang ditunggu: {shown}).")
    audit.append(audit.case_stream(case.id), "message_received", actor, {"message": name, "payload": payload}, case.id)
    recorder = advance.step_recorder(case, actor)
    advance.run_step(lambda: runtime.deliver_message(workflow, name, payload, recorder))
    case.error = None
    advance.save_case(case, workflow)
    db.session.commit()
    return case
