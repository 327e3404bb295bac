"""Server-held eSign keys: wrapped under a key derived from the owner's passphrase, with LOCK on abuse."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pki.errors import (
    LOCKED_MESSAGE,
    KeyDecryptionFailed,
    KeyLocked,
    NoServerKey,
    UnsupportedKey,
    WeakPassphrase,
    WrongPassphrase,
)
from pki.keywrap import CaPrivateKey, rewrap, unwrap_secret, wrap_secret
from pki.store import Connection, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS esign_keys (
    owner_id TEXT PRIMARY KEY,
    kdf_salt BLOB NOT NULL,
    kdf_n INTEGER NOT NULL,
    nonce BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_at TEXT,
    created_at TEXT NOT NULL,
    format INTEGER NOT NULL DEFAULT 1,
    serial_hex TEXT NOT NULL DEFAULT '',
    kek_wrapped INTEGER NOT NULL DEFAULT 0
);
"""
# Columns added by format 2, for stores created before it (CREATE TABLE IF NOT EXISTS adds none).
FORMAT_2_COLUMNS = (
    ("format", "INTEGER NOT NULL DEFAULT 1"),
    ("serial_hex", "TEXT NOT NULL DEFAULT ''"),
    ("kek_wrapped", "INTEGER NOT NULL DEFAULT 0"),
)
# Format 1: AES-GCM under scrypt(passphrase), owner id as AAD, stored in clear. Still opened, and
# KEK-wrapped by rotate_keks(). Format 2: the AAD binds the KDF parameters, owner and certificate serial,
# and the AEAD output is KEK-wrapped, so a stolen store alone cannot confirm a single passphrase guess.
CURRENT_FORMAT = 2
SCRYPT_R, SCRYPT_P = 8, 1
MIN_PASSPHRASE_LENGTH = 8
MAX_PASSPHRASE_LENGTH = 256
# scrypt r=8: n=2^17 (OWASP's minimum) costs 128 MiB and ~0.4 s per attempt, bearable per signature in a
# web worker while making offline guessing expensive. Stored per row, so it can be raised later.
DEFAULT_SCRYPT_N = 2**17


@dataclass(frozen=True)
class SealedKey:
    """A private key and its passphrase-derived wrapping key; encrypted by `put` once its serial is known."""

    owner_id: str
    salt: bytes
    kdf_n: int
    wrapping_key: bytes
    der: bytes = dataclass_field(repr=False)


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
    return Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(secret)


