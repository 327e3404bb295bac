"""The append-only event log: keyed chain links, the stream registry and the global sequence.

Design (see docs/audit.md):
- Each stream (a case, "system", ...) is a chain: an event's link (`hash`) is an HMAC-SHA256, under a key
  derived from the KEK (`audit_keys`), over the event and the previous link. Without the KEK nobody can
  recompute links, so an edit, a deletion or a re-chaining with plain SHA-256 or any other key shows.
- Appends to one stream are serialised by its AuditHead row (SELECT ... FOR UPDATE on PostgreSQL); appends
  to different streams do not wait for each other.
- Every event carries a global sequence `gseq` (a PostgreSQL SEQUENCE: no row lock, numbers may have gaps
  after a rollback; on SQLite, whose writers are serialised by the database, max + 1), covered by its MAC:
  it orders events across streams and must grow along each chain.
- The first event of a new stream first appends "stream_opened" to the REGISTRY stream, so verify knows
  every stream that must exist; only opening a stream (once per case) waits on the registry head.
- Anchors (`audit_anchor`) timestamp and seal the heads that moved, so a truncated tail or a deleted
  stream is found even when the attacker also rewrites the head rows.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, String, bindparam, cast, func, literal, select
from sqlalchemy import event as orm_event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.models import AuditEvent, AuditHead, db
from engine.models.base import utcnow
from engine.models.records import AUDIT_GSEQ
from engine.services import adopt, audit_keys, driver_sql, row_writes

GENESIS = "0" * 64
# The columns an appended event is written with, the id first (left to PostgreSQL's sequence, which numbers it).
_COLUMNS = ("id", *(column.key for column in AuditEvent.__table__.columns if column.key != "id"))
# How many global sequence numbers a PostgreSQL transaction takes at once (see _next_gseq).
GSEQ_BLOCK = 8
REGISTRY = "registry"
ANCHORS = "anchor"


CASE_STREAM_PREFIX = "case:"


def case_stream(instance_id: int) -> str:
    """The stream name of a case's events."""
    return f"{CASE_STREAM_PREFIX}{instance_id}"


def system_stream(kind: str, moment: datetime | None = None) -> str:
    """The stream of a frequent system event: one per kind and UTC day, e.g. "login:2026-12-03".

    Logins, validations and signings each append to their own day's stream instead of all to "system",
    so they do not all queue on one head row; each stream is opened in the registry like any other.
    """
    return f"{kind}:{(moment or utcnow()):%Y-%m-%d}"


@dataclass(slots=True)
class PendingEvent:
    """An appended event before it is written: the columns of its audit_events row, as a plain object.

    Building an ORM object per event (instrumented attributes, instance state) cost more than its HMAC and
    JSON together; the events are written as plain rows anyway (`_write_pending`). The id is SQLite's counted
    one, or None where PostgreSQL numbers the row.
    """

    stream: str
    seq: int
    gseq: int
    key_id: str
    instance_id: int | None
    at: datetime
    actor: str
    kind: str
    task_name: str | None
    payload_json: str
    prev_hash: str
    hash: str = ""
    id: int | None = None


# An event as stored (read back by verify and replay) or as appended: both have the columns a link covers.
Event = AuditEvent | PendingEvent


def material(event: Event, seq: int | None = None) -> bytes:
    """The bytes an event's link covers (with another `seq` to test whether a pair was swapped)."""
    fields = [
        event.stream,
        event.seq if seq is None else seq,
        event.gseq,
        event.at.isoformat(),
        event.actor,
        event.kind,
        event.task_name,
        event.payload_json,
        event.prev_hash,
        event.key_id,
    ]
    return json.dumps(fields, ensure_ascii=False).encode("utf-8")


def link(event: Event, mac_key: bytes, seq: int | None = None) -> str:
    """The keyed link of an event: HMAC-SHA256 over its material."""
    return hmac.new(mac_key, material(event, seq), hashlib.sha256).hexdigest()


def plain_digest(event: Event) -> str:
    """What a forger without the key would compute: SHA-256 over the same material."""
    return hashlib.sha256(material(event)).hexdigest()


# Per transaction (kept in the session's `info`, dropped at commit and rollback): the heads this
# transaction has locked, and on SQLite the next global sequence number.
_TX = "sertel_audit_tx"


def _tx() -> dict[str, Any]:
    state: dict[str, Any] = db.session.info.setdefault(_TX, {"heads": {}, "gseq": None, "block": [], "pending": []})
    return state


