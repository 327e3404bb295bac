"""Server-held eSign keys: wrapped under a key derived from the owner's passphrase, with LOCK on abuse."""

from __future__ import annotations

import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pki.errors import LOCKED_MESSAGE, KeyLocked, NoServerKey, UnsupportedKey, WeakPassphrase, WrongPassphrase
from pki.keywrap import CaPrivateKey
from pki.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS esign_keys (
    owner_id TEXT PRIMARY KEY,
    kdf_salt BLOB NOT NULL,
    kdf_n INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at TEXT,
    created_at TEXT NOT NULL
);
"""
MIN_PASSPHRASE_LENGTH = 8
MAX_PASSPHRASE_LENGTH = 256
# scrypt r=8: n=2^15 costs 32 MiB and ~0.1 s per attempt, bearable per signature in a web worker while
# making offline guessing of a stolen row expensive. Stored per row, so it can be raised later.
DEFAULT_SCRYPT_N = 2**15


@dataclass(frozen=True)
class SealedKey:
    """A private key encrypted under a passphrase-derived key, ready to be stored."""

    owner_id: str
    salt: bytes
    kdf_n: int
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class KeyState:
    """What the RA may see about a server-held key: never the key, never the passphrase."""

    owner_id: str
    failed_attempts: int
    locked: bool


def check_passphrase(passphrase: str, min_length: int = MIN_PASSPHRASE_LENGTH) -> None:
    """Enforce the passphrase rules: min_length (default 8)..256 characters with a letter and a digit."""
    if not max(min_length, 1) <= len(passphrase) <= MAX_PASSPHRASE_LENGTH:
        raise WeakPassphrase(f"passphrase must be {min_length} to {MAX_PASSPHRASE_LENGTH} characters")
    if not re.search(r"[^\W\d_]", passphrase) or not re.search(r"\d", passphrase):
        raise WeakPassphrase("passphrase must contain letters and digits")


def _derive(passphrase: str, salt: bytes, n: int) -> bytes:
    # NFKC: the same passphrase typed on a phone or a PC keyboard must give the same bytes.
    secret = unicodedata.normalize("NFKC", passphrase).encode("utf-8")
    return Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(secret)


class KeyStore:
    """Owner keys in the PSrE's SQLite file; each unlock attempt is counted before it is tried."""

    def __init__(
        self,
        state_dir: Path,
        max_attempts: int = 5,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        min_passphrase_length: int = MIN_PASSPHRASE_LENGTH,
    ) -> None:
        """Configure the store; tables are created by `initialise()`."""
        self.store = Store(state_dir)
        self.min_passphrase_length = min_passphrase_length
        self.max_attempts = max_attempts
        self.scrypt_n = scrypt_n
        self.clock = clock

    def initialise(self) -> None:
        """Create the key table if missing (idempotent)."""
        self.store.create_schema(SCHEMA)

    def store_key(self, owner_id: str, private_key: CaPrivateKey, passphrase: str) -> None:
        """Wrap a key under the passphrase; replaces any previous key and lifts a LOCK (reset, 088.13)."""
        sealed = self.seal(owner_id, private_key, passphrase)
        with self.store.write() as conn:
            self.put(conn, sealed)

    def seal(self, owner_id: str, private_key: CaPrivateKey, passphrase: str) -> SealedKey:
        """Encrypt a key under the passphrase (slow KDF) without touching the database."""
        if not isinstance(private_key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise UnsupportedKey("only EC and RSA keys can be stored")
        check_passphrase(passphrase, self.min_passphrase_length)
        salt, nonce = os.urandom(16), os.urandom(12)
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # The owner id is authenticated data: a row copied onto another owner does not decrypt.
        ciphertext = AESGCM(_derive(passphrase, salt, self.scrypt_n)).encrypt(nonce, der, owner_id.encode())
        return SealedKey(owner_id, salt, self.scrypt_n, nonce, ciphertext)

    def put(self, conn: sqlite3.Connection, sealed: SealedKey) -> None:
        """Store a sealed key inside the caller's transaction (so a certificate and its key commit together)."""
        conn.execute(
            "INSERT INTO esign_keys (owner_id, kdf_salt, kdf_n, nonce, ciphertext, failed_attempts,"
            " locked_at, created_at) VALUES (?, ?, ?, ?, ?, 0, NULL, ?)"
            " ON CONFLICT (owner_id) DO UPDATE SET kdf_salt = excluded.kdf_salt, kdf_n = excluded.kdf_n,"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext, failed_attempts = 0,"
            " locked_at = NULL, created_at = excluded.created_at",
            (sealed.owner_id, sealed.salt, sealed.kdf_n, sealed.nonce, sealed.ciphertext, self.clock().isoformat()),
        )

    def unlock(self, owner_id: str, passphrase: str) -> CaPrivateKey:
        """Return the owner's private key, or count a wrong attempt and LOCK at the limit."""
        # Step 1, under the write lock: refuse if locked, else reserve this attempt by counting it as
        # failed up front. However many requests race, at most max_attempts guesses are ever tried,
        # and a crash mid-attempt errs on the safe side (counted).
        with self.store.write() as conn:
            row = conn.execute("SELECT * FROM esign_keys WHERE owner_id = ?", (owner_id,)).fetchone()
            if row is None:
                raise NoServerKey(f"no server-held key for {owner_id!r}")
            if row["locked_at"] is not None or row["failed_attempts"] >= self.max_attempts:
                raise KeyLocked(LOCKED_MESSAGE)
            conn.execute("UPDATE esign_keys SET failed_attempts = failed_attempts + 1 WHERE owner_id = ?", (owner_id,))
            reserved = int(row["failed_attempts"]) + 1
        # Step 2, outside the lock: the slow KDF must not serialise every owner's signing.
        key = _derive(passphrase, bytes(row["kdf_salt"]), int(row["kdf_n"]))
        try:
            der = AESGCM(key).decrypt(bytes(row["nonce"]), bytes(row["ciphertext"]), owner_id.encode())
        except InvalidTag:
            self._finish_failure(owner_id)
            raise WrongPassphrase(max(self.max_attempts - reserved, 0)) from None
        # Step 3: success clears the consecutive-failure count.
        with self.store.write() as conn:
            conn.execute("UPDATE esign_keys SET failed_attempts = 0 WHERE owner_id = ?", (owner_id,))
        loaded = serialization.load_der_private_key(der, password=None)
        assert isinstance(loaded, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey))
        return loaded

    def _finish_failure(self, owner_id: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                "UPDATE esign_keys SET locked_at = ? WHERE owner_id = ? AND locked_at IS NULL AND failed_attempts >= ?",
                (self.clock().isoformat(), owner_id, self.max_attempts),
            )

    def state(self, owner_id: str) -> KeyState:
        """Return the attempt count and LOCK flag of an owner's key."""
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT failed_attempts, locked_at FROM esign_keys WHERE owner_id = ?", (owner_id,)
            ).fetchone()
        if row is None:
            raise NoServerKey(f"no server-held key for {owner_id!r}")
        locked = row["locked_at"] is not None or row["failed_attempts"] >= self.max_attempts
        return KeyState(owner_id=owner_id, failed_attempts=int(row["failed_attempts"]), locked=locked)

    def delete_key(self, owner_id: str) -> None:
        """Destroy an owner's key (after revocation or reset); missing keys are ignored."""
        with self.store.write() as conn:
            conn.execute("DELETE FROM esign_keys WHERE owner_id = ?", (owner_id,))
