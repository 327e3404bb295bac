"""A crash between the PSrE's commit and the RA's: the retried step adopts or supersedes, never sticks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select

from engine.failpoints import CrashAfterPSrE
from engine.models import AuditEvent, Certificate, db
from tests.sops.builders import APPROVE, csr_pem
from tests.sops.test_issuance_ams import case_of, only_task, recommend, start_and_register, verify
from tests.sops.test_issuance_esign import activate, activation, approved_case


class SimulatedCrash(BaseException):
    """Stands for SIGKILL in-process: no handler catches it, the RA's transaction never commits."""


def crash() -> None:
    raise SimulatedCrash


class CaseBooks:
    """The real PSrE, listing only certificates issued after the demo data (the demo verifikators' own)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.demo = {r.serial_hex for r in inner.list_certificates()}

    def list_certificates(self) -> list[Any]:
        return [r for r in self.inner.list_certificates() if r.serial_hex not in self.demo]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def arm(app: Flask, tmp_path: Path, *operations: str) -> Any:
    """Make the app's PSrE 'die' right after the first call of each operation; return the real PSrE."""
    inner = app.extensions["sertel.psre"]
    app.extensions["sertel.psre"] = CrashAfterPSrE(inner, set(operations), tmp_path / "ledger.txt", crash)
    return CaseBooks(inner)


def restart(app: Flask, psre: Any) -> None:
    """The process comes back without the fail-point."""
    app.extensions["sertel.psre"] = psre.inner


def csr_for(key: Any) -> str:
    """Another CSR for the same key (ECDSA signatures differ each time, so do the bytes)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Budi Santoso")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def submit_activation(pemohon: Any, case_id: int, csr: str) -> Any:
    task = only_task(pemohon, case_id, "activation")
    return pemohon.post(f"/tasks/{task['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})


def case_events(app: Flask, case_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.kind).where(AuditEvent.instance_id == case_id)).scalars())


def ra_serials(app: Flask) -> dict[str, str]:
    with app.app_context():
        query = select(Certificate).where(Certificate.instance_id.is_not(None))  # not the demo verifikators'
        return {c.serial: c.status for c in db.session.execute(query).scalars()}


def ams_case_at_activation(api: Any) -> tuple[Any, int]:
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, APPROVE).status_code == 200
    return pemohon, case_id


def test_activation_retried_with_a_new_key_after_a_crash_completes_and_revokes_the_orphan(
    api: Any, app: Flask, tmp_path: Path
) -> None:
    psre = arm(app, tmp_path, "issue_from_csr")
    pemohon, case_id = ams_case_at_activation(api)
    with pytest.raises(SimulatedCrash):
        submit_activation(pemohon, case_id, csr_pem()[0])
    assert ra_serials(app) == {}  # the RA rolled back, the PSrE kept its certificate
    orphan = [r for r in psre.list_certificates() if r.status == "good"]
    assert len(orphan) == 1
    restart(app, psre)

    response = submit_activation(pemohon, case_id, csr_pem()[0])
    assert response.status_code == 200, response.get_json()
    books = {r.serial_hex: r for r in psre.list_certificates()}
    assert books[orphan[0].serial_hex].status == "revoked" and books[orphan[0].serial_hex].reason == "superseded"
    good = [serial for serial, r in books.items() if r.status == "good"]
    assert ra_serials(app) == {good[0]: "active"} and len(good) == 1
    assert "psre_outcome_superseded" in case_events(app, case_id)
    delivery = only_task(pemohon, case_id, "delivery")
    assert pemohon.post(f"/tasks/{delivery['id']}/complete", json={"received": True}).status_code == 200
    assert case_of(pemohon, case_id)["case"]["status"] == "completed"


def test_activation_retried_with_the_same_key_adopts_the_certificate_the_psre_issued(
    api: Any, app: Flask, tmp_path: Path
) -> None:
    psre = arm(app, tmp_path, "issue_from_csr")
    pemohon, case_id = ams_case_at_activation(api)
    _csr, key = csr_pem()
    with pytest.raises(SimulatedCrash):
        submit_activation(pemohon, case_id, csr_for(key))
    restart(app, psre)
    response = submit_activation(pemohon, case_id, csr_for(key))
    assert response.status_code == 200, response.get_json()
    books = psre.list_certificates()
    assert [r.status for r in books] == ["good"]
    assert ra_serials(app) == {books[0].serial_hex: "active"}
    assert "psre_outcome_adopted" in case_events(app, case_id)


def test_esign_activation_retried_with_another_passphrase_supersedes_the_key_nobody_can_open(
    api: Any, app: Flask, tmp_path: Path
) -> None:
    psre = arm(app, tmp_path, "issue_with_server_key")
    pemohon, case_id = approved_case(api)
    with pytest.raises(SimulatedCrash):
        activate(pemohon, case_id, activation("Pertama-Lupa2025"))
    restart(app, psre)
    response = activate(pemohon, case_id, activation())
    assert response.status_code == 200, response.get_json()
    books = psre.list_certificates()
    good = [r for r in books if r.status == "good"]
    assert len(books) == 2 and len(good) == 1 and good[0].server_key
    assert ra_serials(app) == {good[0].serial_hex: "active"}
    assert "psre_outcome_superseded" in case_events(app, case_id)
