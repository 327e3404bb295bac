"""PAdES signing with pyHanko: a prepared signer per key, TSA timestamp, embedded revocation info, stamp."""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from pki.errors import PkiError
from pki.keywrap import CaPrivateKey
from pki.validation_labels import wib

STAMP_TEXT = (
    "Ditandatangani secara elektronik oleh\n%(signer)s\nWaktu: %(waktu)s\nAlasan: %(reason)s\nLokasi: %(location)s"
)
STAMP_STYLE = TextStampStyle(stamp_text=STAMP_TEXT, timestamp_format="%d-%m-%Y %H:%M:%S %Z")
STAMP_SIZE = (260, 78)
STAMP_MARGIN = 36
CLOCK_SKEW = timedelta(minutes=5)
DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class SigningFailed(PkiError):
    """The PDF could not be signed (unreadable PDF, encrypted PDF, or revocation info unavailable)."""


@dataclass(frozen=True)
class RevocationMaterial:
    """CRLs and OCSP responses (DER) to put into a ValidationContext instead of fetching them."""

    crls: list[bytes] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)


class RevocationSource(Protocol):
    """Anything that can hand over current revocation info for a certificate without the network."""

    def revocation_material(self, certificate: x509.Certificate) -> RevocationMaterial:
        """Return CRLs / OCSP responses that cover `certificate` and its CA chain."""
        ...


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _LoadedKeySigner(signers.Signer):
    """pyHanko signer over a key object that only signs: a loaded software key or a PKCS#11 token key.

    It never asks for the private key bytes (SimpleSigner would want PKCS#8 and parse them for every
    raw signature, twice per PDF); the size-estimation pass gets a placeholder of the maximal
    signature length instead of a real signature, so a PDF costs one private-key operation.
    """

    def __init__(self, private_key: CaPrivateKey, certificate: x509.Certificate, chain: Sequence[x509.Certificate]):
        registry = SimpleCertificateStore()
        registry.register_multiple([_asn1_cert(c) for c in chain])
        super().__init__(signing_cert=_asn1_cert(certificate), cert_registry=registry)
        self._key = private_key
        if isinstance(private_key, rsa.RSAPrivateKey):
            self._placeholder_length = (private_key.key_size + 7) // 8
        else:
            # DER ECDSA signature: SEQUENCE of two INTEGERs, each at most one byte longer than the order.
            self._placeholder_length = 2 * ((private_key.curve.key_size + 7) // 8 + 3) + 3

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        """Sign with the loaded key; a dry run (size estimate) costs no private-key operation."""
        if dry_run:
            return bytes(self._placeholder_length)
        return self.sign_raw(data, digest_algorithm)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Produce the raw signature with the already-loaded key (PKCS#1 v1.5 or ECDSA)."""
        digest = DIGESTS[digest_algorithm.lower()]
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), digest)
        return self._key.sign(data, ec.ECDSA(digest))


class PdfSigningKey:
    """An owner's (or the RA's) key, certificate and CA chain, prepared once and reused per signature."""

    def __init__(
        self, private_key: CaPrivateKey, certificate: x509.Certificate, chain: Sequence[x509.Certificate]
    ) -> None:
        """Load everything pyHanko needs now, so that signing does no parsing of key material."""
        self.certificate = certificate
        self.chain = list(chain)
        self.signer = _LoadedKeySigner(private_key, certificate, self.chain)
        self.trust_root = self.chain[-1] if self.chain else certificate
        self._asn1_chain = [_asn1_cert(c) for c in self.chain]
        self.signer_name = _common_name(certificate)

    def validation_context(self, material: RevocationMaterial) -> ValidationContext:
        """Build an offline ValidationContext: our root as the only anchor, the given revocation info."""
        return ValidationContext(
            trust_roots=[_asn1_cert(self.trust_root)],
            other_certs=self._asn1_chain,
            crls=material.crls,
            ocsps=material.ocsps,
            allow_fetching=False,
            revocation_mode="hard-fail",
            # The PSrE's clock may run a little ahead of the signer's (another host): an OCSP answer made
            # there is not "too recent" here. openssl allows the same 5 minutes on OCSP times.
            time_tolerance=CLOCK_SKEW,
        )


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def _field_spec(writer: IncrementalPdfFileWriter, visible: bool) -> fields.SigFieldSpec:
    existing = sum(1 for _ in fields.enumerate_sig_fields(writer))
    name = f"TandaTangan{existing + 1}_{secrets.token_hex(3)}"
    if not visible:
        return fields.SigFieldSpec(sig_field_name=name)
    width, height = STAMP_SIZE
    # Stack stamps upwards from the bottom-left corner of the last page so co-signers do not overlap.
    x1, y1 = STAMP_MARGIN, STAMP_MARGIN + existing * (height + 6)
    return fields.SigFieldSpec(sig_field_name=name, on_page=-1, box=(x1, y1, x1 + width, y1 + height))


