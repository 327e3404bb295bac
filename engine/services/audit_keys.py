"""The audit log's MAC keys: derived from the KEKs with HKDF, named by a key id, archived on rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select

from engine.models import AuditKeyArchive, db
from engine.services.runtime_context import settings
from pki.errors import KeyDecryptionFailed
from pki.keywrap import unwrap_secret, wrap_secret

# Derivation labels: changing either gives every KEK a different audit key (a new key generation).
_SALT = b"sertel audit log"
_INFO = b"audit chain HMAC-SHA256 v1"


def kek_keys() -> list[str]:
    """The configured KEKs (Fernet keys), newest first."""
    return _parse(str(settings()["KEK_KEYS"]))


def _parse(setting: str) -> list[str]:
    return [k.strip() for k in setting.split(",") if k.strip()]


@lru_cache(maxsize=16)
def derive(kek: str) -> bytes:
    """The audit MAC key of one KEK: HKDF-SHA256 over its raw key bytes, used for nothing else."""
    raw = base64.urlsafe_b64decode(kek.encode("ascii"))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(raw)


@lru_cache(maxsize=16)
def key_id(mac_key: bytes) -> str:
    """A public name of a MAC key (it reveals nothing usable about the key)."""
    return hmac.new(mac_key, b"sertel audit key id", hashlib.sha256).hexdigest()[:16]


def current() -> tuple[str, bytes]:
    """The key id and MAC key new events are chained with: those of the newest KEK."""
    return _current_of(str(settings()["KEK_KEYS"]))


@lru_cache(maxsize=4)
def _current_of(setting: str) -> tuple[str, bytes]:
    """Keyed by the setting's text: every event asks, and a rotation (a new setting) is seen at once."""
    mac_key = derive(_parse(setting)[0])
    return key_id(mac_key), mac_key


def known() -> dict[str, bytes]:
    """Every MAC key verify can use: derived from each configured KEK, plus the archived ones."""
    keys = {key_id(k): k for k in (derive(kek) for kek in kek_keys())}
    for row in db.session.execute(select(AuditKeyArchive)).scalars():
        if row.key_id in keys:
            continue
        try:
            keys[row.key_id] = unwrap_secret(row.wrapped.encode("ascii"), kek_keys())
        except KeyDecryptionFailed:
            continue  # wrapped under a KEK no longer configured: its events report an unknown key
    return keys


def archive() -> int:
    """Wrap every known MAC key under the newest KEK, so older KEKs can be retired; return how many.

    Run by `sertel keys rotate` while the old KEKs are still configured: afterwards events chained under
    a retired KEK still verify, and the archive is useless without a configured KEK.
    """
    keys = known()
    for kid, mac_key in keys.items():
        wrapped = wrap_secret(mac_key, kek_keys()).decode("ascii")
        row = db.session.get(AuditKeyArchive, kid)
        if row is None:
            db.session.add(AuditKeyArchive(key_id=kid, wrapped=wrapped))
        else:
            row.wrapped = wrapped
    db.session.commit()
    return len(keys)