@orm_event.listens_for(Session, "after_flush")
def _write_after_flush(session: Session, _context: Any) -> None:
    _write_pending(session)


def write_events(session: Session) -> None:
    """Write the events appended so far now, for a caller that wrote its rows without a flush (row_writes)."""
    _write_pending(session)


@orm_event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    _write_pending(session)


def _write_pending(session: Session) -> None:
    """Write the events appended since the last write, in one executemany, without the ORM's unit of work.

    An append changes its stream's head, so the session is dirty and flushes before any query (autoflush) and
    at commit: the events are written right after that flush's rows (a new case's, which an event names).
    As plain rows they need no RETURNING of their ids and no ORM bookkeeping (docs/benchmarks.md).
    """
    state = session.info.get(_TX)
    pending: list[PendingEvent] = state.get("pending") if state else []
    if not pending:
        return
    state["pending"] = []  # type: ignore[index]  # state exists when pending is not empty
    # Every row has the same keys (an executemany takes its columns from the first); the id only where SQLite's
    # was counted (_number_on_sqlite): all of a transaction's events have one, or none.
    columns = _COLUMNS if pending[0].id is not None else _COLUMNS[1:]
    rows = [{column: getattr(event, column) for column in columns} for event in pending]
    row_writes.insert_rows(session, AuditEvent, rows)


@orm_event.listens_for(Session, "after_commit")
@orm_event.listens_for(Session, "after_soft_rollback")
def _forget_transaction(session: Session, *_args: Any) -> None:
    session.info.pop(_TX, None)


@orm_event.listens_for(Session, "after_transaction_end")
def _forget_ended_transaction(session: Session, transaction: Any) -> None:
    # Also when the session is closed without a commit or rollback: the counted numbers and ids (SQLite) and
    # the locked heads belong to the database transaction that ended.
    if transaction.parent is None:
        session.info.pop(_TX, None)


def _locked_head(stream: str) -> AuditHead | None:
    """The stream's head row, locked for this transaction (read and locked once per transaction)."""
    heads: dict[str, AuditHead] = _tx()["heads"]
    head = heads.get(stream)
    if head is not None and head in db.session:
        return head
    if db.session.get_bind().dialect.name == "postgresql":
        # The lock and a fresh block of global numbers in one round trip (see _lock_and_number).
        return _take_locked(driver_sql.rows(db.session(), _lock_and_number(), {"stream": stream}))
    head = _read_head_on_sqlite(stream)
    if head is not None:
        heads[stream] = head
        _tx()["block"] = []
    return head


def lock_case_stream_ahead(instance_id: Any, params: dict[str, Any]) -> None:
    """Lock the head of the stream of the case whose id the SQL expression `instance_id` gives (with `params` for
    its bound values; built once per process: pass the same object each time), ahead of this transaction's first
    append to it: in an open driver_sql batch, with the batch's other statements (one round trip for all on
    PostgreSQL). The lock is the one the first append takes; the caller's lock order must allow taking it here
    (a case's stream after the case's rows). A head this transaction already holds is kept (`_take_locked`).

    PostgreSQL only: SQLite's head is read at the first append, as without this (its writers hold the whole
    database's lock). A stream without a head yet is opened at its first append, as always.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    driver_sql.later(db.session(), _lock_and_number(_case_stream_sql(instance_id)), params, then=_take_locked)


@functools.cache
def _case_stream_sql(instance_id: Any) -> Any:
    """`case_stream` as an SQL expression of the case's id (built once per expression)."""
    return literal(CASE_STREAM_PREFIX) + cast(instance_id, String)


def _take_locked(found: list[tuple[Any, ...]]) -> AuditHead | None:
    """PostgreSQL: adopt a head row `_lock_and_number` read, with its block of global numbers.

    A head this transaction already holds is kept as it is (it may hold appends not written yet); the numbers
    drawn with the second read are left unused (a gap in the global sequence, as a rollback leaves)."""
    row = next(iter(found), None)
    if row is None:
        return None
    stream = row[0]
    heads = _tx()["heads"]
    if heads.get(stream) is not None and heads[stream] in db.session:
        return heads[stream]  # type: ignore[no-any-return]
    head = _adopt(*row[:4])
    heads[stream] = head
    # Numbers fetched before this lock may be lower than the stream's last: only those fetched under it count.
    _tx()["block"] = sorted(int(n) for n in row[4])
    return head


