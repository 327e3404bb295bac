"""One signer interface for every private-key operation of the PSrE (CA, CRL, OCSP, TSA, RA seal)."""

from __future__ import annotations

from typing import Any, NoReturn, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from pki.errors import UnsupportedKey
from pki.keywrap import CaPrivateKey

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class KeySigner(Protocol):
    """A private key that signs but never shows itself: software (KEK-wrapped) or on a PKCS#11 token.

    `sign` returns what X.509, CMS and OCSP carry: a DER ECDSA signature, or RSASSA-PKCS1-v1_5.
    """

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
        """Hash `data` with `algorithm` and sign the digest."""
        ...

    def public_key(self) -> PublicKey:
        """Return the public half."""
        ...


class SoftwareSigner:
    """A key held in memory as a `cryptography` object (unwrapped once from its KEK token)."""

    def __init__(self, key: CaPrivateKey) -> None:
        """Keep the loaded key."""
        self.key = key

    def sign(self, data: bytes, algorithm: hashes.HashAlgorithm) -> bytes:
        """Sign with ECDSA or RSASSA-PKCS1-v1_5."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(data, ec.ECDSA(algorithm))
        return self.key.sign(data, padding.PKCS1v15(), algorithm)

    def public_key(self) -> PublicKey:
        """Return the public half."""
        return self.key.public_key()


def _no_export(*_args: Any) -> NoReturn:
    raise UnsupportedKey("this key is held by a signer and cannot be exported or used for key agreement")


def _hash_of(algorithm: Any) -> hashes.HashAlgorithm:
    if isinstance(algorithm, Prehashed):
        raise UnsupportedKey("signers hash the data themselves; pre-hashed input is not supported")
    assert isinstance(algorithm, hashes.HashAlgorithm)
    return algorithm


class SignerBackedEcKey(ec.EllipticCurvePrivateKey):
    """cryptography's EC private-key interface over a KeySigner, so its X.509/CRL/OCSP builders can sign.

    cryptography (checked on 50.x) calls the key's Python `sign()` for every builder, so a token-held
    key signs certificates, CRLs and OCSP responses without its bytes ever existing in this process.
    """

    def __init__(self, signer: KeySigner) -> None:
        """Wrap a signer whose public key is EC."""
        public = signer.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise UnsupportedKey("signer key is not EC")
        self.signer, self._public = signer, public

    def sign(self, data: Any, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        """Sign like `EllipticCurvePrivateKey.sign` with ECDSA."""
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise UnsupportedKey("only ECDSA is supported")
        return self.signer.sign(bytes(data), _hash_of(signature_algorithm.algorithm))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """Return the public half."""
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        """Return the curve of the key."""
        return self._public.curve

    @property
    def key_size(self) -> int:
        """Return the curve's bit size."""
        return self._public.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        """Refuse: a signing key is never used for key agreement."""
        _no_export()

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        """Refuse: the key cannot leave its signer."""
        _no_export()

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        """Refuse: the key cannot leave its signer."""
        _no_export()

    def __copy__(self) -> SignerBackedEcKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SignerBackedEcKey:
        return self


class SignerBackedRsaKey(rsa.RSAPrivateKey):
    """cryptography's RSA private-key interface (PKCS#1 v1.5 signatures only) over a KeySigner."""

    def __init__(self, signer: KeySigner) -> None:
        """Wrap a signer whose public key is RSA."""
        public = signer.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise UnsupportedKey("signer key is not RSA")
        self.signer, self._public = signer, public

    def sign(self, data: Any, padding: Any, algorithm: Any) -> bytes:
        """Sign like `RSAPrivateKey.sign`, with PKCS#1 v1.5 padding."""
        if not isinstance(padding, PKCS1v15):
            raise UnsupportedKey("only PKCS#1 v1.5 signatures are supported")
        return self.signer.sign(bytes(data), _hash_of(algorithm))

    def public_key(self) -> rsa.RSAPublicKey:
        """Return the public half."""
        return self._public

    @property
    def key_size(self) -> int:
        """Return the modulus size in bits."""
        return self._public.key_size

    def decrypt(self, ciphertext: bytes, padding: Any) -> bytes:
        """Refuse: a signing key never decrypts."""
        _no_export()

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        """Refuse: the key cannot leave its signer."""
        _no_export()

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        """Refuse: the key cannot leave its signer."""
        _no_export()

    def __copy__(self) -> SignerBackedRsaKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SignerBackedRsaKey:
        return self


PKCS1v15 = padding.PKCS1v15


def as_private_key(signer: KeySigner) -> CaPrivateKey:
    """Return a `cryptography` private-key object that signs through `signer` (the loaded key for software)."""
    if isinstance(signer, SoftwareSigner):
        return signer.key
    if isinstance(signer.public_key(), ec.EllipticCurvePublicKey):
        return SignerBackedEcKey(signer)
    return SignerBackedRsaKey(signer)


def signer_of(key: CaPrivateKey) -> KeySigner:
    """Return the signer behind a key object from `as_private_key` (or a software signer for a plain key)."""
    if isinstance(key, (SignerBackedEcKey, SignerBackedRsaKey)):
        return key.signer
    return SoftwareSigner(key)
