"""The operators and forms of SOP 088.10 (renewal with a new key), called directly with a HandlerContext."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marshmallow import ValidationError

from engine import registry
from engine.handler_api import HandlerContext, HandlerError
from handlers.renewal_rekey import RenewalFormSchema, RenewalStartSchema, prepare_renewal, recheck, renew_certificate
from pki.errors import AlreadyRevoked, KeyReused
from pki.psre import CertificateStatus, IssuedCertificate
from tests.handlers.test_issuance_ams_handlers import self_signed_pem
from tests.handlers.diagram_params import params_for

NIK = "3375011507900001"
NIP = "199007152015031001"
OLD = "a1b2c3"
CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"
FUTURE = (datetime.now(UTC) + timedelta(days=20)).isoformat()


def cert_row(serial: str = OLD, status: str = "active", not_after: str = FUTURE) -> dict[str, Any]:
    return {"serial": serial, "status": status, "subject": "Budi Santoso", "case_id": 1, "not_before": "2024-01-01T00:00:00", "not_after": not_after}


def roster(**overrides: Any) -> dict[str, Any]:
    row = {"nip": NIP, "nik": NIK, "full_name": "Budi Santoso", "agency_code": "diskominfo",
           "agency_name": "Dinas Komunikasi dan Informatika", "position": "Pranata Komputer Ahli Pertama", "status": "aktif"}
    return {**row, **overrides}


def renewal_form(**overrides: Any) -> dict[str, Any]:
    form = {"certificate_serial": OLD, "full_name": "Budi Santoso", "nik": NIK, "nip": NIP,
            "position": "Pranata Komputer Ahli Pertama", "agency_code": "diskominfo", "email": "pemohon@pekalongankota.go.id",
            "phone": "0812-3456-7890", "changes": "", "change_proof": None, "statement_true": True}
    return {**form, **overrides}


@dataclass
class FakePSrE:
    """Answers status questions and renewals; raises `fail` on renew if set."""

    status: str = "good"
    fail: Exception | None = None
    renewed: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)

    def certificate_status(self, serial_hex: str) -> CertificateStatus:
        return CertificateStatus(serial_hex=serial_hex, status=self.status)  # type: ignore[arg-type]

    def renew(self, serial_hex: str, csr_pem: str | None, passphrase: str | None, idempotency_key: str) -> IssuedCertificate:
        if self.fail:
            raise self.fail
        self.renewed.append((serial_hex, csr_pem, passphrase, idempotency_key))
        start = datetime(2025, 1, 1, tzinfo=UTC)
        return IssuedCertificate("d4e5f6", self_signed_pem(0xD4E5F6), "", start, start + timedelta(days=730), "subj-1")


@dataclass
class Inventory:
    """The RA's certificate records and what handlers did to them, in order."""

    rows: list[dict[str, Any]] = field(default_factory=lambda: [cert_row()])
    events: list[tuple[str, Any]] = field(default_factory=list)


def make_ctx(data: dict[str, Any] | None = None, psre: FakePSrE | None = None, inventory: Inventory | None = None,
             roster_rows: dict[str, dict[str, Any]] | None = None, applicant: dict[str, Any] | None = None) -> HandlerContext:
    inv = inventory if inventory is not None else Inventory()
    rows = roster_rows if roster_rows is not None else {NIP: roster()}
    return HandlerContext(
        case_id=9, task_name="task", idempotency_key="case-9/task/1",
        params=params_for(
            "renewal_rekey",
            ("prepare_renewal", "recheck", "renew_certificate"),
            data if data is not None else {"renewal_form": renewal_form()},
        ),
        psre=psre or FakePSrE(), settings={"official_email_domain": "pekalongankota.go.id"},
        applicant=applicant if applicant is not None else {
            "username": "pemohon", "full_name": "Budi Santoso", "nik": NIK, "nip": NIP, "agency_code": "diskominfo",
            "email": "pemohon@pekalongankota.go.id"},
        lookup_roster=rows.get,
        certificates=lambda: inv.rows,
        record_certificate=lambda issued: inv.events.append(("record", issued.serial_hex)),
        set_certificate_status=lambda serial, status: inv.events.append(("status", (serial, status))),
    )


