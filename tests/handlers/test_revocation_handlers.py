"""The operators and forms of SOP 088.11 (revocation), called directly with a HandlerContext."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from marshmallow import ValidationError

from engine import registry
from engine.handler_api import HandlerContext, HandlerError
from handlers.forms import today_wib
from handlers.key_custody import invalidity_date
from handlers.revocation import (
    REASONS,
    RaStatementSchema,
    StatementSchema,
    check_certificate,
    lift_suspension,
    prepare_revocation,
    revoke_certificate,
    suspend_signing,
)
from pki.errors import AlreadyRevoked, UnknownCertificate
from pki.psre import CertificateStatus
from tests.handlers.diagram_params import params_for

# The service tasks of revocation.bpmn whose parameters the contexts of these tests get.
DIAGRAM_TASKS = ("prepare_revocation", "check_certificate", "revoke_certificate", "suspend_signing")

SERIAL = "a1b2c3"
NIP = "199007152015031001"


def cert_row(serial: str = SERIAL, status: str = "active") -> dict[str, Any]:
    return {"serial": serial, "status": status, "subject": "Budi Santoso", "case_id": 1, "not_before": "2025-01-01T00:00:00", "not_after": "2027-01-01T00:00:00"}


def owner_statement(**overrides: Any) -> dict[str, Any]:
    form = {"certificate_serial": SERIAL, "reason": "affiliationChanged", "chronology": "Pindah tugas ke kabupaten lain.",
            "incident_date": "2025-06-01", "statement_true": True}
    return {**form, **overrides}


@dataclass
class FakePSrE:
    """A PSrE with one certificate whose status the test sets; records revocations."""

    status: str = "good"
    revoked: list[tuple[str, str, str]] = field(default_factory=list)
    fail: Exception | None = None
    server_key: bool = True
    invalidity: list[datetime | None] = field(default_factory=list)
    suspensions: list[tuple[str, str, str]] = field(default_factory=list)

    def certificate_status(self, serial_hex: str) -> CertificateStatus:
        at = datetime(2025, 6, 1, 9, 30, tzinfo=UTC) if self.status == "revoked" else None
        destroyed = self.server_key and self.status == "revoked"
        return CertificateStatus(serial_hex, self.status, "keyCompromise" if at else None, at, key_destroyed=destroyed)  # type: ignore[arg-type]

    def revoke(self, serial_hex: str, reason: str, idempotency_key: str, invalidity_date: datetime | None = None) -> None:
        if self.fail:
            raise self.fail
        self.revoked.append((serial_hex, reason, idempotency_key))
        self.invalidity.append(invalidity_date)
        self.status = "revoked"

    def suspend_server_key(self, serial_hex: str, idempotency_key: str) -> bool:
        self.suspensions.append(("suspend", serial_hex, idempotency_key))
        return self.server_key

    def lift_server_key_suspension(self, serial_hex: str, idempotency_key: str) -> bool:
        self.suspensions.append(("lift", serial_hex, idempotency_key))
        return self.server_key


@dataclass
class Inventory:
    rows: list[dict[str, Any]] = field(default_factory=lambda: [cert_row()])
    statuses: list[tuple[str, str]] = field(default_factory=list)


def make_ctx(data: dict[str, Any], psre: FakePSrE | None = None, inventory: Inventory | None = None,
             roster_status: str | None = "aktif") -> HandlerContext:
    inv = inventory if inventory is not None else Inventory()
    rows = {NIP: {"nip": NIP, "status": roster_status, "agency_name": "Dinas Komunikasi dan Informatika"}} if roster_status else {}
    return HandlerContext(
        case_id=11, task_name="task", idempotency_key="case-11/task/1", params=params_for("revocation", DIAGRAM_TASKS, data),
        psre=psre or FakePSrE(),
        applicant={"username": "pemohon", "full_name": "Budi Santoso", "nip": NIP, "email": "pemohon@pekalongankota.go.id"},
        lookup_roster=rows.get, certificates=lambda: inv.rows,
        set_certificate_status=lambda serial, status: inv.statuses.append((serial, status)),
    )


def test_operators_and_forms_are_registered() -> None:
    names = {op.name for op in registry.operators()}
    assert {"revocation.prepare_revocation", "revocation.check_certificate", "revocation.revoke_certificate",
            "revocation.suspend_signing", "revocation.lift_suspension"} <= names
    for name in ("revocation.start", "revocation_statement", "revocation_ra_statement", "revocation_fast_track"):
        assert registry.form_for(name) is not None


def test_reasons_are_rfc5280_names_with_indonesian_labels() -> None:
    assert list(REASONS) == ["keyCompromise", "affiliationChanged", "cessationOfOperation", "superseded", "unspecified"]
    assert "bocor" in REASONS["keyCompromise"] and "ASN" in REASONS["cessationOfOperation"]


# --- prepare_revocation ------------------------------------------------------------------------


def test_prepare_tells_the_owner_from_the_ra_and_lists_only_active_certificates() -> None:
    inventory = Inventory(rows=[cert_row("ff"), cert_row(SERIAL, "superseded")])
    own = prepare_revocation(make_ctx({"started_by": "pemohon"}, inventory=inventory))
    assert own["initiator"] == "owner"
    assert [c["serial"] for c in own["certificates"]] == ["ff"]
    assert own["prefill"]["certificate_serial"] == "ff"  # the only active one
    by_ra = prepare_revocation(make_ctx({"started_by": "verifikator", "certificate_serial": SERIAL, "reason": "cessationOfOperation"}))
    assert by_ra["initiator"] == "ra"
    assert (by_ra["prefill"]["certificate_serial"], by_ra["prefill"]["reason"]) == (SERIAL, "cessationOfOperation")
    assert by_ra["prefill"]["incident_date"] == today_wib().isoformat()


# --- check_certificate -------------------------------------------------------------------------


def test_active_certificate_passes_with_checks_and_key_compromise_is_flagged_fast_track() -> None:
    result = check_certificate(make_ctx({"filed_statement": owner_statement(reason="keyCompromise"), "started_by": "pemohon"}))
    assert (result["status"], result["serial"], result["reason"], result["fast_track"]) == ("active", SERIAL, "keyCompromise", True)
    codes = {i["code"]: i for i in result["checks"]["items"]}
    assert codes["certificate_owned"]["ok"] and "aktif" in codes["roster_status"]["message"]
    assert result["checks"]["errors"] == 0


def test_statement_filed_by_the_ra_is_the_one_the_diagram_passes() -> None:
    data = {"revocation": {"initiator": "ra"}, "filed_statement": owner_statement(reason="cessationOfOperation"),
            "statement": owner_statement(reason="keyCompromise"), "started_by": "verifikator"}
    result = check_certificate(make_ctx(data, roster_status="keluar"))
    assert result["reason"] == "cessationOfOperation" and result["fast_track"] is False
    assert "keluar" in {i["code"]: i for i in result["checks"]["items"]}["roster_status"]["message"]


def test_certificate_of_someone_else_is_not_found() -> None:
    result = check_certificate(make_ctx({"filed_statement": owner_statement(certificate_serial="beef")}))
    assert result["status"] == "not_found"
    assert "tidak ditemukan" in result["problem"]


def test_certificate_already_revoked_in_the_inventory_or_at_the_psre_is_refused() -> None:
    inventory = Inventory(rows=[cert_row(status="revoked")])
    assert check_certificate(make_ctx({"filed_statement": owner_statement()}, inventory=inventory))["status"] == "revoked"
    inventory = Inventory()
    result = check_certificate(make_ctx({"filed_statement": owner_statement()}, psre=FakePSrE(status="revoked"), inventory=inventory))
    assert result["status"] == "revoked"
    assert "sudah dicabut" in result["problem"] and "01-06-2025" in result["problem"]
    assert inventory.statuses == [(SERIAL, "revoked")]


def test_missing_statement_is_a_handler_error() -> None:
    with pytest.raises(HandlerError, match="pernyataan"):
        check_certificate(make_ctx({}))


# --- revoke_certificate ------------------------------------------------------------------------


def test_revoke_passes_the_reason_and_idempotency_key_and_records_the_status() -> None:
    psre, inventory = FakePSrE(), Inventory()
    request = {"serial": SERIAL, "reason": "keyCompromise"}
    data = {"revocation_request": request, "filed_statement": owner_statement(reason="keyCompromise")}
    result = revoke_certificate(make_ctx(data, psre=psre, inventory=inventory))
    assert psre.revoked == [(SERIAL, "keyCompromise", "case-11/task/1")]
    assert inventory.statuses == [(SERIAL, "revoked")]
    assert (result["reason_label"], result["already_revoked"]) == (REASONS["keyCompromise"], False)
    assert result["revoked_at"].startswith("2025-06-01T09:30")


def test_revoke_for_key_compromise_sends_the_incident_day_as_invalidity_date_and_logs_key_destruction() -> None:
    psre = FakePSrE()
    data = {"revocation_request": {"serial": SERIAL, "reason": "keyCompromise"},
            "filed_statement": owner_statement(reason="keyCompromise")}
    result = revoke_certificate(make_ctx(data, psre=psre))
    # 1 June 2025 00:00 WIB is 31 May 2025 17:00 UTC.
    assert psre.invalidity == [datetime(2025, 5, 31, 17, 0, tzinfo=UTC)]
    assert result["invalidity_date"] == "2025-05-31T17:00:00+00:00"
    assert result["key_destroyed"] is True


def test_revoke_for_another_reason_sends_no_invalidity_date() -> None:
    psre = FakePSrE(server_key=False)
    data = {"revocation_request": {"serial": SERIAL, "reason": "affiliationChanged"}, "filed_statement": owner_statement()}
    result = revoke_certificate(make_ctx(data, psre=psre))
    assert psre.invalidity == [None]
    assert (result["invalidity_date"], result["key_destroyed"]) == (None, False)


def test_invalidity_date_never_lies_in_the_future() -> None:
    now = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert invalidity_date({"incident_date": "2025-06-01"}, now) == datetime(2025, 5, 31, 17, 0, tzinfo=UTC)
    assert invalidity_date({"incident_date": "2025-06-02"}, now) == now
    assert invalidity_date({"incident_date": ""}, now) is None


def test_revoke_uses_the_reason_the_requester_chose_and_never_a_default() -> None:
    psre = FakePSrE()
    data = {"revocation_request": {"serial": SERIAL}, "filed_statement": owner_statement(reason="superseded")}
    assert revoke_certificate(make_ctx(data, psre=psre))["reason"] == "superseded"
    assert psre.revoked[0][1] == "superseded" and psre.invalidity == [None]
    psre = FakePSrE()
    without_reason = {"revocation_request": {"serial": SERIAL}, "filed_statement": owner_statement(reason="")}
    with pytest.raises(HandlerError, match="Alasan pencabutan"):
        revoke_certificate(make_ctx(without_reason, psre=psre))
    assert psre.revoked == []


# --- suspension ----------------------------------------------------------------------------------


def test_key_compromise_report_suspends_the_reported_certificate_at_the_psre() -> None:
    psre = FakePSrE()
    result = suspend_signing(make_ctx({"revocation_request": {"serial": SERIAL, "reason": "keyCompromise"}}, psre=psre))
    assert psre.suspensions == [("suspend", SERIAL, "case-11/task/1")]
    assert result["suspended"] is True and "ditangguhkan" in result["note"]


def test_suspension_of_a_certificate_without_server_key_says_so() -> None:
    psre = FakePSrE(server_key=False)
    result = suspend_signing(make_ctx({"revocation_request": {"serial": SERIAL}}, psre=psre))
    assert result["suspended"] is False and "tidak memakai kunci yang disimpan PSrE" in result["note"]


def test_rejected_report_lifts_the_suspension() -> None:
    psre = FakePSrE()
    result = lift_suspension(make_ctx({"revocation_request": {"serial": SERIAL}}, psre=psre))
    assert psre.suspensions == [("lift", SERIAL, "case-11/task/1")]
    assert result["lifted"] is True


def test_suspension_without_a_checked_certificate_is_a_handler_error() -> None:
    with pytest.raises(HandlerError):
        suspend_signing(make_ctx({}))


def test_revoke_of_a_certificate_revoked_meanwhile_still_completes() -> None:
    psre = FakePSrE(fail=AlreadyRevoked("already"))
    data = {"revocation_request": {"serial": SERIAL}, "filed_statement": owner_statement(reason="unspecified")}
    result = revoke_certificate(make_ctx(data, psre=psre))
    assert result["already_revoked"] is True


def test_revoke_refusals_are_handler_errors() -> None:
    with pytest.raises(HandlerError, match="PSrE menolak"):
        data = {"revocation_request": {"serial": SERIAL}, "filed_statement": owner_statement()}
        revoke_certificate(make_ctx(data, psre=FakePSrE(fail=UnknownCertificate("x"))))
    with pytest.raises(HandlerError):
        revoke_certificate(make_ctx({}))


# --- forms -------------------------------------------------------------------------------------


def test_statement_form_checks_reason_chronology_and_date_in_indonesian() -> None:
    tomorrow = (today_wib() + timedelta(days=1)).isoformat()  # dates are judged in WIB, whatever the server's zone
    with pytest.raises(ValidationError) as caught:
        StatementSchema().load(owner_statement(reason="lostKey", chronology="singkat", incident_date=tomorrow, statement_true=None))
    messages = caught.value.messages
    assert set(messages) >= {"reason", "chronology", "incident_date", "statement_true"}
    assert "melewati hari ini" in messages["incident_date"][0]  # type: ignore[index]
    loaded = StatementSchema().load(owner_statement())
    assert loaded["incident_date"] == date(2025, 6, 1)


def test_ra_statement_needs_the_head_when_the_head_asked() -> None:
    with pytest.raises(ValidationError) as caught:
        RaStatementSchema().load({**owner_statement(), "requested_by": "agency_head"})
    assert set(caught.value.messages) == {"requester_name", "requester_nip"}
    with pytest.raises(ValidationError) as caught:
        RaStatementSchema().load({**owner_statement(), "requested_by": "agency_head", "requester_name": "Dr. Agus", "requester_nip": "123"})
    assert set(caught.value.messages) == {"requester_nip"}
    loaded = RaStatementSchema().load({**owner_statement(), "requested_by": "agency_head", "requester_name": "Dr. Agus Prasetyo",
                                        "requester_nip": "19750110 200003 1 003"})
    assert loaded["requester_nip"] == "197501102000031003"
    assert RaStatementSchema().load({**owner_statement(), "requested_by": "ra"})["request_letter"] is None