def _associated_data(fmt: int, owner_id: str, serial_hex: str, salt: bytes, n: int) -> bytes:
    """What the AEAD authenticates besides the key: a row edited or moved to another owner, certificate
    or KDF cost does not decrypt."""
    if fmt == 1:
        return owner_id.encode()
    fields = {"format": fmt, "owner": owner_id, "serial": serial_hex, "kdf": "scrypt", "n": n}
    fields |= {"r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()}
    return b"sertel-esign-key:" + json.dumps(fields, sort_keys=True).encode()


class KeyStore:
    """Owner keys in the PSrE's SQLite file; each unlock attempt is counted before it is tried."""

    def __init__(
        self,
        state_dir: Path,
        kek_keys: list[str],
        max_attempts: int = 5,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        min_passphrase_length: int = MIN_PASSPHRASE_LENGTH,
        store: Store | None = None,
    ) -> None:
        """Configure the key store (in `store`, else the SQLite file in `state_dir`); tables come from `initialise()`."""
        self.store = store or Store(state_dir)
        self.kek_keys = list(kek_keys)
        self.min_passphrase_length = min_passphrase_length
        self.max_attempts = max_attempts
        self.scrypt_n = scrypt_n
        self.clock = clock

    def initialise(self) -> None:
        """Create the key table if missing, and add the format 2 columns to an older one (idempotent)."""
        self.store.create_schema(SCHEMA)
        with self.store.write() as conn:
            present = self.store.columns(conn, "esign_keys")
            for name, declaration in FORMAT_2_COLUMNS:
                if name not in present:
                    conn.execute(f"ALTER TABLE esign_keys ADD COLUMN {name} {declaration}")

    def rotate_keks(self) -> int:
        """KEK-wrap every row under the first KEK (legacy rows for the first time); return how many."""
        count = 0
        with self.store.write() as conn:
            for row in conn.execute("SELECT owner_id, ciphertext, kek_wrapped FROM esign_keys").fetchall():
                blob = bytes(row["ciphertext"])
                token = rewrap(blob, self.kek_keys) if row["kek_wrapped"] else wrap_secret(blob, self.kek_keys)
                conn.execute(
                    "UPDATE esign_keys SET ciphertext = ?, kek_wrapped = 1 WHERE owner_id = ?", (token, row["owner_id"])
                )
                count += 1
        return count

    def store_key(self, owner_id: str, private_key: CaPrivateKey, passphrase: str, serial_hex: str = "") -> None:
        """Wrap a key under the passphrase; replaces any previous key and lifts a LOCK (reset, 088.13)."""
        sealed = self.seal(owner_id, private_key, passphrase)
        with self.store.write() as conn:
            self.put(conn, sealed, serial_hex)

    def seal(self, owner_id: str, private_key: CaPrivateKey, passphrase: str, check: bool = True) -> SealedKey:
        """Derive the wrapping key from the passphrase (slow KDF) without touching the database.

        `check=False` only for re-sealing under a passphrase that already opened the key (older rules).
        """
        if not isinstance(private_key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
            raise UnsupportedKey("only EC and RSA keys can be stored")
        if check:
            check_passphrase(passphrase, self.min_passphrase_length)
        salt = os.urandom(16)
        der = private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return SealedKey(owner_id, salt, self.scrypt_n, _derive(passphrase, salt, self.scrypt_n), der)

    def put(self, conn: Connection, sealed: SealedKey, serial_hex: str) -> None:
        """Encrypt and store a key for its certificate inside the caller's transaction (they commit together)."""
        nonce = os.urandom(12)
        aad = _associated_data(CURRENT_FORMAT, sealed.owner_id, serial_hex, sealed.salt, sealed.kdf_n)
        token = wrap_secret(AESGCM(sealed.wrapping_key).encrypt(nonce, sealed.der, aad), self.kek_keys)
        conn.execute(
            "INSERT INTO esign_keys (owner_id, kdf_salt, kdf_n, nonce, ciphertext, failed_attempts,"
            " locked_at, created_at, format, serial_hex, kek_wrapped) VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, 1)"
            " ON CONFLICT (owner_id) DO UPDATE SET kdf_salt = excluded.kdf_salt, kdf_n = excluded.kdf_n,"
            " nonce = excluded.nonce, ciphertext = excluded.ciphertext, failed_attempts = 0,"
            " locked_at = NULL, created_at = excluded.created_at, format = excluded.format,"
            " serial_hex = excluded.serial_hex, kek_wrapped = 1",
            (
                sealed.owner_id,
                sealed.salt,
                sealed.kdf_n,
                nonce,
                token,
                self.clock().isoformat(),
                CURRENT_FORMAT,
                serial_hex,
            ),
        )

    def unlock(self, owner_id: str, passphrase: str, serial_hex: str | None = None) -> CaPrivateKey:
        """Return the owner's private key, or count a wrong attempt and LOCK at the limit.

        Given the serial of the key's certificate, a format 1 row that opens is re-sealed as format 2.
        """
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
        # Step 2, outside the lock: the slow KDF must not serialise every owner's signing. A KEK that
        # does not open the row is a configuration fault, not a guess: it raises without counting down.
        blob = bytes(row["ciphertext"])
        try:
            ciphertext = unwrap_secret(blob, self.kek_keys) if row["kek_wrapped"] else blob
        except KeyDecryptionFailed:
            self._release_attempt(owner_id)
            raise
        salt, n = bytes(row["kdf_salt"]), int(row["kdf_n"])
        aad = _associated_data(int(row["format"]), owner_id, str(row["serial_hex"]), salt, n)
        try:
            der = AESGCM(_derive(passphrase, salt, n)).decrypt(bytes(row["nonce"]), ciphertext, aad)
        except InvalidTag:
            self._finish_failure(owner_id)
            raise WrongPassphrase(max(self.max_attempts - reserved, 0)) from None
        # Step 3: success clears the consecutive-failure count.
        with self.store.write() as conn:
            conn.execute("UPDATE esign_keys SET failed_attempts = 0 WHERE owner_id = ?", (owner_id,))
        loaded = serialization.load_der_private_key(der, password=None)
        assert isinstance(loaded, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey))
        if int(row["format"]) < CURRENT_FORMAT and serial_hex is not None:
            # Only now is the passphrase at hand to bind the row to its certificate and today's KDF cost.
            sealed = self.seal(owner_id, loaded, passphrase, check=False)
            with self.store.write() as conn:
                self.put(conn, sealed, serial_hex)
        return loaded

    def _release_attempt(self, owner_id: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                "UPDATE esign_keys SET failed_attempts = failed_attempts - 1 WHERE owner_id = ? AND failed_attempts > 0",
                (owner_id,),
            )

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