def _read_head_on_sqlite(stream: str) -> AuditHead | None:
    """SQLite: read a stream's head; in a transaction that holds the writer lock and has not numbered an event
    yet, where the global sequence and the event ids stand too, in the same statement (see _number_on_sqlite)."""
    state = _tx()
    numbered = state["gseq"] is None and _sqlite_holds_write_lock()
    row = next(iter(driver_sql.rows(db.session(), _read_head(numbered), {"stream": stream})), None)
    if row is None:
        return None
    if numbered:
        top, last_id = row[4:6]
        state["gseq"], state["id"] = int(top) + 1, int(last_id) + 1
    return _adopt(*row[:4])


def _adopt(stream: str, seq: int, link: str, anchored_seq: int) -> AuditHead:
    """The session's AuditHead for a head row just read under its lock, without the ORM's loading machinery
    (it cost more than the locking read itself)."""
    values = {"stream": stream, "seq": seq, "hash": link, "anchored_seq": anchored_seq}
    return adopt.adopt(db.session(), AuditHead, values)  # type: ignore[no-any-return]


@functools.cache
def _read_head(numbered: bool = False) -> Select[Any]:
    """SQLite: a stream's head (with `numbered`, also the highest gseq and id), built once per shape."""
    columns: list[Any] = [AuditHead.stream, AuditHead.seq, AuditHead.hash, AuditHead.anchored_seq]
    if numbered:
        columns += list(sqlite_numbering_query().selected_columns)
    return select(*columns).where(AuditHead.stream == bindparam("stream")).with_for_update()


@functools.cache
def _lock_and_number(stream: Any = None) -> Select[Any]:
    """PostgreSQL: lock a stream's head and take GSEQ_BLOCK global numbers while holding it, in one statement.

    The locking read is a MATERIALIZED CTE and the numbers a subquery correlated with its row, so they are
    drawn when the locked row comes out of the CTE: after the lock is granted (a query whose own select list
    called nextval would draw them before waiting for the lock). `stream`: an SQL expression naming the stream
    (default: the bound `stream`). Built once per process (and per expression).
    """
    locked = (
        select(AuditHead)
        .where(AuditHead.stream == (bindparam("stream") if stream is None else stream))
        .with_for_update()
        .cte("locked_head")
        .prefix_with("MATERIALIZED")
    )
    numbers = (
        select(func.array_agg(AUDIT_GSEQ.next_value()))
        .select_from(func.generate_series(1, GSEQ_BLOCK))
        .where(locked.c.seq.is_not(None))
        .scalar_subquery()
    )
    return select(locked.c.stream, locked.c.seq, locked.c.hash, locked.c.anchored_seq, numbers)


def _open_stream(stream: str, actor: str) -> AuditHead:
    """Create a stream's head row and register the stream; safe when two transactions open it at once.

    The head is inserted with ON CONFLICT DO NOTHING: of concurrent openers (two first logins of a day),
    one creates it and appends "stream_opened" to the registry; the others wait for that one to commit
    and then lock the head it made, instead of failing on the primary key.
    """
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = db.session.execute(
        insert(AuditHead)
        .values(stream=stream, seq=0, hash=GENESIS, anchored_seq=0)
        .on_conflict_do_nothing()
        .returning(AuditHead.stream)
    ).first()
    if created is not None and stream != REGISTRY:
        append(REGISTRY, "stream_opened", actor, {"stream": stream})
    head = db.session.get(AuditHead, stream, with_for_update=True, populate_existing=True)
    assert head is not None  # inserted above, by this transaction or a committed one
    _tx()["heads"][stream] = head
    _tx()["block"] = []
    return head


def _next_gseq() -> int:
    """The next global sequence number (see the module docstring for why this is safe on both databases)."""
    state = _tx()
    if db.session.get_bind().dialect.name == "postgresql":
        if not state["block"]:
            # A few numbers at once, fetched while this transaction holds every head it appends to: each
            # is above any number an earlier holder of those heads used, so gseq still grows along every
            # chain. The block is dropped when another head is locked and at the end of the transaction
            # (unused numbers are gaps, like those of rolled-back transactions). No autoflush: pending
            # events and the head change are written together, later.
            with db.session.no_autoflush:
                fetched = db.session.execute(
                    select(AUDIT_GSEQ.next_value()).select_from(func.generate_series(1, GSEQ_BLOCK))
                ).scalars()
                state["block"] = sorted(int(n) for n in fetched)
        return int(state["block"].pop(0))
    if state["gseq"] is None:
        _number_on_sqlite(state)
    number = int(state["gseq"])
    state["gseq"] = number + 1
    return number


