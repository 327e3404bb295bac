"""Exception types raised by the pki package, so callers can catch one family (`PkiError`)."""


class PkiError(Exception):
    """Base class of every error the pki package raises on purpose."""


class InvalidCsr(PkiError):
    """The CSR cannot be parsed or its self-signature does not verify."""


class UnsupportedKey(PkiError):
    """The public key is too weak (RSA < 2048) or of a type/curve the CA does not certify."""


class KeyReused(PkiError):
    """The public key was already certified; renewal and re-issue require a new key pair."""


class IdempotencyConflict(PkiError):
    """An idempotency key was reused with different arguments."""


class UnknownSubject(PkiError):
    """No subject with that id is registered with the PSrE."""


class UnknownCertificate(PkiError):
    """No certificate with that serial was issued by this PSrE."""


class UnknownRevocationReason(PkiError):
    """The revocation reason is not an RFC 5280 reason name the PSrE accepts."""


class AlreadyRevoked(PkiError):
    """The certificate is already revoked; revocation is not repeated."""


class NotInitialised(PkiError):
    """The PSrE state has no CA hierarchy yet; call `initialise()` first."""


class KeyDecryptionFailed(PkiError):
    """A wrapped private key cannot be decrypted with any of the configured KEKs."""


class InvalidSubject(PkiError):
    """The subject data cannot be put into a certificate (empty or over-long field, bad e-mail)."""


class WeakPassphrase(PkiError):
    """The passphrase breaks the rules (at least 8 characters, with letters and digits)."""


class NoServerKey(PkiError):
    """The owner has no server-held key (BSrE: 2021 no certificate)."""


class WrongPassphrase(PkiError):
    """The passphrase does not unlock the key (BSrE: 2031); the attempt was counted."""

    def __init__(self, remaining_attempts: int) -> None:
        """Record how many attempts are left before LOCK (never the passphrase itself)."""
        super().__init__(f"wrong passphrase; {remaining_attempts} attempt(s) left before LOCK")
        self.remaining_attempts = remaining_attempts


class KeyLocked(PkiError):
    """Too many wrong passphrases: the key is LOCKED until the forgotten-passphrase procedure resets it."""
