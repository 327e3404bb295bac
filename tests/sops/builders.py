"""Builders for SOP tests: documents, CSRs and form submissions of demo people."""

from __future__ import annotations

import io
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def csr_pem(common_name: str = "Budi Santoso") -> tuple[str, Any]:
    """A fresh P-256 key and its CSR (PEM); the key stays with the test, as with a real applicant."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key


def registration(**overrides: Any) -> dict[str, Any]:
    """The registration form of the demo applicant 'pemohon' (multipart fields and files)."""
    fields: dict[str, Any] = {
        "full_name": "Budi Santoso", "nik": "3375011507900001", "nip": "199007152015031001",
        "position": "Pranata Komputer Ahli Pertama", "agency_code": "diskominfo",
        "email": "pemohon@pekalongankota.go.id", "phone": "0812-3456-7890", "statement_true": "true",
        "ktp_scan": (io.BytesIO(PNG), "ktp.png"), "asn_proof": (io.BytesIO(PDF), "sk-cpns.pdf"),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


RECOMMEND = {"decision": "approve", "head_name": "Dr. Agus Prasetyo, M.Kom.", "head_nip": "197501102000031003", "head_position": "Kepala Dinas Komunikasi dan Informatika"}
APPROVE = {"decision": "approve", "checked_identity": True, "checked_asn": True, "checked_recommendation": True}
