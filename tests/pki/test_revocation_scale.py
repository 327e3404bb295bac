"""A PSrE that has revoked 10,000 certificates: sealed PDFs carry OCSP answers, not the 530 KB CRL."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pki_builders import FakeClock, bulk_revoke, make_csr, make_key, make_subject, one_page_pdf
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore

from pki import archive
from pki.embedded import EmbeddedPSrE
from pki.signing import PdfSigningKey, sign_pdf
from pki.validation import validate_pdf

REVOKED = 10_000
LIMIT = 60_000


@pytest.fixture
def crowded_psre(psre: EmbeddedPSrE) -> EmbeddedPSrE:
    """The PSrE after 10,000 revocations (bulk rows, one CRL published listing them all)."""
    started = time.perf_counter()
    bulk_revoke(psre, REVOKED)
    assert time.perf_counter() - started < 20
    crl = x509.load_der_x509_crl(psre.crl_der())
    assert len(crl) == REVOKED and len(psre.crl_der()) > 400_000
    return psre


def _crl_number(psre: EmbeddedPSrE) -> int:
    crl = x509.load_der_x509_crl(psre.crl_der())
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def _root(psre: EmbeddedPSrE) -> asn1_x509.Certificate:
    cert = x509.load_pem_x509_certificate(psre.root_certificate_pem().encode())
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _pyhanko_verdict(pdf: bytes, psre: EmbeddedPSrE) -> bool:
    """pyHanko alone, hard-fail, anchored at our root, with only what the PDF embeds (DSS)."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = DocumentSecurityStore.read_dss(reader)
    kwargs = {"trust_roots": [_root(psre)], "allow_fetching": False, "revocation_mode": "hard-fail"}
    ok = True
    for stamp in reader.embedded_timestamp_signatures:
        status = validate_pdf_timestamp(stamp, validation_context=dss.as_validation_context(kwargs))
        ok = ok and bool(status.intact and status.valid and status.trusted)
    for signature in reader.embedded_regular_signatures:
        status = validate_pdf_signature(signature, signer_validation_context=dss.as_validation_context(kwargs))
        ok = ok and status.bottom_line and status.timestamp_validity is not None and status.timestamp_validity.trusted
    return ok


def _dss_crls(pdf: bytes) -> list[asn1_crl.CertificateList]:
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(pdf), strict=False))
    return [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls]


def test_sealed_pdf_stays_small_and_validates_offline_with_10000_revoked(crowded_psre: EmbeddedPSrE) -> None:
    number = _crl_number(crowded_psre)
    sealed = crowded_psre.ra_seal().seal_pdf(one_page_pdf())
    again = crowded_psre.ra_seal().seal_pdf(one_page_pdf("Surat kedua"))

    assert len(sealed) < LIMIT and len(again) < LIMIT
    # Sealing signs no CRL: the stored one (published on revocation) is left as it was.
    assert _crl_number(crowded_psre) == number
    # The DSS carries OCSP answers; the only CRL in it is the root's (it lists no certificate).
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(sealed), strict=False))
    assert len(list(dss.ocsps)) >= 2
    assert all(len(c["tbs_cert_list"]["revoked_certificates"]) == 0 for c in _dss_crls(sealed))
    assert all(c["tbs_cert_list"]["issuer"] == _root(crowded_psre).subject for c in _dss_crls(sealed))

    report = validate_pdf(sealed, crowded_psre.root_certificate_pem())  # no source: the PDF alone
    assert report.simple_verdict == "Sah", report.to_dict()
    assert report.signatures[0].level == "B-LTA" and report.signatures[0].timestamped
    assert _pyhanko_verdict(sealed, crowded_psre)


def test_archive_renewal_keeps_the_pdf_small_and_valid(crowded_psre: EmbeddedPSrE) -> None:
    sealed = crowded_psre.ra_seal().seal_pdf(one_page_pdf())
    root = x509.load_pem_x509_certificate(crowded_psre.root_certificate_pem().encode())
    renewed = archive.add_archive_timestamp(
        sealed, crowded_psre.timestamper(), [root], crowded_psre.revocation_material()
    )

    assert len(renewed) < LIMIT
    report = validate_pdf(renewed, crowded_psre.root_certificate_pem())
    assert report.simple_verdict == "Sah", report.to_dict()
    assert len(report.document_timestamps) == 2 and all(t.valid for t in report.document_timestamps)
    assert _pyhanko_verdict(renewed, crowded_psre)


def test_a_revoked_signer_among_many_is_caught_by_its_ocsp_answer(crowded_psre: EmbeddedPSrE, clock: FakeClock) -> None:
    key = make_key()
    subject_id = crowded_psre.register_subject(make_subject(), "reg-scale")
    issued = crowded_psre.issue_from_csr(subject_id, make_csr(key), "issue-scale")
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
    signed = sign_pdf(
        one_page_pdf(),
        PdfSigningKey(key, certificate, chain),
        reason="Menyetujui",
        location="Kota Pekalongan",
        timestamper=crowded_psre.timestamper(),
        revocation=crowded_psre,
    )
    assert len(signed) < LIMIT
    good = crowded_psre.revocation_material(certificate)
    assert all(len(der) < 10_000 for der in [*good.crls, *good.ocsps])
    assert crowded_psre.revocation_material(certificate).ocsps == good.ocsps  # reused while nothing is revoked
    assert validate_pdf(signed, crowded_psre.root_certificate_pem(), crowded_psre).simple_verdict == "Sah"

    clock.now += timedelta(minutes=1)
    crowded_psre.revoke(issued.serial_hex, "keyCompromise", "revoke-scale")
    # Revoked, its OCSP answer says so; the CRL comes along (only now) to show it was good before.
    material = crowded_psre.revocation_material(certificate)
    assert crowded_psre.crl_der() in material.crls
    assert material.ocsps[0] != good.ocsps[0]  # the revocation published a CRL: no answer is reused
    # Signed before the revocation and timestamped: still valid, and the source's OCSP answer knows it is revoked.
    report = validate_pdf(signed, crowded_psre.root_certificate_pem(), crowded_psre)
    assert report.simple_verdict == "Sah"
    unsigned = one_page_pdf("Sesudah dicabut")
    late = sign_pdf(unsigned, PdfSigningKey(key, certificate, chain), reason="x", location="y")
    late_report = validate_pdf(late, crowded_psre.root_certificate_pem(), crowded_psre)
    assert late_report.signatures[0].revocation_status == "revoked"
    assert late_report.simple_verdict != "Sah"
