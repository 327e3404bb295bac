"""The embedded PSrE's certificate authority: CA hierarchy, key wrapping at rest, the individual profile."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
)

from pki.errors import InvalidSubject
from pki.key_backend import KeyBackend, SoftwareKeys
from pki.keywrap import CaPrivateKey, rewrap, unwrap_private_key
from pki.profile import (
    PKI_LOCALITY,
    check_public_key,
    individual_subject_name,
    load_csr,
    signing_key_usage,
    subject_pseudonym,
)
from pki.psre import SubjectInfo

# rewrap/unwrap are re-exported: KEK rotation is part of operating the CA.
__all__ = [
    "CaHierarchy",
    "IssuingCA",
    "create_hierarchy",
    "load_csr",
    "load_issuing_ca",
    "new_serial",
    "rewrap",
    "subject_pseudonym",
    "unwrap_private_key",
]

PKI_ORGANIZATION = "Pemerintah Kota Pekalongan"
ROOT_VALIDITY = timedelta(days=20 * 365 + 5)
ISSUING_VALIDITY = timedelta(days=10 * 365 + 2)
# Backdate notBefore a little so a relying party whose clock lags a few minutes still accepts the cert.
CLOCK_SKEW = timedelta(minutes=5)
MS_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")
ID_KP_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
# Certificate policy of every end-entity certificate (setting CERT_POLICY_OID). The default sits under
# 1.3.6.1.4.1.32473, the enterprise number IANA reserves for examples and documentation (RFC 5612): never
# anyone's real policy. (A 2.25 UUID OID would be private too, but its >32-bit arc breaks pkilint and
# other pyasn1-based tools.) A production PSrE replaces it with the OID of its published Certificate Policy.
DEFAULT_POLICY_OID = "1.3.6.1.4.1.32473.3375.1.1"


def crl_url(base_url: str, generation: int = 1) -> str:
    """Return where an issuing CA generation's CRL is published (the engine's pki blueprint serves it).

    The first generation keeps `/crl`; each later one (after `sertel pki rollover`) gets `/crl-g<n>`, so the
    certificates of a retired CA still name a URL that serves that CA's own CRL.
    """
    return base_url.rstrip("/") + ("/crl" if generation <= 1 else f"/crl-g{generation}")


def root_crl_url(base_url: str) -> str:
    """Return where the root's CRL (covering the issuing CA) is published."""
    return base_url.rstrip("/") + "/root-crl"


def ocsp_url(base_url: str) -> str:
    """Return the OCSP responder URL written into leaf certificates."""
    return base_url.rstrip("/") + "/ocsp"


def ca_issuers_url(base_url: str, generation: int = 1) -> str:
    """Return where an issuing CA generation's certificate is served (DER), for AIA caIssuers of what it issues."""
    return base_url.rstrip("/") + ("/ca.cer" if generation <= 1 else f"/ca-g{generation}.cer")


def root_issuers_url(base_url: str) -> str:
    """Return where the root CA certificate is served (DER), for AIA caIssuers of the issuing CA."""
    return base_url.rstrip("/") + "/root.cer"


def end_entity_access(base_url: str, generation: int = 1) -> x509.AuthorityInformationAccess:
    """AIA of every certificate the issuing CA signs: its OCSP responder and where its certificate is.

    One OCSP URL serves every generation: the responder picks the CA from the request's CertID.
    """
    return x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url(base_url))
            ),
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(ca_issuers_url(base_url, generation)),
            ),
        ]
    )


def end_entity_policies(policy_oid: str) -> x509.CertificatePolicies:
    """certificatePolicies of every end-entity certificate: the PSrE's one policy OID (RFC 5280 4.2.1.4)."""
    return x509.CertificatePolicies([x509.PolicyInformation(ObjectIdentifier(policy_oid), None)])


# --- hierarchy ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaHierarchy:
    """Root and issuing CA certificates with their KEK-wrapped private keys."""

    root_certificate: x509.Certificate
    issuing_certificate: x509.Certificate
    wrapped_root_key: bytes
    wrapped_issuing_key: bytes


def new_serial() -> int:
    """Return a positive random serial of exactly 159 bits (158 random), below 2^159 as RFC 5280 needs."""
    return secrets.randbits(158) | (1 << 158)


