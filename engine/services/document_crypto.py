"""Envelope encryption of stored documents: a fresh AES-256-GCM key per file, wrapped under the KEK.

A stored document (file or database blob) is `MAGIC | len(wrapped key) | wrapped key | nonce | ciphertext`.
The wrapped key is a Fernet token under the newest of SERTEL_KEK_KEYS (MultiFernet: any configured KEK
opens it), so a copy of the disk or of the database alone reveals nothing, and `sertel keys rotate` re-wraps
each file's key under the newest KEK without touching the ciphertext. The plaintext's SHA-256 (the document's
integrity hash and its storage name) is the GCM associated data: a blob moved to another document's name
fails to open. Bytes without the magic prefix are documents stored before encryption existed; they are read
as they are, and `rewrap` encrypts them.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.services.audit_keys import kek_keys
from pki.errors import KeyDecryptionFailed
from pki.keywrap import rewrap as rewrap_token
from pki.keywrap import unwrap_secret, wrap_secret

MAGIC = b"SRTLENC1"
_LENGTH = struct.Struct(">H")
_NONCE_BYTES = 12


class DocumentUnreadable(Exception):
    """A stored document that no configured KEK opens, or whose ciphertext was altered."""


def is_encrypted(stored: bytes) -> bool:
    return stored.startswith(MAGIC)


def encrypt(content: bytes, sha256: str) -> bytes:
    """Seal `content` (whose SHA-256 hex is `sha256`) under a fresh data key wrapped by the newest KEK."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE_BYTES)
    wrapped = wrap_secret(data_key, kek_keys())
    sealed = AESGCM(data_key).encrypt(nonce, content, sha256.encode("ascii"))
    return MAGIC + _LENGTH.pack(len(wrapped)) + wrapped + nonce + sealed


def _split(stored: bytes) -> tuple[bytes, bytes, bytes]:
    offset = len(MAGIC)
    (length,) = _LENGTH.unpack_from(stored, offset)
    offset += _LENGTH.size
    wrapped = stored[offset : offset + length]
    offset += length
    return wrapped, stored[offset : offset + _NONCE_BYTES], stored[offset + _NONCE_BYTES :]


def decrypt(stored: bytes, sha256: str) -> bytes:
    """The plaintext of a stored document (bytes stored before encryption are returned as they are)."""
    if not is_encrypted(stored):
        return stored
    wrapped, nonce, sealed = _split(stored)
    try:
        data_key = unwrap_secret(wrapped, kek_keys())
        return AESGCM(data_key).decrypt(nonce, sealed, sha256.encode("ascii"))
    except (KeyDecryptionFailed, InvalidTag, ValueError) as exc:
        raise DocumentUnreadable("no configured KEK opens this document, or it was altered") from exc


def rewrap(stored: bytes, sha256: str) -> bytes:
    """The same document with its data key wrapped under the newest KEK (plaintext ones get encrypted)."""
    if not is_encrypted(stored):
        return encrypt(stored, sha256)
    wrapped, nonce, sealed = _split(stored)
    try:
        fresh = rewrap_token(wrapped, kek_keys())
    except KeyDecryptionFailed as exc:
        raise DocumentUnreadable("no configured KEK opens this document's key") from exc
    return MAGIC + _LENGTH.pack(len(fresh)) + fresh + nonce + sealed
