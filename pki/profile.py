"""The individual-certificate profile rules: subject DN from RA data, NIK pseudonym, key and CSR checks."""

from __future__ import annotations

import hashlib
import hmac

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

from pki.errors import InvalidCsr, InvalidSubject, UnsupportedKey
from pki.psre import SubjectInfo

PKI_LOCALITY = "Kota Pekalongan"
ALLOWED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
MIN_RSA_BITS = 2048
MAX_NAME_LENGTH = 64  # RFC 5280 upper bound for CN / O / title


def subject_pseudonym(nik: str, salt: bytes) -> str:
    """Return the certificate's serialNumber pseudonym for a NIK: `PID-` + 20 hex of HMAC-SHA256(salt, NIK).

    A certificate is public (it travels inside every signed PDF), and a NIK encodes birth date, gender
    and place of registration, so it must not appear in it. A plain hash would not help either: NIKs
    have so little entropy that every hash can be reversed by enumeration. Keyed with a secret salt the
    PSrE keeps, the pseudonym is stable per person (a relying party can tell two signatures came from
    the same subject) yet reversible only by the PSrE.
    """
    digest = hmac.new(salt, nik.strip().encode("ascii"), hashlib.sha256).hexdigest()
    return "PID-" + digest[:20].upper()


def check_public_key(key: object) -> None:
    """Reject keys the CA will not certify: RSA below 2048 bits, curves other than P-256/384/521."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnsupportedKey(f"RSA key of {key.key_size} bits is too weak (minimum {MIN_RSA_BITS})")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise UnsupportedKey(f"elliptic curve {key.curve.name} is not supported")
        return
    raise UnsupportedKey(f"key type {type(key).__name__} is not supported (use RSA >= 2048 or ECDSA)")


def _attr(oid: ObjectIdentifier, value: str, label: str) -> x509.NameAttribute[str]:
    value = value.strip()
    if not value or len(value) > MAX_NAME_LENGTH:
        raise InvalidSubject(f"{label} must be 1..{MAX_NAME_LENGTH} characters")
    return x509.NameAttribute(oid, value)


def certificate_serial_number(pseudonym: str) -> str:
    """Return the subject serialNumber for a pseudonym in the EN 319 412-1 5.1.3 form.

    The standard's form is a 3-character identity type, the country and "-" before the identifier. PAS,
    IDC and PNO would claim a passport, identity-card or national number, and the value is none of these
    (it is the PSrE's keyed pseudonym of the NIK), so the local-scheme type the standard allows is used:
    two characters of local definition and ":", here "PS:" (pseudonim Sertel): `PS:ID-` + 20 hex.
    """
    return "PS:ID-" + pseudonym.removeprefix("PID-")


def individual_subject_name(subject: SubjectInfo, pseudonym: str) -> x509.Name:
    """Build the distinguished name of an individual's certificate from RA-verified data (EN 319 412-2 4.2.4).

    givenName/surname are written when the RA knows them; a name the RA holds undivided goes whole into
    surname, as ICAO 9303 does with names that have no separate given name.
    """
    given, surname = (subject.given_name or "").strip(), (subject.surname or "").strip()
    if not given and not surname:
        surname = subject.name
    names = [_attr(NameOID.GIVEN_NAME, given, "given name")] if given else []
    if surname:
        names.append(_attr(NameOID.SURNAME, surname, "surname"))
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, PKI_LOCALITY),
            _attr(NameOID.ORGANIZATION_NAME, subject.agency, "agency"),
            _attr(NameOID.TITLE, subject.position, "position"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, certificate_serial_number(pseudonym)),
            *names,
            _attr(NameOID.COMMON_NAME, subject.name, "name"),
        ]
    )


def signing_key_usage() -> x509.KeyUsage:
    """Return keyUsage of every signing certificate (people, RA seal, TSA): digitalSignature + nonRepudiation."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def load_csr(csr_pem: str | bytes) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR and check its self-signature and key strength."""
    data = csr_pem.encode("ascii") if isinstance(csr_pem, str) else csr_pem
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise InvalidCsr(f"CSR cannot be parsed: {exc}") from exc
    # The self-signature proves the requester holds the private key (proof of possession).
    try:
        valid = csr.is_signature_valid
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise InvalidCsr(f"CSR signature cannot be checked: {exc}") from exc
    if not valid:
        raise InvalidCsr("CSR signature does not verify: the request was altered or is not self-signed")
    check_public_key(csr.public_key())
    return csr
