"""Tests of eSign keys at rest: OWASP scrypt cost, bound parameters, KEK wrapping and legacy rows."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pki_builders import make_key, make_subject, new_psre, one_page_pdf

from pki.errors import KeyDecryptionFailed, WrongPassphrase
from pki.keystore import DEFAULT_SCRYPT_N, KeyStore

PASSPHRASE = "rahasia123"
OWNER = "subject-1"
SERIAL = "1a2b3c"
KEK = Fernet.generate_key().decode()
LOW_N = 2**12


def _keystore(path: Path, keks: list[str]) -> KeyStore:
    store = KeyStore(path, keks, max_attempts=5, scrypt_n=LOW_N)
    store.initialise()
    return store


def _der(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _row(path: Path) -> sqlite3.Row:
    conn = sqlite3.connect(path / "psre.sqlite3")
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM esign_keys WHERE owner_id = ?", (OWNER,)).fetchone()
    conn.close()
    assert row is not None
    return row  # type: ignore[no-any-return]


def _execute(path: Path, sql: str, *args: object) -> None:
    conn = sqlite3.connect(path / "psre.sqlite3")
    with conn:
        conn.execute(sql, args)
    conn.close()


def _scrypt(salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=8, p=1).derive(PASSPHRASE.encode())


def test_default_scrypt_cost_meets_owasp() -> None:
    assert DEFAULT_SCRYPT_N >= 2**17


def test_stolen_store_alone_cannot_confirm_a_passphrase_guess(tmp_path: Path) -> None:
    store = _keystore(tmp_path, [KEK])
    store.store_key(OWNER, make_key(), PASSPHRASE, SERIAL)
    row = _row(tmp_path)
    # The attacker holds the row and guesses the right passphrase: without the KEK nothing decrypts.
    key = AESGCM(_scrypt(bytes(row["kdf_salt"]), int(row["kdf_n"])))
    for aad in (OWNER.encode(), None):
        with pytest.raises(InvalidTag):
            key.decrypt(bytes(row["nonce"]), bytes(row["ciphertext"]), aad)


def test_the_right_passphrase_without_the_kek_opens_nothing(tmp_path: Path) -> None:
    _keystore(tmp_path, [KEK]).store_key(OWNER, make_key(), PASSPHRASE, SERIAL)
    with pytest.raises(KeyDecryptionFailed):
        _keystore(tmp_path, [Fernet.generate_key().decode()]).unlock(OWNER, PASSPHRASE)


def test_a_row_relabelled_to_another_certificate_does_not_open(tmp_path: Path) -> None:
    store = _keystore(tmp_path, [KEK])
    store.store_key(OWNER, make_key(), PASSPHRASE, SERIAL)
    _execute(tmp_path, "UPDATE esign_keys SET serial_hex = 'ffff' WHERE owner_id = ?", OWNER)
    with pytest.raises(WrongPassphrase):
        store.unlock(OWNER, PASSPHRASE)


def test_a_row_moved_to_another_owner_does_not_open(tmp_path: Path) -> None:
    store = _keystore(tmp_path, [KEK])
    store.store_key(OWNER, make_key(), PASSPHRASE, SERIAL)
    _execute(tmp_path, "UPDATE esign_keys SET owner_id = 'subject-2' WHERE owner_id = ?", OWNER)
    with pytest.raises(WrongPassphrase):
        store.unlock("subject-2", PASSPHRASE)


def test_the_kdf_cost_is_bound_into_the_row(tmp_path: Path) -> None:
    store = _keystore(tmp_path, [KEK])
    store.store_key(OWNER, make_key(), PASSPHRASE, SERIAL)
    row = _row(tmp_path)
    assert int(row["kdf_n"]) == LOW_N and int(row["format"]) == 2
    # A lowered cost in the row (to speed up guessing) makes the row useless, not weaker.
    _execute(tmp_path, "UPDATE esign_keys SET kdf_n = ? WHERE owner_id = ?", 2**10, OWNER)
    with pytest.raises(WrongPassphrase):
        store.unlock(OWNER, PASSPHRASE)


def _legacy_row(path: Path, key: object) -> None:
    """Write a row as the first format did: AES-GCM under scrypt(passphrase), owner id as AAD, no KEK."""
    salt, nonce = os.urandom(16), os.urandom(12)
    ciphertext = AESGCM(_scrypt(salt, LOW_N)).encrypt(nonce, _der(key), OWNER.encode())
    conn = sqlite3.connect(path / "psre.sqlite3")
    with conn:
        conn.execute(
            "INSERT INTO esign_keys (owner_id, kdf_salt, kdf_n, nonce, ciphertext, created_at)"
            " VALUES (?, ?, ?, ?, ?, '2026-01-01T00:00:00+00:00')",
            (OWNER, salt, LOW_N, nonce, ciphertext),
        )
    conn.close()


def test_a_legacy_row_still_opens_and_rotation_kek_wraps_it(tmp_path: Path) -> None:
    store = _keystore(tmp_path, [KEK])
    key = make_key()
    _legacy_row(tmp_path, key)
    assert _der(store.unlock(OWNER, PASSPHRASE)) == _der(key)
    before = bytes(_row(tmp_path)["ciphertext"])
    assert store.rotate_keks() == 1
    assert bytes(_row(tmp_path)["ciphertext"]) != before and int(_row(tmp_path)["kek_wrapped"]) == 1
    assert _der(store.unlock(OWNER, PASSPHRASE)) == _der(key)


def test_rotation_moves_rows_to_the_newest_kek(tmp_path: Path) -> None:
    key = make_key()
    _keystore(tmp_path, [KEK]).store_key(OWNER, key, PASSPHRASE, SERIAL)
    new_kek = Fernet.generate_key().decode()
    _keystore(tmp_path, [new_kek, KEK]).rotate_keks()
    assert _der(_keystore(tmp_path, [new_kek]).unlock(OWNER, PASSPHRASE)) == _der(key)


def test_a_legacy_row_is_resealed_for_its_certificate_when_it_opens(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, [KEK], scrypt_n=2**13)
    store.initialise()
    key = make_key()
    _legacy_row(tmp_path, key)
    assert _der(store.unlock(OWNER, PASSPHRASE, SERIAL)) == _der(key)
    row = _row(tmp_path)
    assert (int(row["format"]), row["serial_hex"], int(row["kek_wrapped"]), int(row["kdf_n"])) == (2, SERIAL, 1, 2**13)
    assert _der(store.unlock(OWNER, PASSPHRASE)) == _der(key)


def test_a_store_made_before_format_2_gains_its_columns(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "psre.sqlite3")
    conn.executescript(
        "CREATE TABLE esign_keys (owner_id TEXT PRIMARY KEY, kdf_salt BLOB NOT NULL, kdf_n INTEGER NOT NULL,"
        " nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, failed_attempts INTEGER NOT NULL DEFAULT 0,"
        " locked_at TEXT, created_at TEXT NOT NULL);"
    )
    conn.close()
    store = _keystore(tmp_path, [KEK])
    key = make_key()
    _legacy_row(tmp_path, key)
    assert _der(store.unlock(OWNER, PASSPHRASE)) == _der(key)


def test_psre_binds_the_esign_row_to_its_certificate_and_keys_rotate_moves_it(tmp_path: Path) -> None:
    psre = new_psre(tmp_path / "psre", [KEK])
    psre.initialise()
    subject_id = psre.register_subject(make_subject(), "reg-1")
    issued = psre.issue_with_server_key(subject_id, PASSPHRASE, "esign-1")
    conn = sqlite3.connect(psre.store.path)
    row = conn.execute("SELECT serial_hex, format, kek_wrapped FROM esign_keys WHERE owner_id = ?", (subject_id,))
    assert row.fetchone() == (issued.serial_hex, 2, 1)
    conn.close()
    new_kek = Fernet.generate_key().decode()
    new_psre(tmp_path / "psre", [new_kek, KEK]).rotate_keys()
    only_new = new_psre(tmp_path / "psre", [new_kek])
    assert only_new.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "Setuju", "Pekalongan").startswith(b"%PDF")
