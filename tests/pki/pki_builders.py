"""Builders for the pki tests: subjects, keys, CSRs, a fake clock, an openssl runner."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from pki.embedded import EmbeddedPSrE
from pki.psre import SubjectInfo

BASE_URL = "http://127.0.0.1:5000/pki"
OPENSSL = "/usr/bin/openssl"


class FakeClock:
    """A settable clock, so expiry can be tested without sleeping."""

    def __init__(self) -> None:
        """Start at the real current time."""
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        """Return the current fake time."""
        return self.now


def make_subject(**overrides: Any) -> SubjectInfo:
    """Build a fictional, RA-verified applicant."""
    subject = SubjectInfo(
        name="Siti Rahmawati",
        nik="3375014507900002",
        email="siti.rahmawati@pekalongankota.go.id",
        agency="Diskominfo",
        position="Pranata Komputer Ahli Muda",
        nip="199007052015032001",
    )
    return replace(subject, **overrides)


def make_key(kind: str = "ec") -> Any:
    """Generate a fast test key: P-256 by default, or RSA of the given size ("rsa1024", "rsa2048")."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "secp256k1":
        return ec.generate_private_key(ec.SECP256K1())
    return rsa.generate_private_key(public_exponent=65537, key_size=int(kind.removeprefix("rsa")))


def make_csr(key: Any = None, common_name: str = "Whatever The Requester Typed") -> str:
    """Build a PEM CSR signed by `key` (a fresh P-256 key by default)."""
    key = key or make_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def new_psre(state_dir: Path, kek_keys: list[str], clock: FakeClock | None = None) -> EmbeddedPSrE:
    """Construct an EmbeddedPSrE with the test base URL and a cheap passphrase KDF.

    With SERTEL_TEST_PSRE_DATABASE_URL (a PostgreSQL URL) its store is there, in a schema named after
    `state_dir` (so two PSrE objects on one state directory share it), to run the pki tests on PostgreSQL.
    """
    url = os.environ.get("SERTEL_TEST_PSRE_DATABASE_URL")
    if url:
        schema = "psre_" + hashlib.sha256(str(Path(state_dir).resolve()).encode()).hexdigest()[:16]
        url = f"{url}{'&' if '?' in url else '?'}schema={schema}"
    return EmbeddedPSrE(state_dir, kek_keys, BASE_URL, clock=clock or FakeClock(), scrypt_n=2**10, database_url=url)


def one_page_pdf(text: str = "Surat Keputusan uji coba") -> bytes:
    """Build a minimal one-page A4 PDF with one line of Helvetica text."""
    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/F1"): writer.add_object(font)})}
    )
    content = generic.StreamObject(stream_data=f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode("latin-1"))
    writer.insert_page(PageObject(contents=writer.add_object(content), media_box=[0, 0, 595, 842], resources=resources))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def openssl(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the openssl CLI and capture its output (stdout and stderr merged)."""
    return subprocess.run(
        [OPENSSL, *map(str, args)],
        cwd=cwd,
        capture_output=False,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        timeout=30,
    )


def bulk_revoke(psre: EmbeddedPSrE, count: int, reason: str = "keyCompromise") -> None:
    """Put `count` revoked certificates straight into the PSrE's store (one subject, random serials), then
    publish the CRL that lists them: the state of a PSrE that has revoked that many, in well under a second.

    The rows carry no certificate (`pem` is a placeholder): only CRL, OCSP and sealing read them here.
    """
    now = psre.clock().replace(microsecond=0).isoformat()
    rows = [
        (format(secrets.randbits(152) | 1 << 151, "x"), "bulk-revoked", f"bulk-{i}", "-", now, now, now, now, reason)
        for i in range(count)
    ]
    with psre.store.write() as conn:
        conn.execute(
            "INSERT INTO subjects (subject_id, pseudonym, data_token, registered_at, updated_at)"
            " VALUES ('bulk-revoked', 'bulk-revoked', ?, ?, ?)",
            (b"-", now, now),
        )
        conn.executemany(
            "INSERT INTO certificates (serial_hex, subject_id, spki_sha256, pem, not_before, not_after, issued_at,"
            " status, revoked_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, 'revoked', ?, ?)",
            rows,
        )
    psre.publish_crl()