def by_code(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["code"]: entry for entry in result["items"]}


def test_operators_and_forms_are_registered() -> None:
    names = {op.name for op in registry.operators()}
    assert {"renewal_rekey.prepare_renewal", "renewal_rekey.recheck", "renewal_rekey.renew_certificate"} <= names
    for name in ("renewal_rekey.start", "renewal", "activation"):
        assert registry.form_for(name) is not None


# --- prepare_renewal ---------------------------------------------------------------------------


def test_prepare_lists_active_certificates_and_prefills_from_the_start_data_and_roster() -> None:
    inventory = Inventory(rows=[cert_row("ff01"), cert_row(OLD), cert_row("0dd", status="revoked")])
    result = prepare_renewal(make_ctx(data={"certificate_serial": OLD.upper()}, inventory=inventory))
    assert [c["serial"] for c in result["certificates"]] == ["ff01", OLD]
    prefill = result["prefill"]
    assert prefill["certificate_serial"] == OLD
    assert (prefill["nik"], prefill["nip"], prefill["email"]) == (NIK, NIP, "pemohon@pekalongankota.go.id")
    assert prefill["position"] == "Pranata Komputer Ahli Pertama"


def test_prepare_picks_the_newest_active_certificate_when_the_start_names_none_or_a_revoked_one() -> None:
    inventory = Inventory(rows=[cert_row("ff01"), cert_row(OLD, status="revoked")])
    assert prepare_renewal(make_ctx(data={}, inventory=inventory))["prefill"]["certificate_serial"] == "ff01"
    assert prepare_renewal(make_ctx(data={"certificate_serial": OLD}, inventory=inventory))["prefill"]["certificate_serial"] == "ff01"
    assert prepare_renewal(make_ctx(data={}, inventory=Inventory(rows=[])))["certificates"] == []


# --- recheck -----------------------------------------------------------------------------------


def test_recheck_of_a_consistent_renewal_passes() -> None:
    result = recheck(make_ctx())
    assert result["errors"] == 0 and result["warnings"] == 0, result
    assert result["certificate_serial"] == OLD
    assert {"certificate_owned", "certificate_psre_status", "certificate_expiry", "roster_active", "email_domain"} <= set(by_code(result))


def test_recheck_of_an_owner_who_is_not_asn_skips_nip_and_roster() -> None:
    mayor = {"username": "walikota", "full_name": "H. Ahmad Fadhil", "nik": "3375010503700008", "nip": "",
             "category": "wali_kota", "agency_code": "setda", "email": "walikota@pekalongankota.go.id"}
    form = renewal_form(full_name="H. Ahmad Fadhil", nik="3375010503700008", nip="", agency_code="setda",
                        email="walikota@pekalongankota.go.id")
    result = recheck(make_ctx(data={"renewal_form": form}, applicant=mayor, roster_rows={}))
    items = by_code(result)
    assert "bukan ASN" in items["owner_rule"]["message"]
    assert not any(code.startswith(("roster_", "nip_")) for code in items)
    assert result["errors"] == 0, result


def test_recheck_fails_a_person_who_left_the_roster() -> None:
    result = recheck(make_ctx(roster_rows={NIP: roster(status="keluar")}))
    active = by_code(result)["roster_active"]
    assert (active["ok"], active["severity"]) == (False, "error")
    assert "keluar" in active["message"]
    assert result["all_ok"] is False


