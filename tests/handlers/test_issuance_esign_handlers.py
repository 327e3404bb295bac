"""The operators and forms of SOP 088.14 (eSign), called directly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine import registry
from engine.handler_api import HandlerError
from handlers.forms import EsignActivationSchema, RecommendationSchema, RegistrationSchema
from handlers.issuance_esign import automated_checks, issue_with_server_key
from pki.errors import IdempotencyConflict, WeakPassphrase
from pki.psre import IssuedCertificate
from tests.handlers.test_issuance_ams_handlers import Ports, make_ctx, self_signed_pem

PASSPHRASE = "Batik-Pekalongan2025"


@dataclasses.dataclass
class EsignPSrE:
    """Records eSign issuance calls; raises `fail` if set."""

    calls: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    fail: Exception | None = None

    def issue_with_server_key(self, subject_id: str, passphrase: str, idempotency_key: str) -> IssuedCertificate:
        if self.fail:
            raise self.fail
        self.calls.append((subject_id, passphrase, idempotency_key))
        start = datetime(2025, 1, 1, tzinfo=UTC)
        return IssuedCertificate("1a2b", self_signed_pem(), "", start, start + timedelta(days=730), subject_id)


def esign_ctx(psre: EsignPSrE, ports: Ports, secrets: dict[str, str] | None = None, data: dict[str, Any] | None = None) -> Any:
    ctx = make_ctx(data=data if data is not None else {"psre_subject": {"subject_id": "subj-42"}}, ports=ports)
    return dataclasses.replace(ctx, psre=psre, secrets={"passphrase": PASSPHRASE} if secrets is None else secrets)


def test_forms_of_the_sop_are_the_official_issuance_forms() -> None:
    assert registry.form_for("registration") is RegistrationSchema
    assert registry.form_for("recommendation") is RecommendationSchema
    assert registry.form_for("esign_activation") is EsignActivationSchema
    secret = {name for name, f in EsignActivationSchema().fields.items() if f.metadata.get("secret")}
    documents = {name for name, f in EsignActivationSchema().fields.items() if f.metadata.get("document")}
    assert secret == {"passphrase", "passphrase_confirmation"} and documents == {"ktp_photo", "selfie"}


def test_issue_with_server_key_passes_the_secret_and_records_the_certificate() -> None:
    psre, ports = EsignPSrE(), Ports()
    result = issue_with_server_key(esign_ctx(psre, ports))
    assert psre.calls == [("subj-42", PASSPHRASE, "7:task")]
    assert [c.serial_hex for c in ports.certificates] == ["1a2b"]
    assert result["serial_hex"] == "1a2b" and result["key_held_by"] == "psre"
    assert PASSPHRASE not in repr(result)


def test_issue_with_server_key_needs_the_passphrase_of_this_run() -> None:
    with pytest.raises(HandlerError, match="Passphrase tidak tersedia"):
        issue_with_server_key(esign_ctx(EsignPSrE(), Ports(), secrets={}))


def test_issue_with_server_key_needs_a_registered_subject() -> None:
    with pytest.raises(HandlerError, match="belum terdaftar"):
        issue_with_server_key(esign_ctx(EsignPSrE(), Ports(), data={}))


def test_psre_passphrase_refusal_is_an_indonesian_error() -> None:
    ports = Ports()
    with pytest.raises(HandlerError, match="Passphrase tidak memenuhi aturan PSrE"):
        issue_with_server_key(esign_ctx(EsignPSrE(fail=WeakPassphrase("short")), ports))
    assert ports.certificates == []


def test_repeat_whose_earlier_call_issued_nothing_reports_the_conflict() -> None:
    psre = EsignPSrE(fail=IdempotencyConflict("other passphrase"))
    psre.outcome = lambda key: None  # type: ignore[attr-defined]
    with pytest.raises(HandlerError, match="sudah pernah dikirim dengan data berbeda"):
        issue_with_server_key(esign_ctx(psre, Ports()))


def test_automated_checks_are_those_of_the_ams_issuance() -> None:
    result = automated_checks(make_ctx())
    assert result["all_ok"] is True and result["errors"] == 0