def _number_on_sqlite(state: dict[str, Any]) -> None:
    """Read where SQLite's global sequence and event ids stand, once per transaction, under the writer lock."""
    # This transaction must hold SQLite's single writer lock (until it ends) before the max read below, so
    # that the max is current and no other transaction can take a number until we commit: the numbers that
    # follow are counted here, without reading max again. pysqlite opens a transaction only with a write
    # (or begin_write's BEGIN IMMEDIATE), so a connection in a transaction holds the lock already;
    # otherwise write first (the head row the caller just moved).
    if not _sqlite_holds_write_lock():
        db.session.flush()
    with db.session.no_autoflush:  # the head change is written with the events, later
        top, last_id = db.session.execute(sqlite_numbering_query()).one()
    state["gseq"] = int(top) + 1
    # The ids SQLite would give (max + 1, counted on: no other writer until commit), given up front so the
    # ORM writes a flush's events with one executemany instead of one INSERT each (it needs each new
    # row's id, and SQLite offers no INSERT ... RETURNING in a guaranteed order).
    state["id"] = int(last_id) + 1


@functools.cache
def sqlite_numbering_query() -> Select[int, int]:
    """The highest gseq and id, as two scalar subqueries: each is answered from an index by SQLite's min/max
    optimisation, where one query with two aggregates would scan the whole table. Built once per process."""
    return select(
        func.coalesce(select(func.max(AuditEvent.gseq)).scalar_subquery(), 0),
        func.coalesce(select(func.max(AuditEvent.id)).scalar_subquery(), 0),
    )


def _next_sqlite_id() -> int | None:
    """On SQLite, the id of the next event of this transaction (see _number_on_sqlite); None elsewhere."""
    state = _tx()
    number: int | None = state.get("id")
    if number is not None:
        state["id"] = number + 1
    return number


def _sqlite_holds_write_lock() -> bool:
    """Tell whether this session's SQLite connection is inside a transaction (so it holds the writer lock)."""
    dbapi_connection = db.session.connection().connection.dbapi_connection
    return bool(dbapi_connection is not None and dbapi_connection.in_transaction)


def append(
    stream: str,
    kind: str,
    actor: str,
    payload: dict[str, Any] | None = None,
    instance_id: int | None = None,
    task_name: str | None = None,
) -> PendingEvent:
    """Append an event to `stream`; the caller's transaction commits it with the change it records.

    The head row is locked at the transaction's first append to the stream; later appends in the same
    transaction reuse it, and the ORM writes the head once at the next flush (so a step's events cost
    one head read, their INSERTs and one head UPDATE, not a lock, an INSERT and two UPDATEs each).
    """
    head = _locked_head(stream) or _open_stream(stream, actor)
    kid, mac_key = audit_keys.current()
    seq, prev_hash = head.seq + 1, head.hash
    head.seq = seq  # claim the position before numbering it (see _next_gseq)
    gseq = _next_gseq()
    event = PendingEvent(
        id=_next_sqlite_id(),
        stream=stream,
        seq=seq,
        gseq=gseq,
        key_id=kid,
        instance_id=instance_id,
        at=utcnow(),
        actor=actor,
        kind=kind,
        task_name=task_name,
        payload_json=json.dumps(payload or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str),
        prev_hash=prev_hash,
    )
    event.hash = link(event, mac_key)
    _tx()["pending"].append(event)
    head.hash = event.hash
    # No write here: the events are written after the next flush's rows or at commit (_write_pending), where a
    # concurrent append to the same stream that slipped past the lock (none should) fails on (stream, seq). The
    # event returned is a plain object, not in the session (its id is None on PostgreSQL, which numbers it).
    return event


def events_of_case(instance_id: int) -> list[AuditEvent]:
    """A case's events in order."""
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.stream == case_stream(instance_id)).order_by(AuditEvent.seq)
        ).scalars()
    )


def describe_time(moment: datetime | None) -> str:
    """A stored (UTC) time as verify reports show it: in WIB, as people in Pekalongan read times."""
    if moment is None:
        return "waktu tidak diketahui"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(timezone(timedelta(hours=7))).strftime("%Y-%m-%d %H:%M:%S WIB")