def _material(
    revocation: RevocationSource, certificate: x509.Certificate, writer: IncrementalPdfFileWriter
) -> RevocationMaterial:
    """Revocation info for the signer and, on a document that already has one, the newest document
    timestamp's TSA (pyHanko validates that timestamp before adding a B-LTA signature; its TSA certificate
    may be an older one, e.g. from before a renewal or an issuing-CA rollover)."""
    material = revocation.revocation_material(certificate)
    try:
        stamps = list(writer.prev.embedded_timestamp_signatures)
        newest = max(stamps, key=lambda s: s.signed_revision).signer_cert if stamps else None
        tsa = x509.load_der_x509_certificate(newest.dump()) if newest is not None else None
    except (PdfError, ValueError, KeyError, TypeError):
        return material  # pyHanko itself reports an unreadable timestamp when it validates it
    if tsa is None or tsa == certificate:
        return material
    more = revocation.revocation_material(tsa)
    return RevocationMaterial(
        crls=material.crls + [der for der in more.crls if der not in material.crls],
        ocsps=material.ocsps + more.ocsps,
    )


def sign_pdf(
    pdf_bytes: bytes,
    key: PdfSigningKey,
    *,
    reason: str,
    location: str,
    visible: bool = True,
    timestamper: TimeStamper | None = None,
    revocation: RevocationSource | None = None,
    lta: bool = True,
) -> bytes:
    """Sign a PDF as PAdES: B-B alone, B-T with a timestamper, B-LT with revocation, B-LTA with both + lta.

    B-LT/B-LTA embed the chain, CRLs and OCSP responses (DSS) from `revocation`, never from the network.
    """
    ltv = revocation is not None
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        material = _material(revocation, key.certificate, writer) if revocation is not None else None
        spec = _field_spec(writer, visible)
        meta = signers.PdfSignatureMetadata(
            field_name=spec.sig_field_name,
            md_algorithm="sha256",
            reason=reason,
            location=location,
            name=key.signer_name,
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=ltv,
            use_pades_lta=ltv and lta and timestamper is not None,
            validation_context=key.validation_context(material) if material is not None else None,
        )
        pdf_signer = signers.PdfSigner(
            meta,
            signer=key.signer,
            timestamper=timestamper,
            stamp_style=STAMP_STYLE if visible else None,
            new_field_spec=spec,
        )
        # The stamp's time in WIB, as people in Pekalongan read it: pyHanko fills its own `ts` in UTC, so the
        # text names `waktu`, taken as the signing starts (the signature's own time is within the same second).
        params = {"reason": reason, "location": location, "signer": key.signer_name, "waktu": wib(datetime.now(UTC))}
        output = pdf_signer.sign_pdf(writer, appearance_text_params=params)
    except (PdfError, SigningError, ValueError) as exc:
        raise SigningFailed(f"PDF tidak dapat ditandatangani: {exc}") from exc
    return bytes(output.getvalue())


class RaSeal:
    """The RA's organisation seal: signs what the RA produces (decision letters, archived dossiers)."""

    def __init__(
        self,
        key: PdfSigningKey,
        timestamper: TimeStamper | None,
        revocation: RevocationSource | None,
    ) -> None:
        """Keep the prepared seal key, the TSA and the revocation source for every seal."""
        self.key = key
        self.timestamper = timestamper
        self.revocation = revocation

    @property
    def certificate(self) -> x509.Certificate:
        """Return the RA seal certificate."""
        return self.key.certificate

    def seal_pdf(
        self,
        pdf_bytes: bytes,
        reason: str = "Disegel oleh Otoritas Pendaftaran Kota Pekalongan",
        location: str = "Kota Pekalongan",
        visible: bool = True,
    ) -> bytes:
        """Seal a PDF with the RA certificate as PAdES B-LTA."""
        return sign_pdf(
            pdf_bytes,
            self.key,
            reason=reason,
            location=location,
            visible=visible,
            timestamper=self.timestamper,
            revocation=self.revocation,
        )
