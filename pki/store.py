"""The embedded PSrE's own SQLite state: schema, serialised write transactions, idempotency records."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


class Store:
    """One SQLite file (`psre.sqlite3`) holding everything the embedded PSrE knows."""

    def __init__(self, state_dir: Path) -> None:
        """Remember where the state lives; nothing is opened until first use."""
        self.path = Path(state_dir) / "psre.sqlite3"

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the module must not open transactions behind our back; we issue
        # BEGIN IMMEDIATE ourselves so the write lock is taken before the first read (no upgrade races).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def create_schema(self, schema: str = SCHEMA) -> None:
        """Create the directory, the file (owner-only) and the tables if missing; switch to WAL."""
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

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one BEGIN IMMEDIATE transaction: serialised across threads and processes."""
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
    def read(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one read transaction (a consistent snapshot under WAL)."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()


def get_meta(conn: sqlite3.Connection, name: str) -> bytes | None:
    """Return a meta value, or None when absent."""
    row = conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
    return None if row is None else bytes(row["value"])


def set_meta(conn: sqlite3.Connection, name: str, value: bytes) -> None:
    """Insert or replace a meta value."""
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


def replay(conn: sqlite3.Connection, key: str, operation: str, request_digest: str) -> tuple[bool, Any]:
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


def remember(conn: sqlite3.Connection, key: str, operation: str, request_digest: str, result: Any, now: str) -> None:
    """Record the result of a successful mutating call under its idempotency key."""
    conn.execute(
        "INSERT INTO idempotency (key, operation, request_digest, result_json, created_at) VALUES (?, ?, ?, ?, ?)",
        (key, operation, request_digest, json.dumps(result, sort_keys=True), now),
    )
