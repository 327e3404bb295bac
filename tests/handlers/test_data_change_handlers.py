"""The operators and form rules of SOP 088.12 (data change), called directly with a HandlerContext."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from engine import registry
from engine.handler_api import HandlerContext, HandlerError
from handlers.data_change import (
    ChangeFormSchema,
    apply_change,
    automated_checks,
    data_change_current,
    new_values,
    reissue_certificate,
)
from pki.errors import KeyReused
from pki.psre import CertificateStatus, IssuedCertificate, SubjectInfo
from tests.handlers.test_issuance_ams_handlers import issued_certificate
from tests.handlers.diagram_params import params_for

NIK = "3375011507900001"
NIP = "199007152015031001"
OLD_SERIAL = "0a1b"
NEW_SERIAL = "1a2b"
CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"


def current() -> dict[str, Any]:
    """The `current` snapshot data_change.load_current leaves in the case."""
    return {"applicant": {
        "full_name": "Budi Santoso", "nik": NIK, "nip": NIP, "position": "Pranata Komputer Ahli Pertama",
        "agency_code": "diskominfo", "agency_name": "Dinas Komunikasi dan Informatika",
        "email": "pemohon@pekalongankota.go.id",
    }}


def change_form(**overrides: Any) -> dict[str, Any]:
    """A change-form submission as the engine stores it: moving to BPKAD with a new position."""
    form = {
        "certificate_serial": OLD_SERIAL, "change_full_name": False, "change_position": True,
        "change_agency": True, "change_email": False, "full_name": "Budi Santoso",
        "position": "Analis Keuangan Ahli Muda", "agency_code": "bpkad", "email": "pemohon@pekalongankota.go.id",
        "reason": "Mutasi ke BPKAD", "change_proof": 5, "other_proof": None, "statement_true": True,
    }
    return {**form, **overrides}


@dataclass
class FakePSrE:
    """Re-issues a fixed certificate and then reports every earlier one revoked."""

    reissued: list[tuple[str, SubjectInfo, str | None, str]] = field(default_factory=list)
    registered: list[tuple[SubjectInfo, str]] = field(default_factory=list)
    fail: Exception | None = None

    def register_subject(self, subject: SubjectInfo, key: str) -> str:
        self.registered.append((subject, key))
        return "subj-" + subject.nik

    def reissue(self, subject_id: str, subject: SubjectInfo, csr_pem: str | None, passphrase: str | None, key: str) -> IssuedCertificate:
        if self.fail:
            raise self.fail
        self.reissued.append((subject_id, subject, csr_pem, key))
        return issued_certificate(NEW_SERIAL, subject_id)

    def certificate_status(self, serial: str) -> CertificateStatus:
        return CertificateStatus(serial, "revoked" if self.reissued and serial != NEW_SERIAL else "good")


@dataclass
class Inventory:
    """The applicant's certificates as the RA records them, written through the engine's two ports."""

    inventory: list[dict[str, Any]] = field(default_factory=list)
    recorded: list[IssuedCertificate] = field(default_factory=list)

    def record(self, issued: IssuedCertificate) -> None:
        self.recorded.append(issued)
        self.inventory.insert(0, {"serial": issued.serial_hex, "status": "active", "subject": "", "not_after": ""})

    def set_status(self, serial: str, status: str) -> None:
        next(c for c in self.inventory if c["serial"] == serial)["status"] = status


@dataclass
class Ports(Inventory):
    """The engine's side effects, captured."""

    inventory: list[dict[str, Any]] = field(default_factory=lambda: [{"serial": OLD_SERIAL, "status": "active", "subject": "Budi Santoso", "not_after": "2027-01-01T00:00:00"}])
    applicant_updates: list[dict[str, Any]] = field(default_factory=list)


