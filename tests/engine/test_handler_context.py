"""The handler context's applicant record: built only when a handler reads it, once per context, and a handler
that changes the applicant still reads the record as it was before its own change."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Flask

from engine.models import ProcessInstance, db
from engine.services import ports
from tests.sops.test_issuance_ams import start_and_register


def _context(case: ProcessInstance) -> Any:
    task = SimpleNamespace(task_spec=SimpleNamespace(name="uji"), workflow=None)
    # iteration() walks the task's workflow: give it one with no completed task of this name.
    task.workflow = SimpleNamespace(top_workflow=SimpleNamespace(get_tasks=lambda **_kw: []))
    return ports.handler_context(case, task, {}, "verifikator")


def test_the_applicant_record_is_built_on_first_read_and_once(app: Flask, api: Any, monkeypatch: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    calls: list[int] = []
    real = ports.applicant_of

    def counted(case: ProcessInstance) -> dict[str, Any]:
        calls.append(case.id)
        return real(case)

    monkeypatch.setattr(ports, "applicant_of", counted)
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        ctx = _context(case)
        assert calls == []  # a handler that never reads it costs nothing
        assert ctx.applicant["username"] == "pemohon"
        assert dict(ctx.applicant)["full_name"] == ctx.applicant.get("full_name")
        assert "nik" in ctx.applicant and len(ctx.applicant) > 5
        assert calls == [case_id]


def test_a_handler_changing_the_applicant_reads_the_record_as_before_its_change(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert case is not None
        ctx = _context(case)
        before = ports.applicant_of(case)["position"]
        ctx.update_applicant({"position": "Jabatan Baru Uji"})
        assert ctx.applicant["position"] == before  # as when the context was made
        assert ports.applicant_of(case)["position"] == "Jabatan Baru Uji"  # the change itself was made
        assert _context(case).applicant["position"] == "Jabatan Baru Uji"  # and the next step sees it
        db.session.rollback()
