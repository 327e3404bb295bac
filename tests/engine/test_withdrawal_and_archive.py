"""Every closed case gets its sealed dossier: every closing end of every diagram passes the archive, and a
case its applicant withdraws ends as withdrawn with its dossier."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.models import Document, HumanTask, ProcessInstance, db
from engine.services import audit
from engine.services.audit_verify import verify as verify_log
from engine.services.deploy import PROCESSES_DIR
from tests.sops.builders import RECOMMEND
from tests.sops.test_issuance_ams import recommend, start_and_register, verify
from tests.web_login import csrf_of, login

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _closing_ends(path: Path) -> list[tuple[str, str, bool]]:
    """(end id, source id, whether the source is the archive call activity) of every end that closes the case.

    An end reached from a non-interrupting boundary event (an escalation while the case goes on) is not one.
    """
    process = ET.parse(path).getroot().find(f"{BPMN}process")
    assert process is not None
    nodes = {el.get("id"): el for el in process if el.get("id")}
    flows = {el.get("targetRef"): el.get("sourceRef") for el in process.iter(f"{BPMN}sequenceFlow")}
    found = []
    for end in process.findall(f"{BPMN}endEvent"):
        source = flows[end.get("id")]
        node, walked = source, set()
        while node in flows and node not in walked and nodes[node].tag != f"{BPMN}boundaryEvent":
            walked.add(node)
            node = flows[node]
        side_branch = nodes.get(node) is not None and nodes[node].get("cancelActivity") == "false"
        if not side_branch:
            archived = (
                nodes[source].tag == f"{BPMN}callActivity" and nodes[source].get("calledElement") == "common_archive"
            )
            found.append((str(end.get("id")), str(source), archived))
    return found


@pytest.mark.parametrize("path", sorted(PROCESSES_DIR.glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_closing_end_passes_the_archive(path: Path) -> None:
    ends = _closing_ends(path)
    assert len(ends) >= 2
    assert [e for e in ends if not e[2]] == []


def _dossiers(app: Flask, case_id: int) -> list[Document]:
    with app.app_context():
        return list(
            db.session.execute(
                select(Document).where(Document.instance_id == case_id, Document.kind == "dossier")
            ).scalars()
        )


def test_rejected_and_declined_cases_get_a_sealed_dossier(app: Flask, api: Any) -> None:
    _pemohon, rejected = start_and_register(api)
    recommend(api, rejected)
    assert verify(api, rejected, {"decision": "reject", "reasons": "Bukan ASN."}).status_code == 200
    _pemohon, declined = start_and_register(api)
    assert recommend(api, declined, {**RECOMMEND, "decision": "decline", "notes": "Belum perlu."}).status_code == 200
    for case_id in (rejected, declined):
        assert sorted(d.media_type for d in _dossiers(app, case_id)) == ["application/json", "application/pdf"]


def test_the_applicant_withdraws_a_running_case_and_it_is_archived(app: Flask, client: FlaskClient, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    login(client, "pemohon")
    page = client.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert "Tarik permohonan ini" in page
    response = client.post(
        f"/kasus/{case_id}/tarik", data={"reason": "Sudah pindah tugas.", "csrf_token": csrf_of(page)}
    )
    assert response.status_code == 302
    page = client.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert "Ditarik pemohon" in page and "Tarik permohonan ini" not in page
    with app.app_context():
        case = db.session.get(ProcessInstance, case_id)
        assert (case.status, case.outcome) == ("withdrawn", "withdrawn") and case.ended_at is not None
        open_tasks = db.session.execute(
            select(HumanTask).where(HumanTask.instance_id == case_id, HumanTask.status == "open")
        ).all()
        assert open_tasks == []
        kinds = [(e.kind, e.actor) for e in audit.events_of_case(case_id)]
        assert ("case_withdrawn", "pemohon") in kinds and kinds[-1] == ("case_completed", "sistem")
        withdrawn = next(e for e in audit.events_of_case(case_id) if e.kind == "case_withdrawn")
        assert json.loads(withdrawn.payload_json) == {"reason": "Sudah pindah tugas."}
        assert verify_log() == []
    dossiers = _dossiers(app, case_id)
    assert sorted(d.media_type for d in dossiers) == ["application/json", "application/pdf"]
    manifest = json.loads(
        api("verifikator").get(f"/documents/{next(d.id for d in dossiers if d.media_type == 'application/json')}").data
    )
    assert {"step": "withdrawal", "decision": "withdraw", "reasons": "Sudah pindah tugas."}.items() <= next(
        d for d in manifest["decisions"] if d["step"] == "withdrawal"
    ).items()
    # A withdrawn case frees the applicant to apply again.
    assert api("pemohon").post("/cases", json={"process_key": "issuance_ams"}).status_code == 201


def test_withdrawal_is_refused_to_others_without_reason_and_once_closed(app: Flask, api: Any) -> None:
    _pemohon, case_id = start_and_register(api)
    for other in ("atasan", "auditor", "verifikator"):
        response = api(other).post(f"/cases/{case_id}/withdraw", json={"reason": "x"})
        assert response.status_code == 403, other
    pemohon = api("pemohon")
    response = pemohon.post(f"/cases/{case_id}/withdraw", json={"reason": "  "})
    assert response.status_code == 422 and "Alasan penarikan wajib diisi." in response.get_json()["fields"]["reason"]
    assert pemohon.post(f"/cases/{case_id}/withdraw", json=[1]).status_code == 422
    response = pemohon.post(f"/cases/{case_id}/withdraw", json={"reason": "Batal."})
    assert response.status_code == 200 and response.get_json()["case"]["status"] == "withdrawn"
    again = pemohon.post(f"/cases/{case_id}/withdraw", json={"reason": "Batal."})
    assert again.status_code == 409
    assert pemohon.post("/cases/999999/withdraw", json={"reason": "x"}).status_code == 403
