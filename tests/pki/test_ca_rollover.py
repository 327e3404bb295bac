"""Issuing-CA rollover: new issuance under a new issuing CA of the same root; old certificates and CRLs stay valid."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from pki_builders import make_csr, make_key, make_subject, one_page_pdf

from pki.embedded import EmbeddedPSrE
from pki.signing import PdfSigningKey, RevocationMaterial, sign_pdf
from pki.validation import VALID, validate_pdf


def _issue(psre: EmbeddedPSrE, suffix: str) -> tuple[x509.Certificate, PdfSigningKey]:
    key = make_key()
    subject_id = psre.register_subject(make_subject(), f"reg-{suffix}")
    issued = psre.issue_from_csr(subject_id, make_csr(key), f"issue-{suffix}")
    certificate = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    chain = x509.load_pem_x509_certificates(issued.chain_pem.encode())
    return certificate, PdfSigningKey(key, certificate, [c for c in chain if c != certificate])


def _issuer_of(psre: EmbeddedPSrE) -> x509.Certificate:
    return x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())[0]


def test_rollover_puts_a_new_issuing_ca_of_the_same_root_in_charge_of_new_issuance(psre: EmbeddedPSrE) -> None:
    old_ca, root = _issuer_of(psre), x509.load_pem_x509_certificate(psre.root_certificate_pem().encode())
    old_cert, _ = _issue(psre, "old")
    new_ca = psre.rollover_issuing_ca()
    assert new_ca.subject != old_ca.subject and new_ca.public_key() != old_ca.public_key()
    new_ca.verify_directly_issued_by(root)
    assert _issuer_of(psre) == new_ca
    new_cert, _ = _issue(psre, "new")
    new_cert.verify_directly_issued_by(new_ca)
    old_cert.verify_directly_issued_by(old_ca)
    for service_pem in (psre.tsa_certificate_pem(), psre.ra_seal_certificate_pem()):
        x509.load_pem_x509_certificate(service_pem.encode()).verify_directly_issued_by(new_ca)


def test_documents_signed_before_the_rollover_still_validate_and_the_old_ca_publishes_revocations(
    psre: EmbeddedPSrE,
) -> None:
    _, old_key = _issue(psre, "old")
    signed = sign_pdf(one_page_pdf(), old_key, reason="Uji", location="Pekalongan", timestamper=psre.timestamper())
    sealed_before = psre.ra_seal().seal_pdf(one_page_pdf())
    old_ca = _issuer_of(psre)
    psre.rollover_issuing_ca()
    root = psre.root_certificate_pem()
    assert validate_pdf(signed, root, psre).verdict == VALID
    assert validate_pdf(sealed_before, root, psre).verdict == VALID
    sealed_after = psre.ra_seal().seal_pdf(one_page_pdf())
    assert validate_pdf(sealed_after, root, psre).verdict == VALID
    psre.revoke(format(old_key.certificate.serial_number, "x"), "keyCompromise", "revoke-old")
    crls = [x509.load_der_x509_crl(d) for d in psre.crl_material().crls]
    old_crls = [c for c in crls if c.issuer == old_ca.subject]
    assert old_crls and old_crls[0].is_signature_valid(old_ca.public_key())
    assert old_crls[0].get_revoked_certificate_by_serial_number(old_key.certificate.serial_number) is not None
    unstamped = sign_pdf(one_page_pdf(), old_key, reason="Uji", location="Pekalongan")
    report = validate_pdf(unstamped, root, psre)
    assert not report.valid and report.signatures[0].revocation_status == "revoked"


def _crl_url(certificate: x509.Certificate) -> str:
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    return str(points[0].full_name[0].value)  # type: ignore[index]


def _ocsp_status(psre: EmbeddedPSrE, certificate: x509.Certificate, issuer: x509.Certificate) -> ocsp.OCSPResponse:
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
    return ocsp.load_der_ocsp_response(psre.ocsp_response_der(request.public_bytes(serialization.Encoding.DER)))


def test_the_retired_ca_keeps_its_own_crl_url_and_answers_ocsp_for_its_certificates(psre: EmbeddedPSrE) -> None:
    old_ca = _issuer_of(psre)
    old_cert, _ = _issue(psre, "old")
    good_cert, _ = _issue(psre, "old-good")
    new_ca = psre.rollover_issuing_ca()
    new_cert, _ = _issue(psre, "new")
    # Each generation names its own CRL: the old certificates' URL keeps serving the old CA's CRL.
    assert _crl_url(old_cert).endswith("/crl") and _crl_url(new_cert).endswith("/crl-g2")
    assert psre.issuing_generation_of(old_cert) == 1 and psre.issuing_generation_of(new_cert) == 2
    psre.revoke(format(old_cert.serial_number, "x"), "keyCompromise", "revoke-old")
    old_crl = x509.load_der_x509_crl(psre.crl_der_of(1))
    new_crl = x509.load_der_x509_crl(psre.crl_der_of(2))
    assert old_crl.issuer == old_ca.subject and old_crl.is_signature_valid(old_ca.public_key())
    assert new_crl.issuer == new_ca.subject and new_crl.is_signature_valid(new_ca.public_key())
    assert old_crl.get_revoked_certificate_by_serial_number(old_cert.serial_number) is not None
    assert old_crl.get_revoked_certificate_by_serial_number(good_cert.serial_number) is None
    # Reading never signs: the same bytes twice.
    assert psre.crl_der_of(1) == psre.crl_der_of(1)
    # OCSP: the retired CA answers for its own certificates, signed with its key.
    revoked = _ocsp_status(psre, old_cert, old_ca)
    good = _ocsp_status(psre, good_cert, old_ca)
    assert revoked.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert good.certificate_status == ocsp.OCSPCertStatus.GOOD
    old_ca.public_key().verify(  # type: ignore[call-arg, union-attr]
        good.signature, good.tbs_response_bytes, ec.ECDSA(good.signature_hash_algorithm)  # type: ignore[arg-type]
    )
    assert _ocsp_status(psre, new_cert, new_ca).certificate_status == ocsp.OCSPCertStatus.GOOD


def test_the_retired_ca_crl_is_published_on_schedule_and_validation_uses_it(
    psre: EmbeddedPSrE, clock: Any
) -> None:
    _, old_key = _issue(psre, "old")
    psre.rollover_issuing_ca()
    first = x509.load_der_x509_crl(psre.crl_der_of(1))
    clock.now += timedelta(hours=2)
    psre.publish_crl()  # the scheduler's job publishes every generation still valid
    second = x509.load_der_x509_crl(psre.crl_der_of(1))
    number = x509.CRLNumber
    assert second.extensions.get_extension_for_class(number).value.crl_number > (
        first.extensions.get_extension_for_class(number).value.crl_number
    )
    assert second.last_update_utc > first.last_update_utc
    unstamped = sign_pdf(one_page_pdf(), old_key, reason="Uji", location="Pekalongan")
    root = psre.root_certificate_pem()
    assert validate_pdf(unstamped, root, psre).signatures[0].revocation_status == "good"
    psre.revoke(format(old_key.certificate.serial_number, "x"), "keyCompromise", "revoke-old")
    # By OCSP alone (no CRL at all) the old CA's certificate reads revoked too.
    material = psre.revocation_material(old_key.certificate)
    assert material.ocsps
    ocsp_only = RevocationMaterial(crls=[c for c in material.crls if c != psre.crl_der_of(1)], ocsps=material.ocsps)
    assert validate_pdf(unstamped, root, ocsp_only).signatures[0].revocation_status == "revoked"
    crl_only = RevocationMaterial(crls=material.crls)
    assert validate_pdf(unstamped, root, crl_only).signatures[0].revocation_status == "revoked"
