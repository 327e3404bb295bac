"""A timestamp counts as proof of existence only when its TSA certificate's revocation status is known."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import crl as asn1_crl
from cryptography import x509
from hostile_builders import foreign_tsa_with_crl, owner_key
from pki_builders import FakeClock, one_page_pdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore

from pki.embedded import EmbeddedPSrE
from pki.signing import PdfSigningKey, RevocationMaterial, sign_pdf
from pki.validation import validate_pdf


@pytest.fixture
def clock() -> FakeClock:
    """The PSrE starts three hours ago, so issuing, revoking and signing happen at distinct past times."""
    started = FakeClock()
    started.now -= timedelta(hours=3)
    return started


@dataclass
class WithForeignCrl:
    """Our PSrE's revocation material plus a foreign TSA's CRL (what a validator may have been given)."""

    psre: EmbeddedPSrE
    extra_crl: bytes

    def revocation_material(self, certificate: x509.Certificate) -> RevocationMaterial:
        ours = self.psre.revocation_material(certificate)
        return RevocationMaterial(crls=[*ours.crls, self.extra_crl], ocsps=ours.ocsps)


def _revoked_after_a_stamped_signature(
    psre: EmbeddedPSrE, clock: FakeClock, *, tsa_revoked: bool = False
) -> tuple[bytes, str, bytes]:
    """A signature stamped 90 minutes ago by a foreign TSA, its signer revoked an hour ago."""
    real_now = datetime.now(UTC)
    clock.now = real_now - timedelta(hours=2)
    key: PdfSigningKey = owner_key(psre)
    tsa, tsa_root, tsa_crl = foreign_tsa_with_crl(lambda: real_now - timedelta(minutes=90), revoked=tsa_revoked)
    signed = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=tsa)
    clock.now = real_now - timedelta(hours=1)
    psre.revoke(format(key.certificate.serial_number, "x"), "keyCompromise", "rv-1")
    return signed, tsa_root, tsa_crl


def test_a_timestamp_whose_tsa_revocation_status_is_unknown_is_no_proof_of_existence(
    psre: EmbeddedPSrE, clock: FakeClock
) -> None:
    signed, tsa_root, _ = _revoked_after_a_stamped_signature(psre, clock)
    ours = psre.root_certificate_pem()
    report = validate_pdf(signed, ours, psre, tsa_roots_pem=[ours, tsa_root])
    sig = report.signatures[0]
    # Without the TSA's CRL/OCSP the token's time proves nothing: the revoked signer is judged now.
    assert not sig.timestamped and sig.best_proven_time is None
    assert (sig.indication, sig.sub_indication) == ("INDETERMINATE", "REVOKED_NO_POE")
    assert "status pencabutan sertifikat TSA" in sig.timestamp_reason
    assert not report.valid
    blocks = {b.key: b for b in sig.building_blocks}
    assert not blocks["timestamps"].ok and "status pencabutan" in blocks["timestamps"].reason


def test_the_same_timestamp_counts_once_the_tsa_crl_is_available(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    signed, tsa_root, tsa_crl = _revoked_after_a_stamped_signature(psre, clock)
    ours = psre.root_certificate_pem()
    report = validate_pdf(signed, ours, WithForeignCrl(psre, tsa_crl), tsa_roots_pem=[ours, tsa_root])
    sig = report.signatures[0]
    assert sig.timestamped and sig.best_proven_time is not None
    assert report.valid and sig.indication == "TOTAL_PASSED"


def test_the_tsa_crl_embedded_in_the_pdf_counts_too(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    signed, tsa_root, tsa_crl = _revoked_after_a_stamped_signature(psre, clock)
    out = io.BytesIO(signed)
    DocumentSecurityStore.add_dss(out, None, crls=[asn1_crl.CertificateList.load(tsa_crl)])
    ours = psre.root_certificate_pem()
    sig = validate_pdf(out.getvalue(), ours, psre, tsa_roots_pem=[ours, tsa_root]).signatures[0]
    assert sig.timestamped and sig.valid


def test_a_timestamp_from_a_revoked_tsa_does_not_count(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    signed, tsa_root, tsa_crl = _revoked_after_a_stamped_signature(psre, clock, tsa_revoked=True)
    ours = psre.root_certificate_pem()
    report = validate_pdf(signed, ours, WithForeignCrl(psre, tsa_crl), tsa_roots_pem=[ours, tsa_root])
    sig = report.signatures[0]
    assert not sig.timestamped and sig.sub_indication == "REVOKED_NO_POE"
    assert "tidak diakui" in sig.timestamp_reason


def test_our_own_tsa_without_any_revocation_data_is_no_proof_either(psre: EmbeddedPSrE, clock: FakeClock) -> None:
    clock.now = datetime.now(UTC)
    signed = sign_pdf(one_page_pdf(), owner_key(psre), reason="r", location="l", timestamper=psre.timestamper())
    bare = validate_pdf(signed, psre.root_certificate_pem(), None).signatures[0]
    assert not bare.timestamped and "status pencabutan sertifikat TSA" in bare.timestamp_reason
    with_source = validate_pdf(signed, psre.root_certificate_pem(), psre).signatures[0]
    assert with_source.timestamped and with_source.valid and with_source.level == "B-T"


def test_a_document_timestamp_without_tsa_revocation_data_is_indeterminate_try_later(
    psre: EmbeddedPSrE, clock: FakeClock
) -> None:
    clock.now = datetime.now(UTC)
    signed = sign_pdf(one_page_pdf(), owner_key(psre), reason="r", location="l")
    out = io.BytesIO()
    PdfTimeStamper(psre.timestamper()).timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(signed)), "sha256", output=out)
    root = psre.root_certificate_pem()
    bare_report = validate_pdf(out.getvalue(), root, None)
    bare = bare_report.document_timestamps[0]
    assert bare_report.signatures[0].best_proven_time is None
    assert (bare.indication, bare.sub_indication) == ("INDETERMINATE", "TRY_LATER")
    assert not bare.timestamped and "status pencabutan sertifikat TSA" in bare.timestamp_reason
    given = validate_pdf(out.getvalue(), root, psre)
    assert given.document_timestamps[0].indication == "TOTAL_PASSED"
    assert given.signatures[0].best_proven_time is not None  # the document timestamp proves the signature
