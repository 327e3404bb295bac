"""Where the PSrE's own keys live: software keys wrapped under KEKs, or keys generated on a PKCS#11 token."""

from __future__ import annotations

import secrets
import threading
from typing import Any, Protocol

import pkcs11
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from pki.errors import KeyDecryptionFailed, UnsupportedKey
from pki.keywrap import CaPrivateKey, rewrap, unwrap_private_key, wrap_private_key
from pki.signer import PublicKey, SoftwareSigner, as_private_key

PKCS11_PREFIX = b"pkcs11:"
# Curve names as PKCS#11 (and python-pkcs11) spell them, per key algorithm of the PSrE.
_CURVES = {"ec-p256": ("secp256r1", ec.SECP256R1()), "ec-p384": ("secp384r1", ec.SECP384R1())}


class KeyBackend(Protocol):
    """Creates and finds the PSrE's keys; the stored reference is a KEK token or a token object label."""

    def generate(self, name: str, algorithm: str) -> tuple[CaPrivateKey, bytes]:
        """Create a key for `name` (root, issuing, tsa, ra_seal); return it (signing only) and its reference."""
        ...

    def load(self, reference: bytes) -> CaPrivateKey:
        """Return the key a reference names, ready to sign."""
        ...

    def rewrap(self, reference: bytes) -> bytes:
        """Return the reference re-protected under the newest KEK (unchanged where no KEK protects it)."""
        ...

    def destroy(self, reference: bytes) -> None:
        """Destroy a key that is no longer used (a no-op where the reference itself is the only copy)."""
        ...


def generate_software_key(algorithm: str) -> CaPrivateKey:
    """Generate a key in memory for one of the algorithms the PSrE uses."""
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm][1])
    if algorithm == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise ValueError(f"unsupported key algorithm {algorithm!r}")


class SoftwareKeys:
    """Keys generated in memory and stored as MultiFernet (KEK) tokens: today's behaviour."""

    def __init__(self, kek_keys: list[str]) -> None:
        """Keep the KEKs, newest first."""
        self.kek_keys = list(kek_keys)

    def generate(self, name: str, algorithm: str) -> tuple[CaPrivateKey, bytes]:
        """Generate a key and wrap it under the first KEK."""
        key = generate_software_key(algorithm)
        return key, wrap_private_key(key, self.kek_keys)

    def load(self, reference: bytes) -> CaPrivateKey:
        """Unwrap a KEK token."""
        if reference.startswith(PKCS11_PREFIX):
            raise KeyDecryptionFailed("this key lives on a PKCS#11 token; set SERTEL_KEY_BACKEND=pkcs11")
        return unwrap_private_key(reference, self.kek_keys)

    def rewrap(self, reference: bytes) -> bytes:
        """Re-encrypt under the first KEK."""
        return rewrap(reference, self.kek_keys)

    def destroy(self, reference: bytes) -> None:
        """Nothing to do: the wrapped key exists only in the reference, which the caller drops."""


# PKCS#11 login state belongs to the process, not the session: a second C_Login fails and closing a
# session can log out every other one. So each process keeps one session per token, opened once.
_SESSIONS: dict[tuple[str, str], tuple[Any, threading.Lock]] = {}
_SESSIONS_LOCK = threading.Lock()


def _shared_session(module_path: str, token_label: str, pin: str) -> tuple[Any, threading.Lock]:
    with _SESSIONS_LOCK:
        if (module_path, token_label) not in _SESSIONS:
            token = pkcs11.lib(module_path).get_token(token_label=token_label)
            _SESSIONS[module_path, token_label] = (token.open(user_pin=pin, rw=True), threading.Lock())
        return _SESSIONS[module_path, token_label]


class Pkcs11Signer:
    """A private key on a PKCS#11 token: the digest is made here, the ECDSA operation on the token."""

    def __init__(self, keys: Pkcs11Keys, private: Any, public_key: PublicKey) -> None:
        """Keep the token object and the public key read from the token."""
        self._keys, self._private, self._public = keys, private, public_key

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
        """Hash locally, sign the digest on the token (CKM_ECDSA) and return the DER ECDSA signature."""
        digest = hashes.Hash(algorithm)
        digest.update(data)
        with self._keys.lock:
            raw = self._private.sign(digest.finalize(), mechanism=Mechanism.ECDSA)
        half = len(raw) // 2
        return encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))

    def public_key(self) -> PublicKey:
        """Return the public half."""
        return self._public


class Pkcs11Keys:
    """EC keys generated on, and never leaving, a PKCS#11 token (an HSM; SoftHSM2 in tests)."""

    def __init__(self, module_path: str, token_label: str, pin: str) -> None:
        """Share the process's logged-in session on the token; every operation on it is serialised."""
        if not module_path or not token_label or not pin:
            raise ValueError("PKCS#11 needs a module path, a token label and a PIN")
        self._session, self.lock = _shared_session(module_path, token_label, pin)

    def generate(self, name: str, algorithm: str) -> tuple[CaPrivateKey, bytes]:
        """Generate a non-extractable key pair on the token under a fresh label."""
        if algorithm not in _CURVES:
            raise UnsupportedKey(f"PKCS#11 keys must be EC (ec-p256 or ec-p384), not {algorithm!r}")
        label = f"sertel-{name}-{secrets.token_hex(6)}"
        with self.lock:
            params = self._session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVES[algorithm][0])}, local=True
            )
            params.generate_keypair(
                store=True,
                label=label,
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )
        return self.load(PKCS11_PREFIX + label.encode()), PKCS11_PREFIX + label.encode()

    def load(self, reference: bytes) -> CaPrivateKey:
        """Find the key pair a `pkcs11:<label>` reference names."""
        if not reference.startswith(PKCS11_PREFIX):
            raise KeyDecryptionFailed("this key is KEK-wrapped software; set SERTEL_KEY_BACKEND=software")
        label = reference[len(PKCS11_PREFIX) :].decode()
        with self.lock:
            private = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=label)
            public = self._session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
            spki = encode_ec_public_key(public)
        loaded = serialization.load_der_public_key(spki)
        assert isinstance(loaded, ec.EllipticCurvePublicKey)
        return as_private_key(Pkcs11Signer(self, private, loaded))

    def rewrap(self, reference: bytes) -> bytes:
        """Token keys are protected by the token, not by a KEK: the reference stays as it is."""
        return reference

    def destroy(self, reference: bytes) -> None:
        """Delete the key pair a `pkcs11:<label>` reference names from the token (C_DestroyObject)."""
        if not reference.startswith(PKCS11_PREFIX):
            return
        label = reference[len(PKCS11_PREFIX) :].decode()
        with self.lock:
            for found in list(self._session.get_objects({Attribute.LABEL: label})):
                found.destroy()


__all__ = ["KeyBackend", "Pkcs11Keys", "Pkcs11Signer", "SoftwareKeys", "SoftwareSigner", "generate_software_key"]
