"""Server-held keys follow their certificate: suspension on a compromise report, destruction on revocation, their log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pki.store import Connection

SCHEMA = """
-- Signing with a subject's server-held key is suspended while a key-compromise report is decided.
CREATE TABLE IF NOT EXISTS key_suspensions (
    subject_id TEXT PRIMARY KEY,
    serial_hex TEXT NOT NULL,
    suspended_at TEXT NOT NULL
);
-- RFC 5280 5.3.2 invalidity dates given with a revocation: from when the key is held compromised.
CREATE TABLE IF NOT EXISTS invalidity_dates (
    serial_hex TEXT PRIMARY KEY,
    invalidity_date TEXT NOT NULL
);
-- The PSrE's own append-only log of what happened to server-held keys.
CREATE TABLE IF NOT EXISTS key_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id TEXT NOT NULL,
    serial_hex TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('suspended', 'suspension_lifted', 'destroyed')),
    detail TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS key_events_serial ON key_events (serial_hex);
"""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyEvent:
    """One entry of the PSrE's key log (never key material)."""

    subject_id: str
    serial_hex: str
    event: str
    detail: str
    at: datetime


def record(conn: Connection, subject_id: str, serial: str, event: str, detail: str, now: datetime) -> None:
    """Append an event to the key log, inside the caller's transaction, and to the process log."""
    conn.execute(
        "INSERT INTO key_events (subject_id, serial_hex, event, detail, at) VALUES (?, ?, ?, ?, ?)",
        (subject_id, serial, event, detail, now.isoformat()),
    )
    logger.info("server-held key of certificate %s (subject %s): %s (%s)", serial, subject_id, event, detail)


def server_key_owner(conn: Connection, serial: str) -> str | None:
    """Return the subject whose current server-held key this certificate certifies, else None."""
    row = conn.execute("SELECT subject_id FROM server_key_certificates WHERE serial_hex = ?", (serial,)).fetchone()
    return None if row is None else str(row["subject_id"])


def is_suspended(conn: Connection, subject_id: str, serial: str) -> bool:
    """Tell whether signing with the subject's key certified by `serial` is suspended."""
    row = conn.execute(
        "SELECT 1 FROM key_suspensions WHERE subject_id = ? AND serial_hex = ?", (subject_id, serial)
    ).fetchone()
    return row is not None


def suspend(conn: Connection, subject_id: str, serial: str, now: datetime) -> None:
    """Suspend signing with the key (logged once, however often it is asked)."""
    if is_suspended(conn, subject_id, serial):
        return
    conn.execute(
        "INSERT INTO key_suspensions (subject_id, serial_hex, suspended_at) VALUES (?, ?, ?)"
        " ON CONFLICT (subject_id) DO UPDATE SET serial_hex = excluded.serial_hex, suspended_at = excluded.suspended_at",
        (subject_id, serial, now.isoformat()),
    )
    record(conn, subject_id, serial, "suspended", "key compromise reported", now)


def lift(conn: Connection, subject_id: str, serial: str, now: datetime) -> bool:
    """Lift a suspension; return whether there was one."""
    if not is_suspended(conn, subject_id, serial):
        return False
    conn.execute("DELETE FROM key_suspensions WHERE subject_id = ?", (subject_id,))
    record(conn, subject_id, serial, "suspension_lifted", "key compromise report rejected", now)
    return True


def destroy(conn: Connection, subject_id: str, serial: str, detail: str, now: datetime) -> None:
    """Destroy the subject's wrapped key so no passphrase can ever unwrap it again, and log it."""
    # Overwritten before the delete: the freed page must not keep the ciphertext readable on disk.
    conn.execute(
        "UPDATE esign_keys SET ciphertext = zeroblob(length(ciphertext)), kdf_salt = zeroblob(16),"
        " nonce = zeroblob(12) WHERE owner_id = ?",
        (subject_id,),
    )
    conn.execute("DELETE FROM esign_keys WHERE owner_id = ?", (subject_id,))
    conn.execute("DELETE FROM key_suspensions WHERE subject_id = ?", (subject_id,))
    record(conn, subject_id, serial, "destroyed", detail, now)


def key_destroyed(conn: Connection, serial: str) -> bool:
    """Tell whether the server-held key certified by `serial` was destroyed."""
    row = conn.execute("SELECT 1 FROM key_events WHERE serial_hex = ? AND event = 'destroyed'", (serial,)).fetchone()
    return row is not None


def events(conn: Connection, subject_id: str) -> list[KeyEvent]:
    """Return the subject's key log, oldest first."""
    rows = conn.execute(
        "SELECT subject_id, serial_hex, event, detail, at FROM key_events WHERE subject_id = ? ORDER BY id",
        (subject_id,),
    ).fetchall()
    return [
        KeyEvent(r["subject_id"], r["serial_hex"], r["event"], r["detail"], datetime.fromisoformat(r["at"]))
        for r in rows
    ]


def set_invalidity_date(conn: Connection, serial: str, when: datetime) -> None:
    """Record the invalidity date of a revoked certificate."""
    conn.execute(
        "INSERT INTO invalidity_dates (serial_hex, invalidity_date) VALUES (?, ?)"
        " ON CONFLICT (serial_hex) DO UPDATE SET invalidity_date = excluded.invalidity_date",
        (serial, when.isoformat()),
    )


def invalidity_date(conn: Connection, serial: str) -> datetime | None:
    """Return the invalidity date recorded for a certificate, or None."""
    row = conn.execute("SELECT invalidity_date FROM invalidity_dates WHERE serial_hex = ?", (serial,)).fetchone()
    return None if row is None else datetime.fromisoformat(row["invalidity_date"])