def roster(**overrides: Any) -> dict[str, dict[str, Any]]:
    row = {"nip": NIP, "nik": NIK, "full_name": "Budi Santoso", "agency_code": "diskominfo",
           "agency_name": "Dinas Komunikasi dan Informatika", "position": "Pranata Komputer Ahli Pertama", "status": "aktif"}
    return {NIP: {**row, **overrides}}


def make_ctx(data: dict[str, Any] | None = None, applicant: dict[str, Any] | None = None, psre: FakePSrE | None = None,
             ports: Ports | None = None, rows: dict[str, dict[str, Any]] | None = None) -> HandlerContext:
    ports = ports or Ports()
    rows = rows if rows is not None else roster()
    person = applicant if applicant is not None else {k: v for k, v in current()["applicant"].items() if k != "position"}
    return HandlerContext(
        case_id=9, task_name="task", idempotency_key="case-9/task/1",
        params=params_for(
            "data_change",
            ("automated_checks", "apply_change", "reissue_certificate"),
            data if data is not None else {"current": current(), "change_form": change_form(), "activation": {"csr_pem": CSR}},
        ),
        psre=psre or FakePSrE(),
        settings={"official_email_domain": "pekalongankota.go.id", "activation_link_days": 7},
        applicant=person, lookup_roster=rows.get,
        certificates=lambda: [dict(c) for c in ports.inventory],
        record_certificate=ports.record, set_certificate_status=ports.set_status,
        update_applicant=ports.applicant_updates.append,
    )


def by_code(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["code"]: entry for entry in result["items"]}


def test_operators_and_forms_are_registered() -> None:
    names = {op.name for op in registry.operators()}
    assert {"data_change.load_current", "data_change.automated_checks", "data_change.apply_change", "data_change.reissue_certificate"} <= names
    assert registry.form_for("data_change") is ChangeFormSchema


def test_current_data_takes_the_position_from_the_roster_and_lists_active_certificates() -> None:
    ports = Ports()
    ports.inventory.append({"serial": "99", "status": "revoked", "subject": "x", "not_after": ""})
    result = data_change_current(make_ctx(ports=ports))
    assert result["applicant"]["position"] == "Pranata Komputer Ahli Pertama"
    assert [c["serial"] for c in result["certificates"]] == [OLD_SERIAL]
    assert result["link_valid_days"] == 7


def test_new_values_replace_only_the_ticked_fields() -> None:
    values = new_values(make_ctx(data={"current": current(), "change_form": change_form(full_name="Ignored Name")}))
    assert values == {"full_name": "Budi Santoso", "position": "Analis Keuangan Ahli Muda", "agency_code": "bpkad",
                      "email": "pemohon@pekalongankota.go.id", "agency_name": "bpkad"}  # no agency names in this context


def test_change_of_agency_passes_with_the_roster_mismatch_as_a_warning() -> None:
    result = automated_checks(make_ctx())
    items = by_code(result)
    assert items["certificate_owned"]["ok"] and items["change_agency_code"]["ok"] and items["change_position"]["ok"]
    assert items["roster_member"]["ok"] and items["roster_active"]["ok"]
    assert (items["roster_agency"]["ok"], items["roster_agency"]["severity"]) == (False, "warning")
    assert "akan diperbarui" in items["roster_agency"]["message"]
    assert result["errors"] == 0
    assert result["new"]["agency_code"] == "bpkad"


def test_ticked_field_that_does_not_change_and_foreign_certificate_are_errors() -> None:
    data = {"current": current(), "change_form": change_form(certificate_serial="ffff", change_full_name=True)}
    items = by_code(automated_checks(make_ctx(data=data)))
    assert items["certificate_owned"]["ok"] is False
    assert "bukan milik" in items["certificate_owned"]["message"]
    assert (items["change_full_name"]["ok"], items["change_full_name"]["severity"]) == (False, "error")


def test_new_email_off_the_official_domain_is_an_error() -> None:
    data = {"current": current(), "change_form": change_form(change_email=True, email="budi@gmail.com")}
    items = by_code(automated_checks(make_ctx(data=data)))
    assert items["email_domain"]["ok"] is False


