"""The operators and form rules of SOP 088.13 (forgotten passphrase / LOCK), called directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from marshmallow import ValidationError

from engine import registry
from engine.handler_api import HandlerContext, HandlerError
from handlers.forms import PASSPHRASE_MISMATCH, PASSPHRASE_RULES
from handlers.passphrase_lock import SetNewPassphraseSchema, StatementFormSchema, automated_checks, reset_key
from pki.errors import NoServerKey, UnknownSubject
from pki.psre import CertificateStatus, IssuedCertificate, SubjectStatus
from tests.handlers.test_data_change_handlers import Inventory
from tests.handlers.test_issuance_ams_handlers import issued_certificate
from tests.handlers.diagram_params import params_for

NIK = "3375011507900001"
OLD_SERIAL = "0a1b"
NEW_SERIAL = "1a2b"
GOOD_PASSPHRASE = "rahasia-baru-2026"


@dataclass
class FakePSrE:
    """Resets to a fixed new certificate and then reports the old one revoked."""

    resets: list[tuple[str, str, str]] = field(default_factory=list)
    status: SubjectStatus | Exception = SubjectStatus.ISSUE
    fail: Exception | None = None

    def current_certificate(self, nik: str) -> IssuedCertificate:
        return issued_certificate(OLD_SERIAL, f"subj-{nik}")

    def subject_status(self, nik: str) -> SubjectStatus:
        if isinstance(self.status, Exception):
            raise self.status
        return self.status

    def reset_subject(self, subject_id: str, passphrase: str, key: str) -> IssuedCertificate:
        if self.fail:
            raise self.fail
        self.resets.append((subject_id, passphrase, key))
        return issued_certificate(NEW_SERIAL, subject_id)

    def certificate_status(self, serial: str) -> CertificateStatus:
        return CertificateStatus(serial, "revoked" if self.resets and serial != NEW_SERIAL else "good")


@dataclass
class Ports(Inventory):
    inventory: list[dict[str, Any]] = field(default_factory=lambda: [{"serial": OLD_SERIAL, "status": "active", "subject": "Budi Santoso", "not_after": ""}])


def statement(**overrides: Any) -> dict[str, Any]:
    form = {"certificate_serial": OLD_SERIAL, "statement_date": "2026-03-02", "reason": "", "ktp_scan": 3,
            "statement_forgotten": True, "statement_true": True}
    return {**form, **overrides}


def make_ctx(psre: FakePSrE | None = None, ports: Ports | None = None, secrets: dict[str, str] | None = None,
             data: dict[str, Any] | None = None) -> HandlerContext:
    ports = ports or Ports()
    return HandlerContext(
        case_id=11, task_name="reset_key", idempotency_key="case-11/reset_key/1",
        params=params_for(
            "passphrase_lock", ("automated_checks", "reset_key"), data if data is not None else {"statement_form": statement()}
        ),
        psre=psre or FakePSrE(), settings={"official_email_domain": "pekalongankota.go.id"},
        applicant={"full_name": "Budi Santoso", "nik": NIK, "nip": "199007152015031001", "email": "pemohon@pekalongankota.go.id"},
        lookup_roster=lambda nip: None,
        certificates=lambda: [dict(c) for c in ports.inventory],
        record_certificate=ports.record, set_certificate_status=ports.set_status,
        secrets=secrets if secrets is not None else {"passphrase": GOOD_PASSPHRASE},
    )


def by_code(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["code"]: entry for entry in result["items"]}


def test_operators_and_forms_are_registered() -> None:
    names = {op.name for op in registry.operators()}
    assert {"passphrase_lock.load_current", "passphrase_lock.automated_checks", "passphrase_lock.reset_key"} <= names
    assert registry.form_for("passphrase_statement") is StatementFormSchema
    assert registry.form_for("set_new_passphrase") is SetNewPassphraseSchema


def test_new_passphrase_fields_are_secrets() -> None:
    secret = {name for name, f in SetNewPassphraseSchema().fields.items() if f.metadata.get("secret")}
    assert secret == {"passphrase", "passphrase_confirmation"}


def test_weak_or_mismatched_passphrase_is_refused_with_indonesian_messages() -> None:
    with pytest.raises(ValidationError) as weak:
        SetNewPassphraseSchema().load({"passphrase": "pendek", "passphrase_confirmation": "pendek", "accept_obligations": True})
    assert weak.value.messages["passphrase"] == [PASSPHRASE_RULES]
    with pytest.raises(ValidationError) as mismatch:
        SetNewPassphraseSchema().load({"passphrase": GOOD_PASSPHRASE, "passphrase_confirmation": GOOD_PASSPHRASE + "x", "accept_obligations": True})
    assert mismatch.value.messages["passphrase_confirmation"] == [PASSPHRASE_MISMATCH]


def test_statement_requires_the_id_upload_and_both_statements() -> None:
    with pytest.raises(ValidationError) as caught:
        StatementFormSchema().load({"certificate_serial": OLD_SERIAL, "statement_date": "2-3-2026"})
    assert set(caught.value.messages) == {"statement_date", "ktp_scan", "statement_forgotten", "statement_true"}


def test_checks_pass_for_the_owners_active_certificate() -> None:
    result = automated_checks(make_ctx())
    assert result["errors"] == 0, result
    assert by_code(result)["psre_status"]["message"] == "Status di PSrE: Sertifikat aktif di PSrE."


def test_checks_flag_an_unregistered_owner_and_a_foreign_certificate() -> None:
    psre = FakePSrE(status=UnknownSubject("nope"))
    items = by_code(automated_checks(make_ctx(psre=psre, data={"statement_form": statement(certificate_serial="ffff")})))
    assert items["psre_status"]["ok"] is False and "belum terdaftar" in items["psre_status"]["message"]
    assert items["certificate_owned"]["ok"] is False


def test_reset_sends_the_secret_passphrase_records_the_new_certificate_and_revokes_the_old() -> None:
    psre, ports = FakePSrE(), Ports()
    result = reset_key(make_ctx(psre=psre, ports=ports))
    assert psre.resets == [(f"subj-{NIK}", GOOD_PASSPHRASE, "case-11/reset_key/1")]
    assert [c.serial_hex for c in ports.recorded] == [NEW_SERIAL]
    assert {c["serial"]: c["status"] for c in ports.inventory} == {NEW_SERIAL: "active", OLD_SERIAL: "revoked"}
    assert GOOD_PASSPHRASE not in repr(result)
    assert result["old_serial"] == OLD_SERIAL and result["revoked"] == [OLD_SERIAL]


def test_reset_without_the_secret_is_refused() -> None:
    with pytest.raises(HandlerError, match="Passphrase baru tidak diterima"):
        reset_key(make_ctx(secrets={}))


def test_reset_of_an_owner_without_server_key_is_a_handler_error() -> None:
    with pytest.raises(HandlerError, match="PSrE menolak"):
        reset_key(make_ctx(psre=FakePSrE(fail=NoServerKey("no key"))))


def test_checks_show_a_locked_esign_key_as_terkunci() -> None:
    ports = Ports()
    ports.inventory[0]["locked"] = True
    assert "Terkunci" in by_code(automated_checks(make_ctx(ports=ports)))["esign_lock"]["message"]
    assert "Terkunci (LOCK)" not in by_code(automated_checks(make_ctx()))["esign_lock"]["message"]
