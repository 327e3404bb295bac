"""Tests of CRL and OCSP publication, checked with the openssl CLI as an independent relying party."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from pki_builders import make_csr, make_subject, new_psre, openssl

from pki.embedded import EmbeddedPSrE


class Files:
    """PEM/DER files of one PSrE and one leaf, written where openssl can read them."""

    def __init__(self, psre: EmbeddedPSrE, directory: Path, certificate_pem: str) -> None:
        """Write root, issuing CA and leaf certificates into `directory`."""
        self.dir = directory
        chain = x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())
        self.root = self._write("root.pem", psre.root_certificate_pem())
        self.issuing = self._write("issuing.pem", chain[0].public_bytes(Encoding.PEM).decode())
        self.leaf = self._write("leaf.pem", certificate_pem)

    def _write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text)
        return path

    def crl(self, psre: EmbeddedPSrE) -> Path:
        """Write the current CRL as PEM and return its path."""
        crl = x509.load_der_x509_crl(psre.crl_der())
        return self._write("crl.pem", crl.public_bytes(Encoding.PEM).decode())

    def ocsp_check(self, psre: EmbeddedPSrE) -> str:
        """Have openssl build a request, answer it with the PSrE, and let openssl verify the answer."""
        request, response = self.dir / "req.der", self.dir / "resp.der"
        made = openssl("ocsp", "-issuer", self.issuing, "-cert", self.leaf, "-reqout", request, cwd=self.dir)
        assert made.returncode == 0, made.stdout
        response.write_bytes(psre.ocsp_response_der(request.read_bytes()))
        # -no_nonce: with -cert, openssl builds a second request with a fresh nonce to compare against;
        # that the nonce of the real request is echoed is tested separately.
        checked = openssl(
            "ocsp",
            "-respin",
            response,
            "-CAfile",
            self.root,
            "-no_nonce",
            "-issuer",
            self.issuing,
            "-cert",
            self.leaf,
            cwd=self.dir,
        )
        return checked.stdout


@pytest.fixture
def issued(psre: EmbeddedPSrE, tmp_path: Path) -> tuple[str, Files]:
    """A freshly issued certificate (serial, files on disk)."""
    subject_id = psre.register_subject(make_subject(), "reg-1")
    cert = psre.issue_from_csr(subject_id, make_csr(), "issue-1")
    return cert.serial_hex, Files(psre, tmp_path, cert.certificate_pem)


def test_issued_certificate_chains_to_the_root_for_openssl(issued: tuple[str, Files]) -> None:
    _, files = issued
    result = openssl(
        "verify",
        "-CAfile",
        files.root,
        "-untrusted",
        files.issuing,
        "-purpose",
        "smimesign",
        files.leaf,
        cwd=files.dir,
    )
    assert result.returncode == 0, result.stdout
    assert "leaf.pem: OK" in result.stdout


def test_good_certificate_passes_openssl_crl_check(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    _, files = issued
    result = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        files.root,
        "-untrusted",
        files.issuing,
        "-CRLfile",
        files.crl(psre),
        files.leaf,
        cwd=files.dir,
    )
    assert result.returncode == 0, result.stdout


def test_revoked_certificate_shows_in_crl_at_once(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    serial, files = issued
    psre.revoke(serial, "keyCompromise", "revoke-1")
    result = openssl(
        "verify",
        "-crl_check",
        "-CAfile",
        files.root,
        "-untrusted",
        files.issuing,
        "-CRLfile",
        files.crl(psre),
        files.leaf,
        cwd=files.dir,
    )
    assert result.returncode != 0
    assert "certificate revoked" in result.stdout


def test_crl_lists_reason_and_has_increasing_number(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    serial, _ = issued
    psre.revoke(serial, "affiliationChanged", "revoke-1")
    first = x509.load_der_x509_crl(psre.crl_der())
    second = x509.load_der_x509_crl(psre.publish_crl())
    number = first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert second.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number + 1
    entry = first.get_revoked_certificate_by_serial_number(int(serial, 16))
    assert entry is not None
    assert (
        entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
        == x509.ReasonFlags.affiliation_changed
    )
    assert first.next_update_utc is not None and first.last_update_utc is not None
    assert (first.next_update_utc - first.last_update_utc).total_seconds() == 24 * 3600
    chain = x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())
    assert first.is_signature_valid(chain[0].public_key())


def test_root_crl_is_signed_by_the_root(psre: EmbeddedPSrE) -> None:
    crl = x509.load_der_x509_crl(psre.root_crl_der())
    root = x509.load_pem_x509_certificate(psre.root_certificate_pem().encode())
    assert crl.is_signature_valid(root.public_key())
    assert len(crl) == 0


def test_ocsp_says_good_for_a_valid_certificate(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    _, files = issued
    output = files.ocsp_check(psre)
    assert "Response verify OK" in output
    assert "leaf.pem: good" in output


def test_ocsp_says_revoked_with_reason_at_once(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    serial, files = issued
    psre.revoke(serial, "keyCompromise", "revoke-1")
    output = files.ocsp_check(psre)
    assert "Response verify OK" in output
    assert "leaf.pem: revoked" in output
    assert "Reason: keyCompromise" in output


def test_ocsp_response_echoes_the_request_nonce(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    _, files = issued
    request_path = files.dir / "req.der"
    made = openssl(
        "ocsp", "-issuer", files.issuing, "-cert", files.leaf, "-reqout", request_path, cwd=files.dir
    )
    assert made.returncode == 0, made.stdout
    request = ocsp.load_der_ocsp_request(request_path.read_bytes())
    response = ocsp.load_der_ocsp_response(psre.ocsp_response_der(request_path.read_bytes()))
    sent = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == sent


def test_ocsp_says_unknown_for_a_serial_never_issued(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    _, files = issued
    issuing = x509.load_pem_x509_certificate(files.issuing.read_bytes())
    leaf = x509.load_pem_x509_certificate(files.leaf.read_bytes())
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(*_hashes(leaf, issuing), serial_number=12345, algorithm=hashes.SHA1())
        .build()
    )
    response = ocsp.load_der_ocsp_response(psre.ocsp_response_der(request.public_bytes(Encoding.DER)))
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_ocsp_for_another_issuer_is_unauthorized(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    _, files = issued
    leaf = x509.load_pem_x509_certificate(files.leaf.read_bytes())
    root = x509.load_pem_x509_certificate(files.root.read_bytes())
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, root, hashes.SHA256()).build()
    response = ocsp.load_der_ocsp_response(psre.ocsp_response_der(request.public_bytes(Encoding.DER)))
    assert response.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_malformed_ocsp_request_gets_malformed_response(psre: EmbeddedPSrE) -> None:
    response = ocsp.load_der_ocsp_response(psre.ocsp_response_der(b"\x30\x03garbage"))
    assert response.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def _hashes(leaf: x509.Certificate, issuer: x509.Certificate) -> tuple[bytes, bytes]:
    probe = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    return probe.issuer_name_hash, probe.issuer_key_hash


def test_service_certificates_of_an_older_state_are_recorded_lazily(psre: EmbeddedPSrE, kek: str) -> None:
    tsa = x509.load_pem_x509_certificate(psre.tsa_certificate_pem().encode())
    with sqlite3.connect(psre.store.path) as conn:
        conn.execute("DROP TABLE service_certificates")
        conn.execute("DELETE FROM meta WHERE name IN ('tsa_pem', 'tsa_key')")
    older = new_psre(psre.store.path.parent, [kek])
    assert older.certificate_status(format(tsa.serial_number, "x")).status == "unknown"
    assert older.publish_crl()  # the CRL query does not trip over the missing table
    renewed = x509.load_pem_x509_certificate(older.tsa_certificate_pem().encode())
    assert older.certificate_status(format(renewed.serial_number, "x")).status == "good"


def test_ocsp_answers_each_serial_of_a_multi_serial_request(psre: EmbeddedPSrE, issued: tuple[str, Files]) -> None:
    serial, files = issued
    unknown = "0x" + "7" * 30
    ids = ["-serial", "0x" + serial, "-serial", unknown]
    made = openssl("ocsp", "-issuer", files.issuing, *ids, "-no_nonce", "-reqout", "multi.der", cwd=files.dir)
    assert made.returncode == 0, made.stdout
    (files.dir / "multi-resp.der").write_bytes(psre.ocsp_response_der((files.dir / "multi.der").read_bytes()))
    checked = openssl(
        "ocsp", "-respin", "multi-resp.der", "-CAfile", files.root, "-no_nonce", "-issuer", files.issuing, *ids,
        cwd=files.dir,
    )
    assert "Response verify OK" in checked.stdout
    assert f"0x{serial}: good" in checked.stdout and f"{unknown}: unknown" in checked.stdout
    assert len(list(ocsp.load_der_ocsp_response((files.dir / "multi-resp.der").read_bytes()).responses)) == 2
