"""Builders for the pki tests: subjects, keys, CSRs, a fake clock, an openssl runner."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

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
    """Construct an EmbeddedPSrE with the test base URL."""
    return EmbeddedPSrE(state_dir, kek_keys, BASE_URL, clock=clock or FakeClock())


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
