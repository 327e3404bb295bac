"""The keyed event log: a real case verifies, and verify names the first misfit of every kind of tampering."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any, Callable

import pytest
from flask import Flask
from sqlalchemy import Integer, bindparam, delete, select, update

from engine.cli import audit_verify as verify_command
from engine.models import AuditEvent, AuditHead, db
from engine.services import audit, audit_keys, audit_verify, driver_sql
from engine.services.audit_verify import Finding
from tests.sops.builders import registration
from tests.sops.test_issuance_ams import only_task, recommend


def run_case(api: Any, process_key: str = "issuance_ams") -> int:
    """Run an issuance case up to verification: a stream with several events (one running per kind and person)."""
    pemohon = api("pemohon")
    response = pemohon.post("/cases", json={"process_key": process_key})
    assert response.status_code == 201, response.get_json()
    case_id = int(response.get_json()["case"]["id"])
    task = only_task(pemohon, case_id, "registration_form")
    form = pemohon.post(f"/tasks/{task['id']}/complete", data=registration(), content_type="multipart/form-data")
    assert form.status_code == 200, form.get_json()
    assert recommend(api, case_id).status_code == 200
    return case_id


def case_events(case_id: int) -> list[AuditEvent]:
    return audit.events_of_case(case_id)


def middle_event(case_id: int) -> AuditEvent:
    events = case_events(case_id)
    assert len(events) >= 4, [e.kind for e in events]
    return events[len(events) // 2]


def tamper(app: Flask, case_id: int, change: Callable[[AuditEvent], Any]) -> AuditEvent:
    """Change the stored log behind the app's back; return (a detached copy of) the event changed."""
    with app.app_context():
        event = middle_event(case_id)
        db.session.expunge(event)
        db.session.execute(change(event))
        db.session.commit()
    return event


def findings(app: Flask) -> list[Finding]:
    with app.app_context():
        db.session.expire_all()
        return audit_verify.verify()


def only(found: list[Finding]) -> Finding:
    assert len(found) == 1, [str(f) for f in found]
    return found[0]


def rechain(app: Flask, case_id: int, digest: Callable[[AuditEvent], str]) -> tuple[str, int, str]:
    """Edit the middle event and recompute every later link (and the head) with `digest`, as a forger would."""
    with app.app_context():
        events = case_events(case_id)
        start = len(events) // 2
        events[start].payload_json = '{"forged": true}'
        for index in range(start, len(events)):
            if index > start:
                events[index].prev_hash = events[index - 1].hash
            events[index].hash = digest(events[index])
        head = db.session.get(AuditHead, audit.case_stream(case_id))
        assert head is not None
        head.hash = events[-1].hash
        forged = (events[start].stream, events[start].seq, events[start].kind)
        db.session.commit()
        return forged


