"""Replay re-executes a case from its log: equal for a real case, and the first misfit named when tampered."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import delete, update

from engine.cli import audit_regression_test, audit_replay, process_check_regressions
from engine.models import AuditEvent, db
from engine.services import audit, audit_verify
from engine.services.replay_cases import replay_case
from tests.sops import test_sla_timers as sla
from tests.sops.builders import APPROVE, csr_pem, registration
from tests.sops.test_issuance_ams import only_task, recommend, start_and_register, verify
from tests.web import test_process_versions as versions
from tests.web_login import login

ISSUANCE = Path(__file__).resolve().parents[2] / "processes" / "issuance_ams.bpmn"


def returned_then_delivered(api: Any) -> int:
    """An 088.9 case the verifikator returns once, resubmitted, approved, activated and delivered."""
    pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    assert verify(api, case_id, {"decision": "return", "reasons": "Pindaian KTP buram."}).status_code == 200
    task = only_task(pemohon, case_id, "registration_form")
    again = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    assert again.status_code == 200, again.get_json()
    assert recommend(api, case_id).status_code == 200
    assert verify(api, case_id, APPROVE).status_code == 200
    activation = only_task(pemohon, case_id, "activation")
    answer = pemohon.post(
        f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr_pem()[0]}
    )
    assert answer.status_code == 200, answer.get_json()
    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    return case_id


def events(app: Flask, case_id: int) -> list[AuditEvent]:
    with app.app_context():
        found = audit.events_of_case(case_id)
        for event in found:
            db.session.expunge(event)
        return found


def replayed(app: Flask, case_id: int) -> Any:
    with app.app_context():
        db.session.expire_all()
        return replay_case(case_id).result


def change(app: Flask, statement: Any) -> None:
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def verify_findings(app: Flask) -> list[audit_verify.Finding]:
    with app.app_context():
        db.session.expire_all()
        return audit_verify.verify()


def test_a_case_with_a_return_loop_replays_equal_to_its_log_and_stored_state(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    result = replayed(app, case_id)
    assert result.difference is None
    logged_steps = [e for e in events(app, case_id) if e.kind == "step_completed"]
    assert result.steps_checked == len(logged_steps) > 20
    assert result.final["completed"] and result.final["outcome"] == "end_delivered"
    answer = app.test_cli_runner().invoke(audit_replay, [str(case_id)])
    assert answer.exit_code == 0, answer.output
    assert f"Kasus #{case_id}: cocok" in answer.output


def test_engine_steps_are_credited_to_the_system_with_whoever_triggered_them(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    logged = events(app, case_id)
    steps = [e for e in logged if e.kind == "step_completed"]
    assert {e.actor for e in steps} == {"sistem"}
    triggers = {json.loads(e.payload_json)["triggered_by"] for e in steps}
    assert triggers == {"pemohon", "atasan", "verifikator"}
    forms = {e.actor for e in logged if e.kind == "task_completed"}
    assert forms == {"pemohon", "atasan", "verifikator"}
    page = _html_client(app, "verifikator").get(f"/kasus/{case_id}").get_data(as_text=True)
    assert "oleh sistem (dipicu oleh verifikator)" in page
    assert "oleh sistem (dipicu oleh pemohon)" in page


def test_a_changed_form_submission_makes_replay_depart_after_that_form(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    logged = events(app, case_id)
    returned = next(e for e in logged if e.kind == "task_completed" and '"return"' in e.payload_json)
    payload = json.loads(returned.payload_json)
    payload["submission"]["decision"] = "reject"
    change(app, update(AuditEvent).where(AuditEvent.id == returned.id).values(payload_json=json.dumps(payload)))
    difference = replayed(app, case_id).difference
    next_input = next(e for e in logged if e.seq > returned.seq and e.kind == "task_completed")
    assert difference is not None and returned.seq < difference.seq < next_input.seq, difference
    assert "jalur berubah" in difference.message
    assert [(f.seq, f.why) for f in verify_findings(app)] == [(returned.seq, "isi peristiwa telah diubah")]


def test_a_changed_service_output_is_named_at_its_step(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    service = [e for e in events(app, case_id) if e.kind == "step_completed" and '"operator"' in e.payload_json][-1]
    payload = json.loads(service.payload_json)
    variable = next(iter(payload["output"]))
    payload["output"][variable] = {"forged": True}
    change(app, update(AuditEvent).where(AuditEvent.id == service.id).values(payload_json=json.dumps(payload)))
    difference = replayed(app, case_id).difference
    assert difference is not None and difference.seq == service.seq, difference
    assert f"data '{variable}'" in difference.message


def test_swapped_steps_are_named_at_the_first_of_the_pair(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    logged = events(app, case_id)
    first, second = next(
        (a, b)
        for a, b in itertools.pairwise(logged)
        if a.kind == b.kind == "step_completed" and a.task_name != b.task_name and a.seq > 10
    )
    for event, seq in ((first, -1), (second, first.seq), (first, second.seq)):
        change(app, update(AuditEvent).where(AuditEvent.id == event.id).values(seq=seq))
    difference = replayed(app, case_id).difference
    assert difference is not None and difference.seq == first.seq, difference
    assert f'tercatat "{second.task_name}"' in difference.message
    assert first.seq in {f.seq for f in verify_findings(app)}


def test_a_deleted_event_is_named_where_it_is_missing(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    logged = events(app, case_id)
    gone = [e for e in logged if e.kind == "step_completed"][5]
    change(app, delete(AuditEvent).where(AuditEvent.id == gone.id))
    difference = replayed(app, case_id).difference
    assert difference is not None and difference.seq == gone.seq + 1, difference
    assert f"peristiwa #{gone.seq} hilang" in difference.message
    assert (gone.seq + 1) in {f.seq for f in verify_findings(app)}
    answer = app.test_cli_runner().invoke(audit_replay, ["--all"])
    assert answer.exit_code == 1 and f"Kasus #{case_id}: TIDAK cocok" in answer.output


def test_regression_fixture_passes_on_its_diagram_and_catches_a_changed_path(
    app: Flask, api: Any, tmp_path: Path
) -> None:
    case_id = returned_then_delivered(api)
    fixture = tmp_path / "kasus.json"
    written = app.test_cli_runner().invoke(audit_regression_test, [str(case_id), "--out", str(fixture)])
    assert written.exit_code == 0, written.output
    recorded = json.loads(fixture.read_text(encoding="utf-8"))
    assert {e["kind"] for e in recorded["entries"]} >= {"case_started", "task_completed", "step_completed"}
    assert "mail_sent" not in {e["kind"] for e in recorded["entries"]}

    same = app.test_cli_runner().invoke(process_check_regressions, ["issuance_ams", str(ISSUANCE), str(fixture)])
    assert same.exit_code == 0, same.output
    assert f"Kasus #{case_id}: jalur sama" in same.output

    # A returned application now counts as rejected: the past case took the return path.
    changed = tmp_path / "issuance_ams.bpmn"
    changed.write_text(
        ISSUANCE.read_text(encoding="utf-8").replace(
            'verification["decision"] == "reject"', 'verification["decision"] in ("reject", "return")'
        ),
        encoding="utf-8",
    )
    caught = app.test_cli_runner().invoke(process_check_regressions, ["issuance_ams", str(changed), str(fixture)])
    assert caught.exit_code == 1, caught.output
    # Named at the recorded step the new diagram no longer takes: the notice that the case was returned.
    departed = next(e for e in recorded["entries"] if e["task_name"] == "notify_returned")
    assert (
        f"Kasus #{case_id}: jalur BERUBAH. Berbeda mulai peristiwa #{departed['seq']}: jalur berubah" in caught.output
    )
    assert "(notify_returned)" in caught.output and "(notify_rejected)" in caught.output


def test_replaying_an_unfinished_case_compares_its_waiting_task(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    assert recommend(api, case_id).status_code == 200
    result = replayed(app, case_id)
    assert result.difference is None and result.final["ready"] == ["verification"]


def _html_client(app: Flask, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def test_a_case_moved_to_another_version_replays_across_both_versions(app: Flask, api: Any) -> None:
    budi = api("pemohon")
    case_id = versions.start(budi)
    versions.register(budi, case_id)
    assert recommend(api, case_id).status_code == 200  # waiting in the verification call activity of v1
    admin = api("admin")
    assert versions.publish(admin, versions.second_approval_xml()).status_code == 201
    moved = admin.post(f"/processes/{versions.KEY}/migrations", json={"from": 1, "to": 2})
    assert moved.get_json()["migrated"] == [case_id]
    assert verify(api, case_id, APPROVE).status_code == 200
    result = replayed(app, case_id)
    assert result.difference is None and result.final["ready"] == ["activation"]
    assert "case_migrated" in [e.kind for e in events(app, case_id)]


def test_a_timer_fires_again_at_its_recorded_moment_and_an_earlier_moment_is_caught(app: Flask, api: Any) -> None:
    with time_machine.travel(sla.START, tick=False):
        case_id = sla.case_waiting_for_verification(api)
    with time_machine.travel(sla.START + timedelta(days=2, minutes=1), tick=False):
        assert sla.fire(app) == 1
    logged = events(app, case_id)
    fired = only_one([e for e in logged if e.kind == "timer_fired"])
    assert fired.actor == "sistem" and json.loads(fired.payload_json)["triggered_by"] == "penjadwal"
    reminder = [e for e in logged if e.seq > fired.seq and e.kind == "step_completed"]
    assert reminder and {json.loads(e.payload_json)["triggered_by"] for e in reminder} == {"penjadwal"}
    assert replayed(app, case_id).difference is None

    # Recorded as if the scheduler had run a day early: the reminder could not have been sent then.
    change(app, update(AuditEvent).where(AuditEvent.id == fired.id).values(at=fired.at - timedelta(days=1)))
    difference = replayed(app, case_id).difference
    assert difference is not None and difference.seq == reminder[0].seq, difference
    assert "tidak terjadi saat dijalankan ulang" in difference.message


def only_one(items: list[AuditEvent]) -> AuditEvent:
    assert len(items) == 1, [e.kind for e in items]
    return items[0]