def signature_hash(key: CaPrivateKey) -> hashes.SHA256 | hashes.SHA384:
    """Return the digest a CA key signs with (SHA-384 for P-384, SHA-256 otherwise)."""
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def _ca_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, PKI_LOCALITY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, PKI_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def create_hierarchy(
    kek_keys: list[str],
    base_url: str,
    *,
    algorithm: str = "ec-p384",
    now: datetime | None = None,
    keys: KeyBackend | None = None,
) -> CaHierarchy:
    """Create a root CA (20 y) and an issuing CA (10 y) for the Kota Pekalongan test PKI.

    The keys come from `keys` (KEK-wrapped software keys by default, or a PKCS#11 token); what is
    returned as "wrapped" is the backend's reference to each key.
    """
    if algorithm not in {"ec-p384", "rsa-3072"}:
        raise ValueError(f"unsupported CA key algorithm {algorithm!r}")
    now = now or datetime.now(UTC)
    keys = keys or SoftwareKeys(kek_keys)
    (root_key, root_ref), (issuing_key, issuing_ref) = (
        keys.generate("root", algorithm),
        keys.generate("issuing", algorithm),
    )
    root_name = _ca_name("Root CA Pemerintah Kota Pekalongan (UJI COBA)")
    issuing_name = _ca_name("Issuing CA Pemerintah Kota Pekalongan (UJI COBA)")
    root_ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(new_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(root_ski, critical=False)
        .sign(root_key, signature_hash(root_key))
    )
    issuing = (
        x509.CertificateBuilder()
        .subject_name(issuing_name)
        .issuer_name(root_name)
        .public_key(issuing_key.public_key())
        .serial_number(new_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + ISSUING_VALIDITY)
        # path_length=0: the issuing CA certifies people only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(issuing_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .add_extension(_crl_distribution(root_crl_url(base_url)), critical=False)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(root_issuers_url(base_url)),
                    )
                ]
            ),
            critical=False,
        )
        .sign(root_key, signature_hash(root_key))
    )
    return CaHierarchy(
        root_certificate=root,
        issuing_certificate=issuing,
        wrapped_root_key=root_ref,
        wrapped_issuing_key=issuing_ref,
    )


def _crl_distribution(url: str) -> x509.CRLDistributionPoints:
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None
    )
    return x509.CRLDistributionPoints([point])


@dataclass(frozen=True)
class IssuingCA:
    """The unlocked issuing CA: signs individual certificates, CRLs and OCSP responses."""

    certificate: x509.Certificate
    private_key: CaPrivateKey
    root_certificate: x509.Certificate
    base_url: str
    pseudonym_salt: bytes
    policy_oid: str = DEFAULT_POLICY_OID
    generation: int = 1  # 1 for the CA made by `sertel init`, +1 for each rollover

    def issue_from_csr(
        self, csr_pem: str | bytes, subject: SubjectInfo, validity_days: int, now: datetime | None = None
    ) -> x509.Certificate:
        """Issue an individual certificate for the CSR's public key; the CSR's own subject is ignored."""
        csr = load_csr(csr_pem)
        # Only the public key is taken from the CSR: the subject is what the RA verified, not what
        # the requester typed into the CSR.
        return self.issue_for_public_key(csr.public_key(), subject, validity_days, now)

    def issue_with_generated_key(
        self, subject: SubjectInfo, validity_days: int, now: datetime | None = None
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """Generate a P-256 key pair server-side (eSign) and certify it; the caller must protect the key."""
        key = ec.generate_private_key(ec.SECP256R1())
        return self.issue_for_public_key(key.public_key(), subject, validity_days, now), key

    def issue_for_public_key(
        self, public_key: object, subject: SubjectInfo, validity_days: int, now: datetime | None = None
    ) -> x509.Certificate:
        """Issue an individual certificate for an already-checked public key (CSR or server-generated)."""
        check_public_key(public_key)
        assert isinstance(public_key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey))
        if "@" not in subject.email or len(subject.email) > 254:
            raise InvalidSubject("e-mail address is not valid")
        now = now or datetime.now(UTC)
        # A certificate must not outlive its issuer, or relying parties reject the whole chain.
        not_after = min(now + timedelta(days=validity_days), self.certificate.not_valid_after_utc)
        issuer_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION, MS_DOCUMENT_SIGNING, ID_KP_DOCUMENT_SIGNING]
        builder = (
            x509.CertificateBuilder()
            .subject_name(individual_subject_name(subject, subject_pseudonym(subject.nik, self.pseudonym_salt)))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(new_serial())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(signing_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(subject.email.strip())]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False)
            .add_extension(_crl_distribution(crl_url(self.base_url, self.generation)), critical=False)
            .add_extension(end_entity_access(self.base_url, self.generation), critical=False)
            .add_extension(end_entity_policies(self.policy_oid), critical=False)
        )
        return builder.sign(self.private_key, signature_hash(self.private_key))


def load_issuing_ca(
    root_pem: bytes,
    issuing_pem: bytes,
    wrapped_issuing_key: bytes,
    kek_keys: list[str],
    base_url: str,
    pseudonym_salt: bytes,
    keys: KeyBackend | None = None,
    policy_oid: str = DEFAULT_POLICY_OID,
    generation: int = 1,
) -> IssuingCA:
    """Load the issuing CA key (unwrap it, or find it on the token) and return a ready-to-sign IssuingCA."""
    return IssuingCA(
        certificate=x509.load_pem_x509_certificate(issuing_pem),
        private_key=(keys or SoftwareKeys(kek_keys)).load(wrapped_issuing_key),
        root_certificate=x509.load_pem_x509_certificate(root_pem),
        base_url=base_url,
        pseudonym_salt=pseudonym_salt,
        policy_oid=policy_oid,
        generation=generation,
    )
