"""Form schemas of SOP 088.9: good submissions load, bad ones fail with Indonesian messages."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from marshmallow import Schema, ValidationError

from engine import registry
from engine.terms import owner_terms
from handlers.forms import (
    ActivationSchema,
    DeliverySchema,
    EsignActivationSchema,
    RecommendationSchema,
    RegistrationSchema,
    VerificationSchema,
)

HEAD_NIP = "197501012000031002"


def errors_of(schema: Schema, data: Any) -> dict[str, Any]:
    """Load `data` and return the validation errors (fails the test when it loads)."""
    with pytest.raises(ValidationError) as caught:
        schema.load(data)
    messages = caught.value.messages
    assert isinstance(messages, dict)
    return messages


def csr_pem(key: Any = None) -> str:
    """Return a PEM CSR signed by `key` (a fresh P-256 key by default)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Budi Santoso")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def registration_post(**overrides: Any) -> dict[str, Any]:
    """Return a registration form as the browser posts it (all strings, ticked box "on")."""
    form = {
        "csrf_token": "token",
        "full_name": "  Budi Santoso, S.Kom. ",
        "nik": "3375 0101 0190 0001",
        "nip": "19900101 201503 1 001",
        "position": "Pranata Komputer",
        "agency_code": "DISKOMINFO",
        "email": "budi.santoso@pekalongankota.go.id",
        "phone": "0812-3456-7890",
        "ktp_scan": "11",
        "asn_proof": "12",
        "statement_true": "on",
    }
    return {**form, **overrides}


def test_the_issuance_forms_are_in_the_catalogue_by_name() -> None:
    assert registry.form_for("registration") is RegistrationSchema
    assert registry.form_for("recommendation") is RecommendationSchema
    assert registry.form_for("activation") is ActivationSchema
    assert registry.form_for("verification") is VerificationSchema
    assert registry.form_for("delivery") is DeliverySchema
    # The old per-process keys are gone: a diagram names the form.
    assert registry.form_for("issuance_ams.registration_form") is None
    assert registry.form_for("common_verification.verification") is None
    titles = {f.name: f.title for f in registry.forms()}
    assert titles["registration"] == "Formulir Pendaftaran Sertifikat Elektronik untuk Individu."


def test_registration_loads_normalised_values() -> None:
    assert RegistrationSchema().load(registration_post()) == {
        "full_name": "Budi Santoso, S.Kom.",
        "nik": "3375010101900001",
        "nip": "199001012015031001",
        "position": "Pranata Komputer",
        "agency_code": "DISKOMINFO",
        "email": "budi.santoso@pekalongankota.go.id",
        "phone": "0812-3456-7890",
        "owner_category": "asn",
        "ktp_scan": 11,
        "asn_proof": 12,
        "appointment_proof": None,
        "statement_true": True,
    }


def test_registration_accepts_pppk_number() -> None:
    assert (
        RegistrationSchema().load(registration_post(nip="199001012023211001"))["nip"] == "199001012023211001"
    )


def test_empty_registration_says_what_is_missing() -> None:
    errors = errors_of(RegistrationSchema(), {})
    for name in ("full_name", "nik", "position", "agency_code", "email", "phone"):
        assert errors[name] == ["Wajib diisi."]
    assert errors["ktp_scan"] == ["Dokumen wajib diunggah."]
    assert errors["statement_true"] == ["Anda harus menyatakan bahwa data yang diberikan benar."]


def test_blank_text_counts_as_missing() -> None:
    assert errors_of(RegistrationSchema(), registration_post(full_name="   "))["full_name"] == [
        "Wajib diisi."
    ]


def test_malformed_nik_and_nip_block_submission() -> None:
    errors = errors_of(RegistrationSchema(), registration_post(nik="3375013102900001", nip="12345"))
    assert errors["nik"][0].startswith("Tanggal lahir pada NIK (310290) tidak valid")
    assert errors["nip"] == ["NIP harus 18 digit; yang tertulis 5 karakter."]


