"""Withdrawal: the applicant ends their own running case before the decision, and it is archived.

The main flow is cancelled by the engine and the case then runs the shared archive process of its own
deployment (the same diagram every closing path of every SOP calls), seeded with the case data and the
withdrawal, so the dossier lists the withdrawal beside every earlier submission. Why not a BPMN event
subprocess: see docs/audit.md ("Withdrawal").
"""

from __future__ import annotations

from sqlalchemy import select

from engine import runtime
from engine.models import AuditEvent, Certificate, HumanTask, ProcessInstance, User, db
from engine.models.base import utcnow
from engine.services import advance, audit, transactions
from engine.services.errors import Conflict, Forbidden, Invalid, Unavailable

# The shared process every closing path of every SOP calls (processes/common/common_archive.bpmn).
ARCHIVE_PROCESS = "common_archive"
WITHDRAWN = "withdrawn"
REASON_MAX = 1000
# Events after which the PSrE has acted for the case: from then on the decision is taken.
DECIDED_KINDS = ("certificate_recorded", "certificate_status_changed")


def withdrawal_refusal(case: ProcessInstance, user: User) -> str | None:
    """Why `user` may not withdraw `case` now (Indonesian), or None when they may."""
    if case.applicant_id != user.id:
        return "Hanya pemohon yang dapat menarik permohonannya sendiri."
    if case.status != "running":
        return "Kasus ini sudah selesai; tidak dapat ditarik."
    certificate = db.session.execute(select(Certificate.id).where(Certificate.instance_id == case.id).limit(1)).first()
    acted = db.session.execute(
        select(AuditEvent.id)
        .where(AuditEvent.stream == audit.case_stream(case.id), AuditEvent.kind.in_(DECIDED_KINDS))
        .limit(1)
    ).first()
    if certificate is not None or acted is not None:
        return "PSrE sudah menindaklanjuti permohonan ini; permohonan tidak dapat ditarik lagi."
    return None


def withdraw_case(case_id: int, user: User, reason: str) -> ProcessInstance:
    """Withdraw the case: cancel its flow and open tasks, log the reason, archive the dossier. Commits."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Alasan penarikan wajib diisi.", {"reason": ["Alasan penarikan wajib diisi."]})
    if len(reason) > REASON_MAX:
        message = f"Alasan penarikan paling banyak {REASON_MAX} karakter."
        raise Invalid(message, {"reason": [message]})
    transactions.begin_write()
    case = db.session.get(ProcessInstance, case_id)
    if case is None or case.applicant_id != user.id:
        raise Forbidden("Hanya pemohon yang dapat menarik permohonannya sendiri.")
    try:
        case = advance.lock_case(case_id)
    except Conflict:
        raise Conflict("Kasus ini sudah selesai; tidak dapat ditarik.") from None
    refusal = withdrawal_refusal(case, user)
    if refusal is not None:
        raise Conflict(refusal)
    engine = advance.engine_for(case, user.username)
    workflow = runtime.load(case.deployment.spec_json, case.state_json, engine)
    data = runtime.current_data(workflow)
    runtime.cancel(workflow)
    now = utcnow()
    for task in db.session.execute(
        select(HumanTask).where(HumanTask.instance_id == case.id, HumanTask.status == "open")
    ).scalars():
        task.status = "cancelled"
    withdrawal = {"decision": "withdraw", "reasons": reason, "by": user.username, "at": now.isoformat()}
    audit.append(audit.case_stream(case.id), "case_withdrawn", user.username, {"reason": reason}, case.id)
    try:
        closing = runtime.called_process_workflow(
            case.deployment.spec_json, ARCHIVE_PROCESS, engine, {**data, "withdrawal": withdrawal}
        )
    except runtime.ProcessError as exc:
        db.session.rollback()
        raise Unavailable(f"Kasus tidak dapat diarsipkan: {exc}") from exc
    advance.run_step(lambda: runtime.advance(closing, advance.step_recorder(case, user.username)))
    if not runtime.is_completed(closing):
        db.session.rollback()
        raise Unavailable("Pengarsipan kasus yang ditarik tidak selesai; silakan coba lagi.")
    case.state_json = runtime.dump_state(workflow)
    case.status, case.outcome, case.ended_at, case.updated_at = WITHDRAWN, WITHDRAWN, now, now
    case.current_steps, case.next_timer_at = "", None
    audit.append(audit.case_stream(case.id), "case_completed", "sistem", {"outcome": WITHDRAWN}, case.id)
    db.session.commit()
    return case
