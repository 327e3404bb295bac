"""Builders of hostile signed PDFs: a self-made TSA, self-signed signers, foreign roots, shadowed pages."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from pki.embedded import EmbeddedPSrE
from pki.service_certs import ServiceIdentity
from pki.signing import PdfSigningKey
from pki.tsa import PsreTimeStamper
from tests.pki.pki_builders import make_csr, make_key, make_subject


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def self_signed(
    common_name: str, *, ca: bool, eku: list[x509.ObjectIdentifier] | None = None, days: int = 365
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Build a self-signed P-256 certificate (a rogue root, or a signer that is its own root)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return key, builder.sign(key, hashes.SHA256())


def rogue_timestamper(claimed: Callable[[], datetime]) -> PsreTimeStamper:
    """A TSA anyone can set up: its own root, a proper timeStamping certificate, and a clock it chooses."""
    return foreign_tsa(claimed)[0]


class CarelessTimeStamper(PsreTimeStamper):
    """A TSA that stamps even with an expired certificate (ours refuses to)."""

    checks_own_validity = False


def foreign_tsa(claimed: Callable[[], datetime], expired_days_ago: int | None = None) -> tuple[PsreTimeStamper, str]:
    """Another organisation's TSA and its root (PEM), to be trusted only when configured as an anchor."""
    tsa, root_pem, _ = foreign_tsa_with_crl(claimed, expired_days_ago)
    return tsa, root_pem


def foreign_tsa_with_crl(
    claimed: Callable[[], datetime], expired_days_ago: int | None = None, *, revoked: bool = False
) -> tuple[PsreTimeStamper, str, bytes]:
    """Like `foreign_tsa`, plus a current CRL (DER) of its root that covers the TSA certificate.

    With `revoked` the CRL lists the TSA certificate as revoked (keyCompromise) a week ago.
    """
    root_key, root = self_signed("Rogue Root", ca=True)
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Rogue TSA"))
        .issuer_name(root.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=365 if expired_days_ago is None else -expired_days_ago))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now - timedelta(days=1))
        .next_update(now + timedelta(days=7))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
    )
    if revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - timedelta(days=7))
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        crl = crl.add_revoked_certificate(entry)
    crl_der = crl.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    root_pem = root.public_bytes(serialization.Encoding.PEM).decode()
    return CarelessTimeStamper(ServiceIdentity(cert, tsa_key), [root], clock=claimed), root_pem, crl_der


def owner_key(psre: EmbeddedPSrE, tag: str = "owner") -> PdfSigningKey:
    """Issue a certificate from the PSrE for a fresh P-256 key and prepare it for signing."""
    key = make_key("ec")
    subject_id = psre.register_subject(make_subject(), f"reg-{tag}")
    issued = psre.issue_from_csr(subject_id, make_csr(key), f"issue-{tag}")
    chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
    return PdfSigningKey(key, x509.load_pem_x509_certificate(issued.certificate_pem.encode()), chain)


def self_signed_key() -> PdfSigningKey:
    """A signer whose certificate is its own root."""
    key, cert = self_signed("Siti Rahmawati", ca=False)
    return PdfSigningKey(key, cert, [])


def overlay_page(pdf: bytes, text: bytes) -> bytes:
    """Add an incremental revision that draws new content over page 1 (a shadow attack)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    overlay = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 30 Tf 72 500 Td (" + text + b") Tj ET"))
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), overlay])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def flip_signature_value(pdf: bytes, index: int = -1) -> bytes:
    """Change one hex digit inside the raw signature value of the `index`-th signature (bytes tampered)."""
    embedded = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[index]
    value = embedded.signer_info["signature"].native.hex().encode()
    at = pdf.lower().find(value)
    assert at > 0, "signature value not found in /Contents"
    middle = at + len(value) // 2
    flipped = b"0" if pdf[middle : middle + 1] != b"0" else b"1"
    return pdf[:middle] + flipped + pdf[middle + 1 :]


def replace_page_content(pdf: bytes, text: bytes) -> bytes:
    """Add an incremental revision that replaces page 1's content stream (content changed after signing)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 30 Tf 72 500 Td (" + text + b") Tj ET")
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def expired_chain() -> tuple[str, PdfSigningKey]:
    """A root we trust and a signer certificate from it that expired yesterday."""
    root_key, root = self_signed("Uji Root Kedaluwarsa", ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Siti Rahmawati"))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=60))
        .not_valid_after(now - timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return root.public_bytes(serialization.Encoding.PEM).decode(), PdfSigningKey(key, cert, [root])