def test_bad_email_phone_and_documents_are_refused() -> None:
    errors = errors_of(
        RegistrationSchema(),
        registration_post(email="budi", phone="telepon", ktp_scan="0", asn_proof="abc", statement_true=""),
    )
    assert errors["email"] == ["Alamat e-mail tidak valid."]
    assert errors["phone"][0].startswith("Nomor telepon harus berisi")
    assert errors["ktp_scan"] == ["Dokumen tidak valid."]
    assert errors["asn_proof"] == ["Dokumen tidak valid."]
    assert errors["statement_true"] == ["Harus berupa ya atau tidak."]


def test_unticked_statement_blocks_submission() -> None:
    post = registration_post()
    del post["statement_true"]
    assert errors_of(RegistrationSchema(), post) == {
        "statement_true": ["Anda harus menyatakan bahwa data yang diberikan benar."]
    }


def test_non_mapping_input_is_refused_in_indonesian() -> None:
    assert errors_of(RegistrationSchema(), ["x"]) == {"_schema": ["Data formulir tidak valid."]}


def test_recommendation_approval_loads() -> None:
    data = {
        "decision": "approve",
        "head_name": "Drs. Slamet",
        "head_nip": HEAD_NIP,
        "head_position": "Kepala Dinas",
    }
    assert RecommendationSchema().load(data) == {**data, "notes": ""}


def test_declining_requires_notes() -> None:
    data = {
        "decision": "decline",
        "head_name": "Drs. Slamet",
        "head_nip": HEAD_NIP,
        "head_position": "Kepala Dinas",
    }
    assert errors_of(RecommendationSchema(), data) == {"notes": ["Alasan penolakan wajib diisi."]}
    assert RecommendationSchema().load({**data, "notes": "Bukan pegawai kami"})["decision"] == "decline"


def test_recommendation_decision_must_be_known() -> None:
    errors = errors_of(RecommendationSchema(), {"decision": "maybe"})
    assert errors["decision"] == ["Pilih salah satu: setujui atau tolak."]
    assert errors["head_nip"] == ["Wajib diisi."]


def test_verifier_approves_with_every_check_ticked() -> None:
    data = {
        "decision": "approve",
        "checked_identity": "on",
        "checked_asn": "on",
        "checked_recommendation": "on",
    }
    assert VerificationSchema().load(data) == {
        "decision": "approve",
        "reasons": "",
        "checked_identity": True,
        "checked_asn": True,
        "checked_recommendation": True,
    }


def test_approval_needs_every_check_ticked() -> None:
    errors = errors_of(VerificationSchema(), {"decision": "approve", "checked_asn": "on"})
    assert errors == {
        "checked_identity": ["Wajib dicentang sebelum permohonan disetujui."],
        "checked_recommendation": ["Wajib dicentang sebelum permohonan disetujui."],
    }


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_returning_or_rejecting_needs_reasons(decision: str) -> None:
    assert errors_of(VerificationSchema(), {"decision": decision, "reasons": " "}) == {
        "reasons": ["Alasan wajib diisi bila permohonan dikembalikan atau ditolak."]
    }
    assert VerificationSchema().load({"decision": decision, "reasons": "KTP buram"})["decision"] == decision


def test_verification_decision_must_be_known() -> None:
    assert errors_of(VerificationSchema(), {"decision": "later"})["decision"][0].startswith(
        "Pilih salah satu"
    )


def test_activation_accepts_obligations_and_csr() -> None:
    pem = csr_pem()
    assert ActivationSchema().load({"accept_obligations": "on", "csr_pem": f"\n{pem}\n"}) == {
        "accept_obligations": True,
        "csr_pem": pem.strip(),
        # The version of the obligations-and-prohibitions text the owner accepted (engine/terms.py).
        **owner_terms("ams").record(),
    }


