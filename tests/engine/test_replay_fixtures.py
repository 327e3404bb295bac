"""Stored regression fixtures: a finished 088.9 case saved by the process owner, re-executed on every publish.

The case goes through the HTTP interface (returned once, resubmitted, approved, delivered); the fixture is
saved over the API and from the replay page; publishing a diagram that sends a returned application down the
rejection path is refused (modeler API and `sertel deploy`) naming the fixture and the first differing step,
and one that only renames a step is published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.cli import deploy_command
from engine.models import AuditEvent, ProcessDeployment, RegressionFixture, db
from engine.services import deploy
from tests.engine.test_replay import ISSUANCE, returned_then_delivered
from tests.sops.test_issuance_ams import start_and_register
from tests.web_login import csrf_of, login

KEY = "issuance_ams"
NAME = "kembali-lalu-terbit"


def original() -> str:
    return ISSUANCE.read_text(encoding="utf-8")


def path_changing() -> str:
    """A returned application now counts as rejected: the saved case took the return path."""
    changed = original().replace(
        'verification["decision"] == "reject"', 'verification["decision"] in ("reject", "return")'
    )
    assert changed != original()
    return changed


def path_keeping() -> str:
    """Only a step's label changes: every past path stays the same."""
    changed = original().replace('name="Beri rekomendasi permohonan"', 'name="Beri rekomendasi atas permohonan"')
    assert changed != original()
    return changed


def versions_of(app: Flask) -> list[int]:
    with app.app_context():
        return list(
            db.session.execute(
                select(ProcessDeployment.version)
                .where(ProcessDeployment.key == KEY)
                .order_by(ProcessDeployment.version)
            ).scalars()
        )


def kinds(app: Flask, kind: str) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent).where(AuditEvent.kind == kind)).scalars()
        return [{"actor": e.actor, **json.loads(e.payload_json)} for e in rows]


def html_client(app: Flask, username: str) -> Any:
    client = app.test_client()
    login(client, username)
    return client


