"""Exception types raised by the pki package, so callers can catch one family (`PkiError`)."""

# Shown to the owner as-is (Indonesian UI): it must say what to do next, i.e. which SOP to file.
LOCKED_MESSAGE = (
    "Kunci dikunci (LOCK) setelah terlalu banyak passphrase salah. "
    "Ajukan permohonan sesuai SOP 088.13 (Lupa Passphrase)."
)

# Shown to the owner as-is while a key-compromise report (SOP 088.11) about their key is being decided.
SUSPENDED_MESSAGE = (
    "Penandatanganan dengan kunci ini ditangguhkan karena ada laporan kunci privat bocor (SOP 088.11) "
    "yang sedang diputuskan Verifikator. Dokumen tidak ditandatangani."
)


class PkiError(Exception):
    """Base class of every error the pki package raises on purpose."""

    # BSrE Esign error code for the errors that have one (2011 / 2021 / 2031); 2032 is our LOCK code.
    error_code: int | None = None


class InvalidCsr(PkiError):
    """The CSR cannot be parsed or its self-signature does not verify."""


class UnsupportedKey(PkiError):
    """The public key is too weak (RSA < 2048) or of a type/curve the CA does not certify."""


class KeyReused(PkiError):
    """The public key was already certified; renewal and re-issue require a new key pair."""


class IdempotencyConflict(PkiError):
    """An idempotency key was reused with different arguments."""


class UnknownSubject(PkiError):
    """No subject with that id is registered with the PSrE (BSrE: 2011 user not registered)."""

    error_code = 2011


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

    error_code = 2021


class ActiveKeyExists(PkiError):
    """The owner already holds a valid server-held key: a new one would replace it (and lift any LOCK)."""


class WrongPassphrase(PkiError):
    """The passphrase does not unlock the key (BSrE: 2031); the attempt was counted."""

    error_code = 2031

    def __init__(self, remaining_attempts: int) -> None:
        """Record how many attempts are left before LOCK (never the passphrase itself)."""
        super().__init__(f"wrong passphrase; {remaining_attempts} attempt(s) left before LOCK")
        self.remaining_attempts = remaining_attempts


class KeyLocked(PkiError):
    """Too many wrong passphrases: the key is LOCKED until the forgotten-passphrase procedure resets it."""

    error_code = 2032

    def __init__(self, message: str = LOCKED_MESSAGE) -> None:
        """Default to the owner-facing message that points to SOP 088.13."""
        super().__init__(message)


class KeySuspended(PkiError):
    """Signing with the server-held key is suspended: a key-compromise report about it awaits a decision."""

    error_code = 2033

    def __init__(self, message: str = SUSPENDED_MESSAGE) -> None:
        """Default to the owner-facing message that says why and what happens next."""
        super().__init__(message)


# BSrE calls it "no certificate" (2021); for us that is "no usable server-held key and certificate".
NoCertificate = NoServerKey


class InvalidRequest(PkiError):
    """The call's arguments contradict each other (e.g. both or neither of CSR and passphrase)."""


class RemotePsreError(PkiError):
    """The remote PSrE failed or answered something this client does not understand."""

    def __init__(self, message: str, status_code: int | None = None, error_code: int | None = None) -> None:
        """Keep the HTTP status and the PSrE's own error code for the caller's log."""
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
