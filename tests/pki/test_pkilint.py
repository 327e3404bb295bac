"""Every certificate, CRL and OCSP response the embedded PSrE produces passes DigiCert's pkilint without ERROR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pki_builders import FakeClock, make_csr, make_subject

from pki.embedded import EmbeddedPSrE

BIN = Path(sys.executable).parent
# Severities that fail the test; WARNING and below are listed with reasons in docs/pki.md.
FAILING = {"FATAL", "ERROR"}


def lint(tool: str, der: bytes, tmp_path: Path, *options: str) -> list[dict[str, str]]:
    """Run a pkilint CLI on one DER document and return its findings at ERROR or above."""
    document = tmp_path / f"{tool}-{abs(hash(der))}.der"
    document.write_bytes(der)
    result = subprocess.run(
        [str(BIN / tool), "lint", *options, "-f", "JSON", "-s", "WARNING", str(document)],
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip(), result.stderr
    findings: list[dict[str, str]] = []
    for item in json.loads(result.stdout)["results"]:
        for finding in item["finding_descriptions"]:
            findings.append({"node": item["node_path"], "validator": item["validator"], **finding})
    return [f for f in findings if f["severity"] in FAILING]


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def test_certificates_crls_and_ocsp_answers_lint_without_errors(tmp_path: Path, kek: str, clock: FakeClock) -> None:
    # A public plain-http PKI URL as in production (PKI_BASE_URL): pkilint rightly flags 127.0.0.1 and https.
    psre = EmbeddedPSrE(tmp_path / "psre", [kek], "http://pki.pekalongankota.go.id", clock=clock, scrypt_n=2**10)
    psre.initialise()
    subject_id = psre.register_subject(make_subject(), "reg-lint")
    leaf = x509.load_pem_x509_certificate(psre.issue_from_csr(subject_id, make_csr(), "issue-lint").certificate_pem.encode())
    split = psre.register_subject(make_subject(nik="3375010101900002", given_name="Budi", surname="Santoso"), "reg-split")
    split_leaf = x509.load_pem_x509_certificate(psre.issue_from_csr(split, make_csr(), "issue-split").certificate_pem.encode())
    issuing, root = x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())
    tsa = x509.load_pem_x509_certificate(psre.tsa_certificate_pem().encode())
    seal = x509.load_pem_x509_certificate(psre.ra_seal_certificate_pem().encode())
    psre.revoke(format(leaf.serial_number, "x"), "keyCompromise", "revoke-lint")
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuing, hashes.SHA256()).build()
    answer = psre.ocsp_response_der(request.public_bytes(serialization.Encoding.DER))
    errors = {
        "root": lint("lint_pkix_cert", der(root), tmp_path),
        "issuing": lint("lint_pkix_cert", der(issuing), tmp_path),
        "tsa": lint("lint_pkix_cert", der(tsa), tmp_path),
        "natural person": lint("lint_etsi_cert", der(leaf), tmp_path, "-t", "NCP-NATURAL-PERSON-CERTIFICATE"),
        "natural person (split name)": lint(
            "lint_etsi_cert", der(split_leaf), tmp_path, "-t", "NCP-NATURAL-PERSON-CERTIFICATE"
        ),
        "ra seal": lint("lint_etsi_cert", der(seal), tmp_path, "-t", "NCP-LEGAL-PERSON-CERTIFICATE"),
        "crl": lint("lint_crl", psre.crl_der(), tmp_path, "-t", "CRL", "-p", "PKIX"),
        "root crl": lint("lint_crl", psre.root_crl_der(), tmp_path, "-t", "ARL", "-p", "PKIX"),
        "ocsp": lint("lint_ocsp_response", answer, tmp_path),
    }
    assert {name: found for name, found in errors.items() if found} == {}, json.dumps(errors, indent=1)


def test_ra_seal_names_the_organisation_and_its_mailbox(psre: EmbeddedPSrE) -> None:
    seal = x509.load_pem_x509_certificate(psre.ra_seal_certificate_pem().encode())
    assert seal.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == "KD:ID-33.75"
    eku = seal.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    names = seal.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.RFC822Name) == ["sertel@pekalongankota.go.id"]