def test_a_saved_case_refuses_a_publish_that_changes_its_path_and_lets_one_that_keeps_it(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    admin = api("admin")

    saved = admin.post(f"/processes/{KEY}/regressions", json={"case_id": case_id, "name": NAME})
    assert saved.status_code == 201, saved.get_json()
    listed = admin.get(f"/processes/{KEY}/regressions").get_json()
    assert [(f["name"], f["case_id"], f["saved_by"]) for f in listed] == [(NAME, case_id, "admin")]
    assert listed[0]["steps"] > 10 and listed[0]["outcome"]
    assert kinds(app, "regression_fixture_saved") == [
        {
            "actor": "admin",
            "key": KEY,
            "name": NAME,
            "fixture_id": saved.get_json()["id"],
            "case_id": case_id,
            "version": saved.get_json()["version"],
        }
    ]
    # The same name twice is refused.
    assert admin.post(f"/processes/{KEY}/regressions", json={"case_id": case_id, "name": NAME}).status_code == 409

    # The modeler's check shows the fixture's result before publishing.
    checked = admin.post(f"/processes/{KEY}/check", json={"xml": path_changing()}).get_json()
    [result] = checked["regressions"]
    assert result["name"] == NAME and result["passed"] is False and result["element_id"] == "notify_returned"
    assert any(p["element_id"] == "notify_returned" and NAME in p["message"] for p in checked["problems"])
    fine = admin.post(f"/processes/{KEY}/check", json={"xml": path_keeping()}).get_json()
    assert fine["problems"] == [] and [r["passed"] for r in fine["regressions"]] == [True]

    before = versions_of(app)
    refused = admin.post(f"/processes/{KEY}/publish", json={"xml": path_changing()})
    assert refused.status_code == 422, refused.get_json()
    message = refused.get_json()["message"]
    assert f"uji regresi '{NAME}' (kasus #{case_id})" in message
    assert "langkah 'Beri tahu pemohon: perbaiki permohonan' (notify_returned)" in message
    assert any(p["element_id"] == "notify_returned" for p in refused.get_json()["problems"])
    assert versions_of(app) == before

    accepted = admin.post(f"/processes/{KEY}/publish", json={"xml": path_keeping()})
    assert accepted.status_code == 201, accepted.get_json()
    assert versions_of(app) == [*before, before[-1] + 1]

    # After the publish the fixture still holds: a later change of the path is still refused.
    again = admin.post(f"/processes/{KEY}/publish", json={"xml": path_changing()})
    assert again.status_code == 422


def test_sertel_deploy_refuses_a_file_that_changes_a_saved_path(app: Flask, api: Any, tmp_path: Path) -> None:
    case_id = returned_then_delivered(api)
    assert api("admin").post(f"/processes/{KEY}/regressions", json={"case_id": case_id}).status_code == 201
    changed = tmp_path / f"{KEY}.bpmn"
    changed.write_text(path_changing(), encoding="utf-8")
    before = versions_of(app)
    answer = app.test_cli_runner().invoke(deploy_command, [str(changed), "--actor", "pemilik"])
    assert answer.exit_code == 1, answer.output
    assert f"uji regresi 'kasus-{case_id}'" in answer.output and "(notify_returned)" in answer.output
    assert versions_of(app) == before
    changed.write_text(path_keeping(), encoding="utf-8")
    answer = app.test_cli_runner().invoke(deploy_command, [str(changed), "--actor", "pemilik"])
    assert answer.exit_code == 0, answer.output
    assert versions_of(app) == [*before, before[-1] + 1]


def test_the_replay_page_saves_a_fixture_the_modeler_lists_and_deletes(app: Flask, api: Any) -> None:
    case_id = returned_then_delivered(api)
    auditor = html_client(app, "auditor")
    assert "Simpan sebagai uji regresi" not in auditor.get(f"/kasus/{case_id}/putar-ulang").get_data(as_text=True)

    admin = html_client(app, "admin")
    page = admin.get(f"/kasus/{case_id}/putar-ulang").get_data(as_text=True)
    assert "Simpan sebagai uji regresi proses" in page
    answer = admin.post(
        f"/kasus/{case_id}/putar-ulang/uji-regresi", data={"name": "dari halaman", "csrf_token": csrf_of(page)}
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/admin/proses/{KEY}#uji-regresi")
    modeler = admin.get(f"/admin/proses/{KEY}").get_data(as_text=True)
    assert "dari halaman" in modeler and f"#{case_id}" in modeler
    with app.app_context():
        fixture_id = db.session.execute(select(RegressionFixture.id)).scalar_one()

    gone = admin.post(f"/admin/proses/{KEY}/uji-regresi/{fixture_id}/hapus", data={"csrf_token": csrf_of(modeler)})
    assert gone.status_code == 302
    assert "Belum ada uji regresi" in admin.get(f"/admin/proses/{KEY}").get_data(as_text=True)
    assert [e["name"] for e in kinds(app, "regression_fixture_deleted")] == ["dari halaman"]
    # With no fixture left, the path-changing diagram is no longer held back by it.
    with app.app_context():
        assert deploy.check_problems(path_changing(), KEY) == []


def test_an_unfinished_case_or_another_process_cannot_be_saved(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    admin = api("admin")
    unfinished = admin.post(f"/processes/{KEY}/regressions", json={"case_id": case_id})
    assert unfinished.status_code == 422 and "belum selesai" in unfinished.get_json()["error"]
    other = admin.post("/processes/revocation/regressions", json={"case_id": case_id})
    assert other.status_code == 404
    assert api("auditor").post(f"/processes/{KEY}/regressions", json={"case_id": case_id}).status_code == 403
    with app.app_context():
        assert db.session.execute(select(RegressionFixture)).first() is None