def test_log_of_a_real_case_verifies(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    with app.app_context():
        events = case_events(case_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].prev_hash == audit.GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
        assert all(e.hash != audit.plain_digest(e) for e in events)  # links are keyed, not plain SHA-256
        assert audit_verify.verify() == []
        assert audit_verify.verify(audit.case_stream(case_id)) == []
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 0 and "Log peristiwa utuh." in result.output


def test_events_carry_a_global_sequence_and_new_streams_are_registered(app: Flask, api: Any) -> None:
    first, second = run_case(api), run_case(api, "issuance_esign")
    with app.app_context():
        events = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
        assert [e.gseq for e in events] == sorted({e.gseq for e in events})
        registered = [json.loads(e.payload_json)["stream"] for e in events if e.stream == audit.REGISTRY]
        assert {audit.case_stream(first), audit.case_stream(second), "system"} <= set(registered)


def test_edited_event_is_named(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    event = tamper(app, case_id, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(payload_json="{}"))
    assert only(findings(app)) == Finding(event.stream, event.seq, event.at, event.kind, "isi peristiwa telah diubah")


@pytest.mark.parametrize("column", ["actor", "kind", "task_name", "at"])
def test_edited_header_field_is_named(app: Flask, api: Any, column: str) -> None:
    case_id = run_case(api)
    event = tamper(
        app,
        case_id,
        lambda e: (
            update(AuditEvent)
            .where(AuditEvent.id == e.id)
            .values({column: "mallory" if column != "at" else e.at.replace(year=2020)})
        ),
    )
    found = only(findings(app))
    assert (found.stream, found.seq, found.why) == (event.stream, event.seq, "isi peristiwa telah diubah")


def test_stream_rechained_with_plain_sha256_is_named(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    forged = rechain(app, case_id, audit.plain_digest)
    found = only(findings(app))
    assert (found.stream, found.seq, found.kind) == forged
    assert found.why == "rantai dihitung ulang dengan SHA-256 biasa, tanpa kunci dari KEK"


def test_stream_rechained_with_a_wrong_key_is_named(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    wrong = secrets.token_bytes(32)
    forged = rechain(app, case_id, lambda e: hmac.new(wrong, audit.material(e), hashlib.sha256).hexdigest())
    found = only(findings(app))
    assert (found.stream, found.seq) == forged[:2]
    assert found.why == "rantai dihitung ulang dengan kunci yang salah mulai dari peristiwa ini"


def test_stream_rechained_under_an_unknown_key_id_is_named(app: Flask, api: Any) -> None:
    case_id = run_case(api)

    def forge(event: AuditEvent) -> str:
        event.key_id = "f" * 16
        return hmac.new(b"k" * 32, audit.material(event), hashlib.sha256).hexdigest()

    forged = rechain(app, case_id, forge)
    found = only(findings(app))
    assert (found.stream, found.seq) == forged[:2]
    assert found.why.startswith("dirantai dengan kunci tak dikenal (ffffffffffffffff)")


def test_deleted_event_is_named_by_the_event_after_the_gap(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    event = tamper(app, case_id, lambda e: delete(AuditEvent).where(AuditEvent.id == e.id))
    found = only(findings(app))
    assert (found.stream, found.seq) == (event.stream, event.seq + 1)
    assert found.why == f"peristiwa #{event.seq} hilang (dihapus) sebelum peristiwa ini"


def test_deleted_stream_is_named_from_the_registry(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream = audit.case_stream(case_id)
    with app.app_context():
        db.session.execute(delete(AuditEvent).where(AuditEvent.stream == stream))
        db.session.execute(delete(AuditHead).where(AuditHead.stream == stream))
        db.session.commit()
    found = only(findings(app))
    assert (found.stream, found.seq, found.kind) == (stream, 1, "(hilang)")
    assert found.why.startswith("seluruh aliran hilang (dihapus); dibuka pada registri #")
    assert found.at is not None


def test_truncated_tail_is_named(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    with app.app_context():
        last = case_events(case_id)[-1]
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == last.id))
        db.session.commit()
    found = only(findings(app))
    assert (found.stream, found.seq) == (audit.case_stream(case_id), last.seq)
    assert found.why == f"ekor terpotong: peristiwa #{last.seq} hilang"


def test_reordered_pair_is_named(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    with app.app_context():
        first = middle_event(case_id)
        stream, seq = first.stream, first.seq
        moves = [(seq, -1), (seq + 1, seq), (-1, seq + 1)]  # swap through a free number: (stream, seq) is unique
        for old, new in moves:
            db.session.execute(
                update(AuditEvent).where(AuditEvent.stream == stream, AuditEvent.seq == old).values(seq=new)
            )
        db.session.commit()
    found = only(findings(app))
    assert (found.stream, found.seq) == (stream, seq)
    assert found.why == f"urutan peristiwa tertukar: tautannya dibuat untuk posisi #{seq + 1}"


def test_cli_verify_exits_1_and_names_the_event(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    event = tamper(app, case_id, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(payload_json="{}"))
    result = app.test_cli_runner().invoke(verify_command)
    assert result.exit_code == 1
    expected = (
        f"{event.stream} #{event.seq} ({event.at + timedelta(hours=7):%Y-%m-%d %H:%M:%S} WIB, {event.kind}): "
        "isi peristiwa telah diubah"
    )
    assert expected in result.stderr
    assert "Log peristiwa utuh" not in result.output


def test_tampering_one_case_does_not_implicate_another(app: Flask, api: Any) -> None:
    first, second = run_case(api), run_case(api, "issuance_esign")
    tamper(app, first, lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(payload_json="{}"))
    with app.app_context():
        assert audit_verify.verify(audit.case_stream(second)) == []
        assert audit_verify.verify(audit.case_stream(first)) != []
        assert [f.stream for f in audit_verify.verify()] == [audit.case_stream(first)]


def test_events_chained_under_a_retired_kek_verify_from_the_archive(app: Flask, api: Any) -> None:
    run_case(api)
    with app.app_context():
        old_kid, _ = audit_keys.current()
        new_kek = "bmV3LWtlay1mb3ItdGhlLWF1ZGl0LWxvZy0wMDAwMDA="
        config = app.config["SERTEL"]
        config["KEK_KEYS"] = f"{new_kek},{config['KEK_KEYS']}"
        assert audit_keys.archive() == 2  # what `sertel keys rotate` does while both KEKs are configured
        config["KEK_KEYS"] = new_kek  # the old KEK is retired
        audit.append("system", "after_rotation", "cli")
        db.session.commit()
        assert audit_keys.current()[0] != old_kid
        assert audit_verify.verify() == []
        db.session.execute(delete(audit_keys.AuditKeyArchive))
        db.session.commit()
        found = audit_verify.verify()
        assert found and all("kunci tak dikenal" in f.why for f in found)


def test_appended_events_are_written_with_the_flush_seen_by_queries_and_dropped_by_a_rollback(app: Flask) -> None:
    """Events go to the database as plain rows after the flush their head's change causes (or at commit): a query
    in the same transaction finds them, a rollback leaves neither them nor the head's move, and the chain verifies."""
    stream = audit.system_stream("uji")
    with app.app_context():
        first = audit.append(stream, "uji_satu", "uji", {"n": 1})
        assert isinstance(first, audit.PendingEvent)  # a plain row, not an ORM object the unit of work tracks
        audit.append(stream, "uji_dua", "uji", {"n": 2})
        found = db.session.execute(select(AuditEvent.kind).where(AuditEvent.stream == stream)).scalars().all()
        assert found == ["uji_satu", "uji_dua"]  # the query's autoflush wrote them
        db.session.rollback()
        assert db.session.execute(select(AuditEvent).where(AuditEvent.stream == stream)).first() is None
        assert db.session.get(AuditHead, stream) is None

        audit.append(stream, "uji_tiga", "uji", {"n": 3})
        db.session.commit()  # written at commit, with no query before it
        db.session.expire_all()
        kept = db.session.execute(select(AuditEvent).where(AuditEvent.stream == stream)).scalars().all()
        assert [(e.seq, e.kind) for e in kept] == [(1, "uji_tiga")]
        assert db.session.get(AuditHead, stream).seq == 1
        assert audit_verify.verify() == []


def test_a_head_locked_for_an_append_takes_the_stored_values_over_a_stale_copy(app: Flask, api: Any) -> None:
    """The head is read under its lock without the ORM's loading: a copy the session held from before is
    overwritten with the stored values (clean), and the append's move of it is written with its event."""
    case_id = run_case(api)
    stream = audit.case_stream(case_id)
    with app.app_context():
        stale = db.session.get(AuditHead, stream)
        assert stale is not None
        stored_seq = stale.seq
        # Another transaction moved the head after this session read it (as a concurrent append would).
        db.session.execute(update(AuditHead).where(AuditHead.stream == stream).values(seq=stored_seq))
        db.session.commit()
        stale = db.session.get(AuditHead, stream)
        assert stale is not None
        db.session.expire_all()
        stale.__dict__["seq"] = -1  # a stale value the session still holds, without marking it changed
        event = audit.append(stream, "uji", "verifikator", {"uji": 1}, case_id)
        assert event.seq == stored_seq + 1  # numbered after the stored head, not the stale copy
        head = db.session.get(AuditHead, stream)
        assert head is stale and head.seq == stored_seq + 1 and head.hash == event.hash
        db.session.commit()
        assert audit_verify.verify(stream) == []
        db.session.expire_all()
        stored = db.session.get(AuditHead, stream)
        assert stored is not None and stored.seq == stored_seq + 1


def test_a_head_first_read_for_an_append_joins_the_session_clean(app: Flask, api: Any) -> None:
    case_id = run_case(api)
    stream = audit.case_stream(case_id)
    with app.app_context():
        db.session.expunge_all()
        audit.append(stream, "uji", "verifikator", {"uji": 2}, case_id)
        head = db.session.get(AuditHead, stream)
        assert head is not None and head in db.session
        assert db.session.is_modified(head)  # moved by the append: the only change, written at the flush
        db.session.commit()
        assert audit_verify.verify(stream) == []


# A case's id as an SQL expression, as a step names its case's stream before it knows the id (built once: the
# statement that locks ahead is built once per expression).
_CASE_ID = bindparam("case_id", type_=Integer)


def _opened_case_stream(app: Flask, case_id: int) -> str:
    """PostgreSQL only (the head is locked ahead there): the stream of case `case_id` with one event, committed;
    in the app context."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the head is locked ahead on PostgreSQL only")
    stream = audit.case_stream(case_id)
    audit.append(stream, "stream_test", "tester", {"n": 0})
    db.session.commit()
    return stream


def test_a_head_the_transaction_holds_is_kept_when_its_stream_is_locked_ahead_again(app: Flask) -> None:
    """A second locking read of a held head (here by the case's id in SQL) must not replace the head the
    transaction appends to: it may carry appends not written yet, and the chain would fork."""
    with app.app_context():
        stream = _opened_case_stream(app, 424242)
        audit.append(stream, "step_completed", "tester", {"n": 1})  # not written yet
        head = db.session.get(AuditHead, stream)
        assert head is not None
        seq = head.seq
        with driver_sql.batch(db.session()):
            audit.lock_case_stream_ahead(_CASE_ID, {"case_id": 424242})
        assert db.session.get(AuditHead, stream) is head and head.seq == seq
        audit.append(stream, "step_completed", "tester", {"n": 2})
        db.session.commit()
        assert audit_verify.verify() == []
        seqs = db.session.execute(select(AuditEvent.seq).where(AuditEvent.stream == stream).order_by(AuditEvent.seq))
        assert list(seqs.scalars()) == [1, 2, 3]


def test_a_case_stream_locked_ahead_by_the_case_id_in_sql_is_the_one_appended_to(app: Flask) -> None:
    with app.app_context():
        stream = _opened_case_stream(app, 434343)
        with driver_sql.batch(db.session()):
            audit.lock_case_stream_ahead(_CASE_ID, {"case_id": 434343})
        head = db.session.get(AuditHead, stream)
        assert head is not None and head.seq == 1  # locked and adopted, as the first append would
        audit.append(stream, "step_completed", "tester", {"n": 1})
        db.session.commit()
        assert audit_verify.verify() == []
