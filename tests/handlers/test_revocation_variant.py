"""088.11 changed by its owner: the head's branch removed from the diagram, deployed, then run over the API.

The revocation reason on the CRL is the one the requester chose on the statement they filed, whatever
the start data or another (now missing) statement says; a reason other than keyCompromise is not
fast-tracked. Before issue 9 a handler read `head_statement`, pre-filled by a script, and revoked
such a case as keyCompromise on the fast track.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from flask import Flask
from lxml import etree

from engine.config import ROOT
from tests.sops.builders import APPROVE
from tests.sops.test_issuance_ams import case_of
from tests.sops.test_renewal_rekey import issued_certificate
from tests.sops.test_revocation import mails, revocation_reason, start_revocation, statement, submit

HEAD_BRANCH = {"head_statement", "head_statement_pdf", "flow_by_head", "flow_to_head_statement_pdf", "flow_head_statement_to_check"}


def without_head_branch() -> str:
    """processes/revocation.bpmn with the head's statement, its PDF, their flows and shapes removed."""
    root = etree.parse(str(ROOT / "processes" / "revocation.bpmn")).getroot()
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        refers = element.get("id") in HEAD_BRANCH or element.get("bpmnElement") in HEAD_BRANCH
        named = element.tag.rsplit("}", 1)[-1] in ("incoming", "outgoing", "flowNodeRef") and (element.text or "").strip() in HEAD_BRANCH
        if refers or named:
            element.getparent().remove(element)
    assert not [e for e in root.iter() if isinstance(e.tag, str) and e.get("id") in HEAD_BRANCH]
    return etree.tostring(root, encoding="unicode")


def test_revocation_on_a_diagram_without_the_head_branch_uses_the_reason_the_owner_chose(api: Any, app: Flask, client: Any) -> None:
    # Published as the process owner does it, over the modeler's API.
    published = api("admin").post("/processes/revocation/publish", json={"xml": without_head_branch()})
    assert published.status_code == 201 and published.get_json()["version"] > 1, published.get_json()
    serial, _key, _issuance = issued_certificate(api)
    pemohon = api("pemohon")
    # The owner's agency head starts the case naming keyCompromise; with no head's branch left, the owner
    # files the statement, choosing superseded: that statement decides.
    case_id = start_revocation(api("atasan"), serial, applicant="pemohon", reason="keyCompromise")
    assert case_of(pemohon, case_id)["data"]["revocation"]["initiator"] == "head"
    response = submit(pemohon, case_id, "statement", statement(certificate_serial=serial, reason="superseded"))
    assert response.status_code == 200, response.get_json()

    verifikator = api("verifikator")
    listing = verifikator.get("/tasks").get_json()
    names = [t["task_name"] for t in listing["mine"] + listing["claimable"] if t["case_id"] == case_id]
    assert names == ["verification"]  # the regular path, not the fast track
    assert not any(template == "key_compromise_alert" for template, _to in mails(app, case_id))
    assert submit(verifikator, case_id, "verification", APPROVE).status_code == 200

    reason, answer = revocation_reason(client, pemohon, serial)
    assert reason == x509.ReasonFlags.superseded
    assert answer.revocation_reason == x509.ReasonFlags.superseded
    case = case_of(pemohon, case_id)
    assert (case["case"]["status"], case["case"]["outcome"]) == ("completed", "end_revoked")
    assert case["data"]["revoked"]["reason"] == "superseded"
    assert "suspension" not in case["data"] and "fast_track_decision" not in case["data"]
