"""The embedded PSrE's own state (SQLite file or PostgreSQL): schema, serialised writes, idempotency records."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from pki.errors import IdempotencyConflict

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
-- The NIK is never stored in clear: `pseudonym` (keyed hash) finds a subject by NIK, and the full
-- RA-verified record sits KEK-encrypted in `data_token`.
CREATE TABLE IF NOT EXISTS subjects (
    subject_id TEXT PRIMARY KEY,
    pseudonym TEXT NOT NULL UNIQUE,
    data_token BLOB NOT NULL,
    registered_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS certificates (
    serial_hex TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects (subject_id),
    spki_sha256 TEXT NOT NULL,
    pem TEXT NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('good', 'revoked')),
    revoked_at TEXT,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS certificates_subject ON certificates (subject_id);
CREATE INDEX IF NOT EXISTS certificates_spki ON certificates (spki_sha256);
-- Which certificate certifies a subject's server-held (eSign) key: at most one per subject.
CREATE TABLE IF NOT EXISTS server_key_certificates (
    subject_id TEXT PRIMARY KEY REFERENCES subjects (subject_id),
    serial_hex TEXT NOT NULL REFERENCES certificates (serial_hex)
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    result_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""

BUSY_TIMEOUT_SECONDS = 30.0
# Every writer of one PSrE takes this PostgreSQL advisory lock first: write transactions are serialised
# across threads and processes exactly as SQLite's BEGIN IMMEDIATE serialises them (serial/CRL numbers,
# idempotency records and LOCK counters are read and updated under it).
PG_WRITE_LOCK = 0x5345_5254_454C  # "SERTEL"


class Connection(Protocol):
    """What the PSrE's code uses of a connection: sqlite3's, or the PostgreSQL adapter below."""

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        """Run one statement (qmark parameters) and return a cursor with fetchone/fetchall."""
        ...

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any:
        """Run one statement for each parameter tuple."""
        ...


def _to_postgres(sql: str, parameters: bool = True) -> str:
    """Translate the PSrE's SQLite dialect: qmark parameters, BLOB, AUTOINCREMENT keys, rowid order."""
    if parameters:
        sql = sql.replace("%", "%%").replace("?", "%s")
    sql = re.sub(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", "BIGSERIAL PRIMARY KEY", sql)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
    sql = re.sub(r"\bzeroblob\((length\(\w+\)|\d+)\)", r"decode(repeat('00', \1), 'hex')", sql)
    # SQLite's implicit rowid (insertion order) is an explicit `seq` column on PostgreSQL.
    return re.sub(r"\browid\b", "seq", sql)


class PgConnection:
    """A psycopg connection that speaks the PSrE's SQLite dialect and returns rows by column name."""

    def __init__(self, raw: Any) -> None:
        """Wrap an open psycopg connection (dict rows)."""
        self.raw = raw

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        """Run one statement; without parameters also a script of several (the schema)."""
        if not parameters:
            return self.raw.execute(_to_postgres(sql, parameters=False))
        return self.raw.execute(_to_postgres(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any:
        """Run one statement for each parameter tuple."""
        cursor = self.raw.cursor()
        cursor.executemany(_to_postgres(sql), list(parameters))
        return cursor


def _postgres_schema(schema: str) -> str:
    """The SQLite schema for PostgreSQL: certificates get the `seq` column that stands for rowid."""
    return schema.replace("    reason TEXT\n);", "    reason TEXT,\n    seq BIGSERIAL\n);", 1)


class Store:
    """Everything the embedded PSrE knows: one SQLite file (`psre.sqlite3`), or a PostgreSQL database.

    `database_url` (e.g. `postgresql://user@host/psre?schema=psre`) puts the state on PostgreSQL, in its
    own schema when `schema` is given; without it the state is the SQLite file in `state_dir`.
    """

    def __init__(self, state_dir: Path, database_url: str | None = None) -> None:
        """Remember where the state lives; nothing is opened until first use."""
        self.path = Path(state_dir) / "psre.sqlite3"
        self.database_url = database_url or None
        self.is_postgres = bool(self.database_url) and str(self.database_url).startswith("postgres")
        if self.database_url and not self.is_postgres:
            raise ValueError("the PSrE store URL must be a postgresql:// URL (or empty for the SQLite file)")
        self._conninfo, self._schema = _conninfo(self.database_url) if self.is_postgres else ("", "")
        # One lock per PSrE state: stores in other schemas of the same database do not wait for each other.
        self._lock_key = PG_WRITE_LOCK + zlib.crc32(self._schema.encode())
        self._local = threading.local()
        self._created = False

    def exists(self) -> bool:
        """Tell whether the state has been created."""
        if not self.is_postgres:
            return self.path.exists()
        if not self._created:
            with self.read() as conn:
                row = conn.execute("SELECT to_regclass('meta') IS NOT NULL AS present").fetchone()
            self._created = bool(row["present"])
        return self._created

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the module must not open transactions behind our back; we issue
        # BEGIN IMMEDIATE ourselves so the write lock is taken before the first read (no upgrade races).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _pg(self) -> Any:
        """This thread's PostgreSQL connection (one per thread and process; a forked child opens its own)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and (self._local.pid != os.getpid() or conn.closed or conn.broken):
            conn = None
        if conn is None:
            conn = psycopg.connect(self._conninfo, autocommit=True, row_factory=dict_row)
            if self._schema:
                conn.execute(f'SET search_path TO "{self._schema}"')
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def create_schema(self, schema: str = SCHEMA) -> None:
        """Create the state and the tables if missing (SQLite: the owner-only file, in WAL mode)."""
        if self.is_postgres:
            raw = self._pg()
            if self._schema:
                raw.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            with self.write() as conn:
                conn.execute(_postgres_schema(schema))
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = not self.path.exists()
        conn = self._connect()
        try:
            # WAL lets readers (CRL/OCSP) proceed while a writer holds the lock; it is persistent.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(schema)
        finally:
            conn.close()
        if fresh:
            os.chmod(self.path, 0o600)

    def columns(self, conn: Connection, table: str) -> set[str]:
        """The column names of a table."""
        if self.is_postgres:
            rows = conn.execute(
                "SELECT column_name AS name FROM information_schema.columns"
                " WHERE table_name = ? AND table_schema = current_schema()",
                (table,),
            ).fetchall()
        else:
            rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
        return {str(row["name"]) for row in rows}

    @contextmanager
    def _pg_transaction(self, write: bool) -> Iterator[Connection]:
        raw = self._pg()
        # A block nested in another of this thread (e.g. a read while writing) runs as a savepoint of it.
        outermost = raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with raw.transaction():
            if write:
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            elif outermost:
                # A consistent snapshot, as a read transaction under SQLite's WAL gives.
                raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield PgConnection(raw)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Run a block in one write transaction, serialised across threads and processes."""
        if self.is_postgres:
            with self._pg_transaction(write=True) as pg:
                yield pg
            return
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Run a block in one read transaction (a consistent snapshot)."""
        if self.is_postgres:
            with self._pg_transaction(write=False) as pg:
                yield pg
            return
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()


def _conninfo(url: str | None) -> tuple[str, str]:
    """A libpq URL from an SQLAlchemy-style one (`postgresql+psycopg://…`), and the `schema` it names."""
    parts = urlsplit(str(url))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    schema = dict(parse_qsl(parts.query)).get("schema", "")
    if schema and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise ValueError("the PSrE store schema must be a lower-case SQL identifier")
    scheme = parts.scheme.split("+", 1)[0]
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment)), schema


def get_meta(conn: Connection, name: str) -> bytes | None:
    """Return a meta value, or None when absent."""
    row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return None if row is None else bytes(row["value"])


def set_meta(conn: Connection, name: str, value: bytes) -> None:
    """Insert or replace a meta value."""
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def replay(conn: Connection, key: str, operation: str, request_digest: str) -> tuple[bool, Any]:
    """Return (True, first result) if this key was already used for this request, else (False, None)."""
    row = conn.execute(
        "SELECT operation, request_digest, result_json FROM idempotency WHERE key = ?", (key,)
    ).fetchone()
    if row is None:
        return False, None
    if row["operation"] != operation or row["request_digest"] != request_digest:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different {row['operation']} request"
        )
    return True, json.loads(row["result_json"])


def remember(conn: Connection, key: str, operation: str, request_digest: str, result: Any, now: str) -> None:
    """Record the result of a successful mutating call under its idempotency key."""
    conn.execute(
        "INSERT INTO idempotency (key, operation, request_digest, result_json, created_at) VALUES (?, ?, ?, ?, ?)",
        (key, operation, request_digest, json.dumps(result, sort_keys=True), now),
    )
