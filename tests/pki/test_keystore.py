"""Tests of the server-held eSign key store: passphrase wrapping, rules, attempt counting and LOCK."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pki_builders import make_key

from pki.errors import KeyLocked, NoServerKey, PkiError, WeakPassphrase, WrongPassphrase
from pki.keystore import KeyStore, check_passphrase

PASSPHRASE = "rahasia123"
OWNER = "subject-1"


@pytest.fixture
def keystore(tmp_path: Path) -> KeyStore:
    """A key store with a cheap KDF (the logic is under test here, not the KDF cost)."""
    store = KeyStore(tmp_path / "psre", [Fernet.generate_key().decode()], max_attempts=5, scrypt_n=2**12)
    store.initialise()
    return store


def _der(key: object) -> bytes:
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_right_passphrase_unlocks_the_stored_key(keystore: KeyStore) -> None:
    key = make_key()
    keystore.store_key(OWNER, key, PASSPHRASE)
    assert _der(keystore.unlock(OWNER, PASSPHRASE)) == _der(key)


def test_neither_key_nor_passphrase_is_stored_in_clear(keystore: KeyStore, tmp_path: Path) -> None:
    key = make_key()
    keystore.store_key(OWNER, key, PASSPHRASE)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "psre").iterdir())
    assert PASSPHRASE.encode() not in stored
    assert _der(key) not in stored
    assert b"PRIVATE KEY" not in stored


@pytest.mark.parametrize("passphrase", ["abc1234", "onlyletters", "12345678", "________1"])
def test_passphrase_rules_reject_weak_passphrases(passphrase: str) -> None:
    with pytest.raises(WeakPassphrase):
        check_passphrase(passphrase)


def test_weak_passphrase_is_refused_when_storing(keystore: KeyStore) -> None:
    with pytest.raises(WeakPassphrase):
        keystore.store_key(OWNER, make_key(), "password")


def test_wrong_passphrase_counts_down_to_lock(keystore: KeyStore) -> None:
    keystore.store_key(OWNER, make_key(), PASSPHRASE)
    remaining = []
    for _ in range(5):
        with pytest.raises(WrongPassphrase) as error:
            keystore.unlock(OWNER, "salah12345")
        remaining.append(error.value.remaining_attempts)
    assert remaining == [4, 3, 2, 1, 0]
    assert keystore.state(OWNER).locked
    with pytest.raises(KeyLocked):
        keystore.unlock(OWNER, PASSPHRASE)


def test_wrong_passphrase_error_never_contains_the_passphrase(keystore: KeyStore) -> None:
    keystore.store_key(OWNER, make_key(), PASSPHRASE)
    with pytest.raises(WrongPassphrase) as error:
        keystore.unlock(OWNER, "salah12345")
    assert "salah12345" not in str(error.value)


def test_success_resets_the_failure_count(keystore: KeyStore) -> None:
    keystore.store_key(OWNER, make_key(), PASSPHRASE)
    for _ in range(4):
        with pytest.raises(WrongPassphrase):
            keystore.unlock(OWNER, "salah12345")
    keystore.unlock(OWNER, PASSPHRASE)
    assert keystore.state(OWNER).failed_attempts == 0
    assert not keystore.state(OWNER).locked


def test_concurrent_wrong_attempts_lock_after_exactly_the_limit(keystore: KeyStore) -> None:
    keystore.store_key(OWNER, make_key(), PASSPHRASE)
    outcomes: list[type[PkiError]] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def guess(index: int) -> None:
        start.wait()
        try:
            keystore.unlock(OWNER, f"tebakan{index:04d}")
        except PkiError as error:
            with lock:
                outcomes.append(type(error))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(WrongPassphrase) == 5
    assert outcomes.count(KeyLocked) == 15
    assert keystore.state(OWNER).locked
    assert keystore.state(OWNER).failed_attempts == 5


def test_storing_a_new_key_lifts_the_lock(keystore: KeyStore) -> None:
    keystore.store_key(OWNER, make_key(), PASSPHRASE)
    for _ in range(5):
        with pytest.raises(WrongPassphrase):
            keystore.unlock(OWNER, "salah12345")
    new_key = make_key()
    keystore.store_key(OWNER, new_key, "baru98765")
    assert _der(keystore.unlock(OWNER, "baru98765")) == _der(new_key)


def test_passphrase_is_unicode_normalised(keystore: KeyStore) -> None:
    keystore.store_key(OWNER, make_key(), "rahasia\uff11\uff12\uff13")  # full-width digits
    keystore.unlock(OWNER, PASSPHRASE)


def test_unknown_owner_has_no_server_key(keystore: KeyStore) -> None:
    with pytest.raises(NoServerKey):
        keystore.unlock("nobody", PASSPHRASE)
    keystore.store_key(OWNER, make_key(), PASSPHRASE)
    keystore.delete_key(OWNER)
    with pytest.raises(NoServerKey):
        keystore.state(OWNER)


def test_minimum_passphrase_length_comes_from_the_setting(tmp_path: Path) -> None:
    store = KeyStore(tmp_path, [Fernet.generate_key().decode()], scrypt_n=1024, min_passphrase_length=12)
    store.initialise()
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(WeakPassphrase):
        store.store_key("owner-12", key, "rahasia2026")  # 11 characters: too short for this setting
    store.store_key("owner-12", key, "rahasia20261")
    assert store.unlock("owner-12", "rahasia20261").public_key().public_numbers() == key.public_key().public_numbers()