def test_leaver_on_the_roster_is_an_error() -> None:
    items = by_code(automated_checks(make_ctx(rows=roster(status="keluar"))))
    assert items["roster_active"]["ok"] is False


def test_apply_change_updates_the_person_record_and_flags_the_roster_difference_for_review() -> None:
    ports = Ports()
    result = apply_change(make_ctx(ports=ports))
    assert ports.applicant_updates == [{"position": "Analis Keuangan Ahli Muda", "agency_code": "bpkad"}]
    assert result["roster_review"] is True and result["changed"] == ["position", "agency_code"]
    assert "roster_updated" not in result


def test_apply_change_without_a_roster_row_has_nothing_to_review() -> None:
    ports = Ports()
    result = apply_change(make_ctx(ports=ports, rows={}))
    assert ports.applicant_updates and result["roster_review"] is False


def test_reissue_uses_the_new_subject_records_the_certificate_and_marks_the_old_revoked() -> None:
    ports, psre = Ports(), FakePSrE()
    applicant = {**current()["applicant"], "position": "Analis Keuangan Ahli Muda", "agency_code": "bpkad",
                 "agency_name": "Badan Pengelolaan Keuangan dan Aset Daerah"}
    result = reissue_certificate(make_ctx(applicant=applicant, psre=psre, ports=ports))
    subject_id, subject, csr, key = psre.reissued[0]
    assert subject_id == f"subj-{NIK}" and csr == CSR and key == "case-9/task/1"
    assert psre.registered == [(subject, "case-9/task/1/subject")]
    assert subject == SubjectInfo(name="Budi Santoso", nik=NIK, email="pemohon@pekalongankota.go.id",
                                  agency="Badan Pengelolaan Keuangan dan Aset Daerah", position="Analis Keuangan Ahli Muda", nip=NIP)
    assert [c.serial_hex for c in ports.recorded] == [NEW_SERIAL]
    assert {c["serial"]: c["status"] for c in ports.inventory} == {NEW_SERIAL: "active", OLD_SERIAL: "revoked"}
    assert result["serial_hex"] == NEW_SERIAL and result["old_serial"] == OLD_SERIAL and result["revoked"] == [OLD_SERIAL]


def test_reissue_refused_by_the_psre_is_a_handler_error_in_indonesian() -> None:
    with pytest.raises(HandlerError, match="sudah pernah disertifikasi"):
        reissue_certificate(make_ctx(psre=FakePSrE(fail=KeyReused("reused"))))


def test_reissue_without_a_csr_is_refused() -> None:
    with pytest.raises(HandlerError, match="CSR baru"):
        reissue_certificate(make_ctx(data={"current": current(), "change_form": change_form()}))


def test_reissue_of_a_certificate_that_is_no_longer_active_is_refused() -> None:
    ports = Ports()
    ports.inventory[0]["status"] = "revoked"
    with pytest.raises(HandlerError, match="tidak aktif"):
        apply_change(make_ctx(ports=ports))


def test_change_form_requires_proof_statement_and_at_least_one_change() -> None:
    raw = {k: v for k, v in change_form(change_position=False, change_agency=False).items() if k not in ("change_proof", "statement_true", "other_proof")}
    with pytest.raises(Exception) as caught:
        ChangeFormSchema().load(raw)
    messages = caught.value.messages  # type: ignore[attr-defined]
    assert messages["change_proof"] == ["Dokumen wajib diunggah."]
    assert "statement_true" in messages
    assert messages["change_full_name"] == ["Pilih sedikitnya satu data yang berubah."]


def test_change_form_accepts_a_complete_submission() -> None:
    loaded = ChangeFormSchema().load({**change_form(), "other_proof": None})
    assert loaded["change_agency"] is True and loaded["change_proof"] == 5
