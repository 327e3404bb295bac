"""Encryption at rest of CA private keys and other PSrE secrets under rotatable KEKs (MultiFernet)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pki.errors import KeyDecryptionFailed, UnsupportedKey

CaPrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _multi_fernet(kek_keys: list[str]) -> MultiFernet:
    if not kek_keys:
        raise ValueError("at least one key-encryption key is required")
    return MultiFernet([Fernet(k) for k in kek_keys])


def wrap_secret(secret: bytes, kek_keys: list[str]) -> bytes:
    """Encrypt a secret under the first KEK (Fernet token)."""
    return _multi_fernet(kek_keys).encrypt(secret)


def unwrap_secret(token: bytes, kek_keys: list[str]) -> bytes:
    """Decrypt a token with whichever configured KEK made it."""
    try:
        return _multi_fernet(kek_keys).decrypt(token)
    except InvalidToken as exc:
        raise KeyDecryptionFailed("no configured KEK decrypts this key") from exc


def wrap_private_key(key: CaPrivateKey, kek_keys: list[str]) -> bytes:
    """Serialize a private key as PKCS#8 DER and encrypt it under the first KEK."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return wrap_secret(der, kek_keys)


def unwrap_private_key(token: bytes, kek_keys: list[str]) -> CaPrivateKey:
    """Decrypt and load a private key wrapped by `wrap_private_key`."""
    key = serialization.load_der_private_key(unwrap_secret(token, kek_keys), password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise UnsupportedKey(f"unexpected stored key type {type(key).__name__}")
    return key


def rewrap(token: bytes, kek_keys: list[str]) -> bytes:
    """Re-encrypt a token under the first KEK so older KEKs can be retired (rotation)."""
    try:
        return _multi_fernet(kek_keys).rotate(token)
    except InvalidToken as exc:
        raise KeyDecryptionFailed("no configured KEK decrypts this key") from exc
