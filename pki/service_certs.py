"""Certificates the PSrE issues to its own services: the timestamp authority and the RA's seal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pki.ca import (
    CLOCK_SKEW,
    ID_KP_DOCUMENT_SIGNING,
    PKI_ORGANIZATION,
    IssuingCA,
    crl_url,
    end_entity_access,
    end_entity_policies,
    new_serial,
    signature_hash,
)
from pki.key_backend import KeyBackend, SoftwareKeys
from pki.keywrap import CaPrivateKey, wrap_private_key
from pki.profile import PKI_LOCALITY, signing_key_usage

# Service certificates are re-issued by the operator, not by the owner: 5 years, capped by the issuer.
SERVICE_VALIDITY = timedelta(days=5 * 365 + 1)
TSA_COMMON_NAME = "Timestamp Authority Pemerintah Kota Pekalongan (UJI COBA)"
RA_SEAL_COMMON_NAME = "Otoritas Pendaftaran Diskominfo Kota Pekalongan (UJI COBA)"
RA_SEAL_ORG_UNIT = "Dinas Komunikasi dan Informatika"
# EN 319 412-1 5.1.4 organizationIdentifier: no VAT/NTR number fits a city government, so the local-scheme
# form ("KD:" + country + "-") carries Kota Pekalongan's region code of the Ministry of Home Affairs
# (Kemendagri 33.75), a public and stable identifier of the city.
RA_ORGANIZATION_IDENTIFIER = "KD:ID-33.75"
# The seal keeps emailProtection (sealed mail), so RFC 8550/8551 want the mailbox in the SAN.
RA_SEAL_EMAIL = "sertel@pekalongankota.go.id"


@dataclass(frozen=True)
class ServiceIdentity:
    """A service certificate with its loaded private key (kept in memory, never re-parsed per use)."""

    certificate: x509.Certificate
    private_key: CaPrivateKey
    # The key backend's reference (KEK token or token label); empty for keys made before backends.
    reference: bytes = b""

    @property
    def certificate_pem(self) -> str:
        """Return the certificate as PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def wrapped_key(self, kek_keys: list[str]) -> bytes:
        """Return the key's stored reference (the backend's, else the key wrapped under the KEKs)."""
        return self.reference or wrap_private_key(self.private_key, kek_keys)


def load_service_identity(
    certificate_pem: bytes, wrapped_key: bytes, kek_keys: list[str], keys: KeyBackend | None = None
) -> ServiceIdentity:
    """Rebuild a ServiceIdentity from its stored PEM and key reference (KEK token or token label)."""
    return ServiceIdentity(
        certificate=x509.load_pem_x509_certificate(certificate_pem),
        private_key=(keys or SoftwareKeys(kek_keys)).load(wrapped_key),
        reference=wrapped_key,
    )


def _service_builder(
    issuing: IssuingCA, name: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime
) -> x509.CertificateBuilder:
    issuer_ski = issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    not_after = min(now + SERVICE_VALIDITY, issuing.certificate.not_valid_after_utc)
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(crl_url(issuing.base_url, issuing.generation))],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    # CRL and OCSP both speak about service certificates (they are recorded as such by the PSrE).
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuing.certificate.subject)
        .public_key(public_key)
        .serial_number(new_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False)
        .add_extension(x509.CRLDistributionPoints([point]), critical=False)
        .add_extension(end_entity_access(issuing.base_url, issuing.generation), critical=False)
        .add_extension(end_entity_policies(issuing.policy_oid), critical=False)
    )


def _service_name(common_name: str, org_unit: str | None = None, org_identifier: str | None = None) -> x509.Name:
    """The subject of one of the city's service certificates (TSA, RA seal)."""
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, PKI_LOCALITY),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, PKI_ORGANIZATION),
    ]
    if org_identifier:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org_identifier))
    if org_unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, org_unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _new_service_key(name: str, keys: KeyBackend | None) -> tuple[CaPrivateKey, ec.EllipticCurvePublicKey, bytes]:
    """A P-256 key from the backend (with its reference), or a plain software key wrapped later."""
    key, reference = keys.generate(name, "ec-p256") if keys else (ec.generate_private_key(ec.SECP256R1()), b"")
    public = key.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return key, public, reference


def issue_tsa_identity(
    issuing: IssuingCA, now: datetime | None = None, keys: KeyBackend | None = None
) -> ServiceIdentity:
    """Create the TSA key (P-256) and certificate: EKU timeStamping only, critical (RFC 3161 2.3)."""
    now = now or datetime.now(UTC)
    key, public, reference = _new_service_key("tsa", keys)
    name = _service_name(TSA_COMMON_NAME)
    cert = (
        _service_builder(issuing, name, public, now)
        .add_extension(signing_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(issuing.private_key, signature_hash(issuing.private_key))
    )
    return ServiceIdentity(certificate=cert, private_key=key, reference=reference)


def issue_ra_seal_identity(
    issuing: IssuingCA, now: datetime | None = None, keys: KeyBackend | None = None
) -> ServiceIdentity:
    """Create the RA's organisation certificate (P-256) used to seal letters and dossiers."""
    now = now or datetime.now(UTC)
    key, public, reference = _new_service_key("ra_seal", keys)
    # EN 319 412-3: a legal person's seal names the organisation by organizationIdentifier.
    name = _service_name(RA_SEAL_COMMON_NAME, RA_SEAL_ORG_UNIT, RA_ORGANIZATION_IDENTIFIER)
    eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION, ID_KP_DOCUMENT_SIGNING]
    cert = (
        _service_builder(issuing, name, public, now)
        .add_extension(signing_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(RA_SEAL_EMAIL)]), critical=False)
        .sign(issuing.private_key, signature_hash(issuing.private_key))
    )
    return ServiceIdentity(certificate=cert, private_key=key, reference=reference)
