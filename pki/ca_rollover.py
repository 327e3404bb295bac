"""Issuing-CA rollover: a new issuing CA under the same root, and CRLs the retired ones keep publishing."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from pki import ca, status
from pki.key_backend import KeyBackend
from pki.keywrap import CaPrivateKey

ISSUING_COMMON_NAME = "Issuing CA Pemerintah Kota Pekalongan (UJI COBA)"


def issuing_common_name(generation: int) -> str:
    """The CN of an issuing CA generation: the first keeps the original name, later ones carry their number."""
    if generation <= 1:
        return ISSUING_COMMON_NAME
    return ISSUING_COMMON_NAME.replace(" (UJI COBA)", f" G{generation} (UJI COBA)")


def new_issuing_ca(
    root_certificate: x509.Certificate,
    root_key: CaPrivateKey,
    keys: KeyBackend,
    base_url: str,
    generation: int,
    now: datetime,
) -> tuple[x509.Certificate, bytes]:
    """Create the next issuing CA (same key type as the root) signed by the root; return it and its key reference.

    A distinct name per generation keeps CRLs apart: a relying party matches a CRL to a certificate by issuer
    name, and both generations publish CRLs while certificates of the old one are still valid.
    """
    # Same family as the root: RSA roots (created with algorithm rsa-3072) get an RSA successor.
    algorithm = "rsa-3072" if isinstance(root_key, rsa.RSAPrivateKey) else "ec-p384"
    key, reference = keys.generate(f"issuing-g{generation}", algorithm)  # the key backend (software or PKCS#11)
    root_ski = root_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(ca._ca_name(issuing_common_name(generation)))
        .issuer_name(root_certificate.subject)
        .public_key(key.public_key())
        .serial_number(ca.new_serial())
        .not_valid_before(now - ca.CLOCK_SKEW)
        .not_valid_after(min(now + ca.ISSUING_VALIDITY, root_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca._ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False)
        .add_extension(ca._crl_distribution(ca.root_crl_url(base_url)), critical=False)
        .sign(root_key, ca.signature_hash(root_key))
    )
    return certificate, reference


def retired_crl(
    certificate: x509.Certificate,
    key: CaPrivateKey,
    revoked: list[status.RevokedEntry],
    number: int,
    now: datetime,
    next_update: datetime,
) -> x509.CertificateRevocationList:
    """A CRL of a retired issuing CA: it lists every revoked serial, so its own certificates are covered."""
    return status.build_crl(certificate, key, revoked, number, now, next_update)