def test_recheck_fails_a_certificate_that_is_not_the_applicants_or_not_active() -> None:
    foreign = recheck(make_ctx(data={"renewal_form": renewal_form(certificate_serial="beef")}))
    assert by_code(foreign)["certificate_owned"]["ok"] is False
    superseded = recheck(make_ctx(inventory=Inventory(rows=[cert_row(status="superseded")])))
    assert "superseded" in by_code(superseded)["certificate_owned"]["message"]
    revoked_at_psre = recheck(make_ctx(psre=FakePSrE(status="revoked")))
    assert by_code(revoked_at_psre)["certificate_psre_status"]["ok"] is False


def test_recheck_warns_about_declared_changes_a_new_position_and_an_expired_certificate() -> None:
    ctx = make_ctx(
        data={"renewal_form": renewal_form(changes="Naik jabatan.", change_proof=5, position="Pranata Komputer Ahli Muda")},
        inventory=Inventory(rows=[cert_row(not_after="2020-01-01T00:00:00")]),
    )
    items = by_code(recheck(ctx))
    assert (items["declared_changes"]["ok"], items["declared_changes"]["severity"]) == (False, "warning")
    assert "Naik jabatan." in items["declared_changes"]["message"]
    assert items["roster_position"]["ok"] is False
    assert (items["certificate_expiry"]["ok"], items["certificate_expiry"]["severity"]) == (False, "warning")


# --- renew_certificate -------------------------------------------------------------------------


def test_renew_records_the_new_certificate_before_marking_the_old_superseded() -> None:
    psre, inventory = FakePSrE(), Inventory()
    data = {"renewal_form": renewal_form(), "activation": {"csr_pem": CSR, "accept_obligations": True}}
    result = renew_certificate(make_ctx(data=data, psre=psre, inventory=inventory))
    assert psre.renewed == [(OLD, CSR, None, "case-9/task/1")]
    assert inventory.events == [("record", "d4e5f6"), ("status", (OLD, "superseded"))]
    assert (result["ok"], result["serial_hex"], result["old_serial"]) == (True, "d4e5f6", OLD)


def test_renew_with_a_reused_key_sends_the_owner_back_without_touching_the_inventory() -> None:
    inventory = Inventory()
    data = {"renewal_form": renewal_form(), "activation": {"csr_pem": CSR}}
    result = renew_certificate(make_ctx(data=data, psre=FakePSrE(fail=KeyReused("reused")), inventory=inventory))
    assert result["ok"] is False
    assert "buat pasangan kunci baru" in result["problem"]
    assert inventory.events == []


def test_renew_fails_loudly_on_other_psre_refusals_and_missing_data() -> None:
    data = {"renewal_form": renewal_form(), "activation": {"csr_pem": CSR}}
    with pytest.raises(HandlerError, match="PSrE menolak"):
        renew_certificate(make_ctx(data=data, psre=FakePSrE(fail=AlreadyRevoked("revoked"))))
    with pytest.raises(HandlerError, match="CSR"):
        renew_certificate(make_ctx(data={"renewal_form": renewal_form()}))


# --- forms -------------------------------------------------------------------------------------


def test_renewal_form_requires_proof_when_changes_are_declared() -> None:
    raw = {**renewal_form(changes="Pindah ke Dinas Kesehatan."), "change_proof": None, "statement_true": "true"}
    with pytest.raises(ValidationError) as caught:
        RenewalFormSchema().load(raw)
    assert "change_proof" in caught.value.messages
    loaded = RenewalFormSchema().load({**raw, "change_proof": 3})
    assert loaded["changes"] == "Pindah ke Dinas Kesehatan."


def test_renewal_form_refuses_a_missing_statement_and_a_bad_nik() -> None:
    with pytest.raises(ValidationError) as caught:
        RenewalFormSchema().load({**renewal_form(nik="123"), "statement_true": None})
    assert {"nik", "statement_true"} <= set(caught.value.messages)


def test_start_data_may_name_a_certificate_or_nothing() -> None:
    assert RenewalStartSchema().load({}) == {"certificate_serial": ""}
    assert RenewalStartSchema().load({"certificate_serial": " A1B2 "}) == {"certificate_serial": "A1B2"}
