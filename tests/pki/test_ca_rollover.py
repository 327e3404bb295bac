"""Issuing-CA rollover: new issuance under a new issuing CA of the same root; old certificates and CRLs stay valid."""

from __future__ import annotations

from cryptography import x509
from pki_builders import make_csr, make_key, make_subject, one_page_pdf

from pki.embedded import EmbeddedPSrE
from pki.signing import PdfSigningKey, sign_pdf
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
    crls = [x509.load_der_x509_crl(d) for d in psre.revocation_material().crls]
    old_crls = [c for c in crls if c.issuer == old_ca.subject]
    assert old_crls and old_crls[0].is_signature_valid(old_ca.public_key())
    assert old_crls[0].get_revoked_certificate_by_serial_number(old_key.certificate.serial_number) is not None
    unstamped = sign_pdf(one_page_pdf(), old_key, reason="Uji", location="Pekalongan")
    report = validate_pdf(unstamped, root, psre)
    assert not report.valid and report.signatures[0].revocation_status == "revoked"
