"""Tests of pki.ca and pki.keywrap: hierarchy, key wrapping and rotation, the individual profile."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from pki_builders import BASE_URL, make_csr, make_key, make_subject

from pki import ca
from pki.errors import InvalidCsr, InvalidSubject, KeyDecryptionFailed, UnsupportedKey
from pki.keywrap import unwrap_private_key


def _issuing_ca(kek: str) -> ca.IssuingCA:
    hierarchy = ca.create_hierarchy([kek], BASE_URL)
    return ca.IssuingCA(
        certificate=hierarchy.issuing_certificate,
        private_key=unwrap_private_key(hierarchy.wrapped_issuing_key, [kek]),
        root_certificate=hierarchy.root_certificate,
        base_url=BASE_URL,
        pseudonym_salt=b"s" * 32,
    )


def test_hierarchy_has_self_signed_root_and_issuing_ca_signed_by_it(kek: str) -> None:
    now = datetime.now(UTC)
    hierarchy = ca.create_hierarchy([kek], BASE_URL, now=now)
    root, issuing = hierarchy.root_certificate, hierarchy.issuing_certificate
    root.verify_directly_issued_by(root)
    issuing.verify_directly_issued_by(root)
    assert "Pemerintah Kota Pekalongan" in root.subject.rfc4514_string()
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert issuing.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    assert root.not_valid_after_utc - now > timedelta(days=20 * 365)
    assert timedelta(days=10 * 365) < issuing.not_valid_after_utc - now < timedelta(days=11 * 365)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert root.public_key().curve.name == "secp384r1"


def test_hierarchy_keys_are_wrapped_and_only_open_with_the_kek(kek: str) -> None:
    hierarchy = ca.create_hierarchy([kek], BASE_URL)
    assert b"PRIVATE KEY" not in hierarchy.wrapped_issuing_key
    key = unwrap_private_key(hierarchy.wrapped_issuing_key, [kek])
    assert key.public_key() == hierarchy.issuing_certificate.public_key()
    with pytest.raises(KeyDecryptionFailed):
        unwrap_private_key(hierarchy.wrapped_issuing_key, [Fernet.generate_key().decode()])


def test_rewrap_moves_a_key_to_the_new_kek_so_the_old_one_can_be_retired(kek: str) -> None:
    hierarchy = ca.create_hierarchy([kek], BASE_URL)
    new_kek = Fernet.generate_key().decode()
    rotated = ca.rewrap(hierarchy.wrapped_root_key, [new_kek, kek])
    key = unwrap_private_key(rotated, [new_kek])
    assert key.public_key() == hierarchy.root_certificate.public_key()
    with pytest.raises(KeyDecryptionFailed):
        unwrap_private_key(rotated, [kek])


def test_individual_certificate_has_the_signing_profile(kek: str) -> None:
    issuing = _issuing_ca(kek)
    subject = make_subject()
    cert = issuing.issue_from_csr(make_csr(), subject, validity_days=730)
    ext = cert.extensions
    key_usage = ext.get_extension_for_class(x509.KeyUsage)
    assert key_usage.critical
    assert key_usage.value.digital_signature and key_usage.value.content_commitment
    assert not key_usage.value.key_cert_sign
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert ObjectIdentifier("1.3.6.1.4.1.311.10.3.12") in eku
    assert ObjectIdentifier("1.3.6.1.5.5.7.3.36") in eku
    assert ext.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name
    ) == [subject.email]
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    crl_dp = ext.get_extension_for_class(x509.CRLDistributionPoints).value[0].full_name
    assert crl_dp == [x509.UniformResourceIdentifier(BASE_URL + "/crl")]
    aia = ext.get_extension_for_class(x509.AuthorityInformationAccess).value[0]
    assert aia.access_location == x509.UniformResourceIdentifier(BASE_URL + "/ocsp")
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    issuer_ski = issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki == issuer_ski.value.digest
    assert ext.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert.verify_directly_issued_by(issuing.certificate)


def test_certificate_subject_comes_from_ra_data_not_from_the_csr(kek: str) -> None:
    subject = make_subject()
    cert = _issuing_ca(kek).issue_from_csr(make_csr(common_name="Mallory"), subject, validity_days=730)
    name = cert.subject
    assert name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == subject.name
    assert name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == subject.agency
    assert name.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "ID"
    assert name.get_attributes_for_oid(NameOID.LOCALITY_NAME)[0].value == "Kota Pekalongan"
    assert "Mallory" not in name.rfc4514_string()


def test_certificate_carries_a_pseudonym_never_the_nik(kek: str) -> None:
    subject = make_subject()
    cert = _issuing_ca(kek).issue_from_csr(make_csr(), subject, validity_days=730)
    serial_attr = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value
    # EN 319 412-1 5.1.3 form with a local identity type ("PS:" + country + "-"): not a claimed NIK.
    assert serial_attr == "PS:ID-" + ca.subject_pseudonym(subject.nik, b"s" * 32).removeprefix("PID-")
    assert serial_attr.startswith("PS:ID-") and len(serial_attr) == 26
    assert subject.nik.encode() not in cert.tbs_certificate_bytes
    assert ca.subject_pseudonym(subject.nik, b"other salt").removeprefix("PID-") not in serial_attr


def test_natural_person_names_follow_en_319_412_2(kek: str) -> None:
    issuing = _issuing_ca(kek)
    split = issuing.issue_from_csr(make_csr(), make_subject(given_name="Siti", surname="Rahmawati"), 730).subject
    assert split.get_attributes_for_oid(NameOID.GIVEN_NAME)[0].value == "Siti"
    assert split.get_attributes_for_oid(NameOID.SURNAME)[0].value == "Rahmawati"
    whole = issuing.issue_from_csr(make_csr(), make_subject(name="Sukarno"), 730).subject
    assert not whole.get_attributes_for_oid(NameOID.GIVEN_NAME)
    assert whole.get_attributes_for_oid(NameOID.SURNAME)[0].value == "Sukarno"


def test_certificates_carry_the_policy_oid_and_ca_issuers(kek: str) -> None:
    issuing = replace(_issuing_ca(kek), policy_oid="1.3.6.1.4.1.32473.9.9")
    cert = issuing.issue_from_csr(make_csr(), make_subject(), 730)
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["1.3.6.1.4.1.32473.9.9"]
    access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    methods = {a.access_method: a.access_location.value for a in access}
    assert methods[AuthorityInformationAccessOID.CA_ISSUERS] == issuing.base_url.rstrip("/") + "/ca.cer"
    assert methods[AuthorityInformationAccessOID.OCSP] == issuing.base_url.rstrip("/") + "/ocsp"


def test_serial_is_random_positive_and_at_least_128_bits(kek: str) -> None:
    issuing = _issuing_ca(kek)
    serials = {issuing.issue_from_csr(make_csr(), make_subject(), 30).serial_number for _ in range(5)}
    assert len(serials) == 5
    assert all(128 <= s.bit_length() <= 159 for s in serials)


def test_certificate_never_outlives_the_issuing_ca(kek: str) -> None:
    issuing = _issuing_ca(kek)
    cert = issuing.issue_from_csr(make_csr(), make_subject(), validity_days=365 * 50)
    assert cert.not_valid_after_utc == issuing.certificate.not_valid_after_utc


def test_csr_with_bad_signature_is_rejected(kek: str) -> None:
    pem = make_csr(common_name="Original Name")
    der = x509.load_pem_x509_csr(pem.encode()).public_bytes(Encoding.DER)
    tampered = der.replace(b"Original Name", b"Tampered Name")
    tampered_pem = x509.load_der_x509_csr(tampered).public_bytes(Encoding.PEM).decode()
    with pytest.raises(InvalidCsr, match="signature"):
        _issuing_ca(kek).issue_from_csr(tampered_pem, make_subject(), 730)


def test_garbage_csr_is_rejected(kek: str) -> None:
    with pytest.raises(InvalidCsr):
        _issuing_ca(kek).issue_from_csr("not a csr", make_subject(), 730)


@pytest.mark.parametrize("kind", ["rsa1024", "secp256k1"])
def test_weak_or_unsupported_keys_are_rejected(kek: str, kind: str) -> None:
    with pytest.raises(UnsupportedKey):
        _issuing_ca(kek).issue_from_csr(make_csr(make_key(kind)), make_subject(), 730)


def test_rsa_2048_csr_is_accepted(kek: str) -> None:
    cert = _issuing_ca(kek).issue_from_csr(make_csr(make_key("rsa2048")), make_subject(), 730)
    assert cert.public_key().key_size == 2048


def test_over_long_name_is_rejected(kek: str) -> None:
    with pytest.raises(InvalidSubject):
        _issuing_ca(kek).issue_from_csr(make_csr(), make_subject(name="x" * 65), 730)


def test_generated_key_is_certified_for_server_held_signing(kek: str) -> None:
    cert, key = _issuing_ca(kek).issue_with_generated_key(make_subject(), 730)
    assert cert.public_key() == key.public_key()


def test_rsa_hierarchy_is_supported(kek: str) -> None:
    hierarchy = ca.create_hierarchy([kek], BASE_URL, algorithm="rsa-3072")
    assert hierarchy.root_certificate.public_key().key_size == 3072
    hierarchy.issuing_certificate.verify_directly_issued_by(hierarchy.root_certificate)
