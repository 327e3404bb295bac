"""Anchors: chain heads timestamped by the TSA and sealed by the RA; a cut made before an anchor is found."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, select, update

from engine.cli import audit_anchor_command
from engine.jobs import anchor_audit_log, build_scheduler
from engine.models import AuditEvent, AuditHead, db
from engine.services import audit, audit_anchor, audit_verify
from engine.services.runtime_context import psre
from pki import anchor_proof
from tests.engine.test_audit import case_events, only, run_case


def newest_anchor() -> AuditEvent:
    return db.session.execute(
        select(AuditEvent).where(AuditEvent.stream == audit.ANCHORS).order_by(AuditEvent.seq.desc()).limit(1)
    ).scalar_one()


def cut_tail_and_fix_head(stream: str) -> AuditEvent:
    """Delete a stream's last event and point its head at the one before, as an attacker with the DB would."""
    events = (
        db.session.execute(select(AuditEvent).where(AuditEvent.stream == stream).order_by(AuditEvent.seq))
        .scalars()
        .all()
    )
    last, before = events[-1], events[-2]
    db.session.expunge(last)
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == last.id))
    db.session.execute(update(AuditHead).where(AuditHead.stream == stream).values(seq=before.seq, hash=before.hash))
    db.session.commit()
    return last


def test_anchor_command_timestamps_and_seals_the_heads_that_moved(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    runner = app.test_cli_runner()
    result = runner.invoke(audit_anchor_command)
    assert result.exit_code == 0 and "Jangkar #1 disimpan" in result.output, result.output
    with app.app_context():
        anchor = newest_anchor()
        payload = json.loads(anchor.payload_json)
        heads = {stream: seq for stream, seq, _link in payload["heads"]}
        assert heads[audit.case_stream(case_id)] == case_events(case_id)[-1].seq
        assert {"system", audit.REGISTRY} <= set(heads)
        digest = bytes.fromhex(payload["digest"])
        cas = audit_anchor.trusted_cas()
        anchor_proof.verify_timestamp(base64.b64decode(payload["timestamp_token"]), digest, cas)
        assert payload["seal"] and audit_anchor.check_anchor(payload, audit.GENESIS) is None
        assert audit_verify.verify() == []
    again = runner.invoke(audit_anchor_command)
    assert "Jangkar #2 disimpan" in again.output  # the first anchor opened its stream: the registry moved
    assert "Tidak ada kepala rantai yang berubah" in runner.invoke(audit_anchor_command).output


def test_truncated_tail_with_a_rewritten_head_is_found_by_the_anchor(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream = audit.case_stream(case_id)
    with app.app_context():
        anchor = audit_anchor.create_anchor("cli")
        assert anchor is not None
        anchor_seq, anchor_at = anchor.seq, anchor.at
        cut = cut_tail_and_fix_head(stream)
        found = only(audit_verify.verify())
    assert (found.stream, found.seq, found.kind) == (stream, cut.seq, "(hilang)")
    assert found.why == (
        f"peristiwa ini dijangkarkan pada {anchor_at + timedelta(hours=7):%Y-%m-%d %H:%M:%S} WIB (jangkar #{anchor_seq}) "
        "tetapi hilang: ekor terpotong atau aliran dihapus"
    )


def test_stream_deleted_with_its_head_and_registry_entry_is_found_by_the_anchor(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream = audit.case_stream(case_id)
    with app.app_context():
        last_seq = case_events(case_id)[-1].seq
        assert audit_anchor.create_anchor("cli") is not None
        db.session.execute(delete(AuditEvent).where(AuditEvent.stream == stream))
        db.session.execute(delete(AuditHead).where(AuditHead.stream == stream))
        db.session.execute(
            delete(AuditEvent).where(AuditEvent.stream == audit.REGISTRY, AuditEvent.payload_json.contains(stream))
        )
        db.session.commit()
        found = [f for f in audit_verify.verify() if f.stream == stream]
    assert len(found) == 1 and (found[0].seq, found[0].kind) == (last_seq, "(hilang)")
    assert found[0].why.endswith("tetapi hilang: ekor terpotong atau aliran dihapus")


def test_forged_anchor_proofs_are_refused(app: Flask, api: Any) -> None:
    run_case(api)
    with app.app_context():
        anchor = audit_anchor.create_anchor("cli")
        assert anchor is not None
        payload = json.loads(anchor.payload_json)
        other = bytes(32)
        forged_token = anchor_proof.token_from_response(psre().tsa_response_der(anchor_proof.timestamp_request(other)))
        with_other_token = {**payload, "timestamp_token": base64.b64encode(forged_token).decode()}
        assert audit_anchor.check_anchor(with_other_token, audit.GENESIS) == (
            "stempel waktu RFC 3161 jangkar tidak sah: stempel waktu untuk digest lain"
        )
        with_other_seal = {**payload, "seal": base64.b64encode(psre().seal_digest(other)).decode()}
        assert audit_anchor.check_anchor(with_other_seal, audit.GENESIS) == (
            "segel Otoritas Pendaftaran pada jangkar tidak sah: tanda tangan tidak cocok"
        )
        with_fewer_heads = {**payload, "heads": payload["heads"][1:]}
        assert audit_anchor.check_anchor(with_fewer_heads, audit.GENESIS) == (
            "digest jangkar tidak cocok dengan kepala rantai yang dicatatnya"
        )


def test_scheduler_anchors_at_the_configured_interval(app: Flask, api: Any) -> None:
    run_case(api)
    app.config["SERTEL"]["AUDIT_ANCHOR_INTERVAL_MINUTES"] = 15
    scheduler = build_scheduler(app, 30, blocking=False)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("anchor_audit_log")
        assert job is not None and job.trigger.interval.total_seconds() == 15 * 60
        assert anchor_audit_log() > 0
        assert anchor_audit_log() > 0  # the first anchor opened the anchor stream in the registry
        assert anchor_audit_log() == 0  # nothing moved since: nothing to anchor
    finally:
        scheduler.shutdown(wait=False)