def test_activation_requires_accepting_obligations() -> None:
    errors = errors_of(ActivationSchema(), {"csr_pem": csr_pem()})
    assert errors == {"accept_obligations": ["Anda harus menyetujui kewajiban pemilik sertifikat."]}


@pytest.mark.parametrize(
    ("csr", "message"),
    [
        ("", "Wajib diisi."),
        ("halo", "CSR harus berformat PEM 'CERTIFICATE REQUEST' (PKCS#10)."),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgY3Ny\n-----END CERTIFICATE REQUEST-----",
            "CSR tidak dapat dibaca; buat ulang CSR.",
        ),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 21000 + "\n-----END CERTIFICATE REQUEST-----",
            "CSR terlalu besar (maksimal 20 KB).",
        ),
    ],
)
def test_activation_refuses_what_is_not_a_csr(csr: str, message: str) -> None:
    errors = errors_of(ActivationSchema(), {"accept_obligations": "on", "csr_pem": csr})
    assert errors == {"csr_pem": [message]}


def test_activation_refuses_weak_rsa_key() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    errors = errors_of(ActivationSchema(), {"accept_obligations": "on", "csr_pem": csr_pem(weak)})
    assert errors == {"csr_pem": ["Kunci RSA pada CSR terlalu pendek (minimal 2048 bit)."]}


def test_activation_refuses_a_private_key_pasted_by_mistake() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    errors = errors_of(ActivationSchema(), {"accept_obligations": "on", "csr_pem": pem})
    assert errors == {"csr_pem": ["CSR harus berformat PEM 'CERTIFICATE REQUEST' (PKCS#10)."]}


def test_delivery_requires_confirmation() -> None:
    assert DeliverySchema().load({"received": "on"}) == {"received": True}
    assert errors_of(DeliverySchema(), {}) == {
        "received": ["Anda harus mengonfirmasi bahwa sertifikat telah diterima."]
    }


def test_new_passphrase_follows_the_psre_rules_and_must_be_confirmed() -> None:
    base = {"ktp_photo": "1", "selfie": "2", "accept_obligations": "true"}
    with pytest.raises(ValidationError) as weak:
        EsignActivationSchema().load({**base, "passphrase": "abcdefgh", "passphrase_confirmation": "abcdefgh"})
    assert weak.value.messages == {"passphrase": ["Passphrase minimal 8 karakter dan harus memuat huruf dan angka."]}
    with pytest.raises(ValidationError) as mismatch:
        EsignActivationSchema().load({**base, "passphrase": "rahasia123", "passphrase_confirmation": "rahasia321"})
    assert mismatch.value.messages == {"passphrase_confirmation": ["Konfirmasi passphrase tidak sama dengan passphrase."]}
    loaded = EsignActivationSchema().load({**base, "passphrase": " rahasia123 ", "passphrase_confirmation": " rahasia123 "})
    assert loaded["passphrase"] == " rahasia123 "  # a passphrase is never trimmed


def test_asn_owner_needs_a_nip_and_the_asn_proof() -> None:
    errors = errors_of(RegistrationSchema(), registration_post(nip="", asn_proof=None))
    assert "NIP wajib untuk ASN" in errors["nip"][0]
    errors = errors_of(RegistrationSchema(), registration_post(asn_proof=None))
    assert errors["asn_proof"] == ["Unggah bukti status ASN (SK / kartu pegawai)."]


def test_owner_who_is_not_asn_needs_no_nip_but_the_appointment_document() -> None:
    mayor = registration_post(nip="", owner_category="wali_kota", asn_proof=None)
    errors = errors_of(RegistrationSchema(), mayor)
    assert "nip" not in errors and "asn_proof" not in errors
    assert "SK pelantikan" in errors["appointment_proof"][0]
    loaded = RegistrationSchema().load({**mayor, "appointment_proof": "13"})
    assert (loaded["nip"], loaded["owner_category"], loaded["appointment_proof"]) == ("", "wali_kota", 13)
