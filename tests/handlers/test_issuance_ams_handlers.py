"""The operators of SOP 088.9 and the shared ones, called directly with a HandlerContext."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine import registry
from engine.handler_api import HandlerContext, HandlerError
from handlers.common import archive_case, dossier_rows, issue_from_csr, notify, register_subject
from handlers.issuance_ams import automated_checks
from pki.errors import InvalidCsr
from pki.psre import IssuedCertificate, SubjectInfo
from tests.handlers.diagram_params import params_for

# The service tasks of issuance_ams.bpmn whose parameters the contexts of these tests get.
DIAGRAM_TASKS = ("automated_checks", "register_subject", "issue_certificate")

NIK = "3375010101900001"
NIP = "199001012015031001"
EMAIL = "budi.santoso@pekalongankota.go.id"
CSR_PEM = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"


def registration(**overrides: Any) -> dict[str, Any]:
    """Return a registration-form submission as the engine stores it."""
    form = {
        "full_name": "Budi Santoso, S.Kom.",
        "nik": NIK,
        "nip": NIP,
        "position": "Pranata Komputer",
        "agency_code": "DISKOMINFO",
        "email": EMAIL,
        "phone": "0812-3456-7890",
        "ktp_scan": 11,
        "asn_proof": 12,
        "statement_true": True,
    }
    return {**form, **overrides}


def roster_row(**overrides: Any) -> dict[str, Any]:
    """Return the roster row of the applicant."""
    row = {
        "nip": NIP,
        "nik": NIK,
        "full_name": "BUDI SANTOSO",
        "agency_code": "DISKOMINFO",
        "agency_name": "Dinas Komunikasi dan Informatika",
        "position": "Pranata Komputer",
        "status": "aktif",
    }
    return {**row, **overrides}


def self_signed_pem(serial: int = 0x1A2B) -> str:
    """Return a small certificate PEM to stand in for what the PSrE issues."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Budi Santoso")])
    start = datetime(2025, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def issued_certificate(serial: str, subject_id: str) -> IssuedCertificate:
    """Return what the PSrE hands back for hex `serial`: a two-year certificate from 1 January 2025."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    return IssuedCertificate(serial, self_signed_pem(int(serial, 16)), "", start, start + timedelta(days=730), subject_id)


@dataclass
class FakePSrE:
    """Records calls; issues a fixed certificate; raises `fail` if set."""

    subjects: list[tuple[SubjectInfo, str]] = field(default_factory=list)
    issued: list[tuple[str, str, str]] = field(default_factory=list)
    fail: Exception | None = None

    def register_subject(self, subject: SubjectInfo, idempotency_key: str) -> str:
        if self.fail:
            raise self.fail
        self.subjects.append((subject, idempotency_key))
        return "subj-42"

    def issue_from_csr(self, subject_id: str, csr_pem: str, idempotency_key: str) -> IssuedCertificate:
        if self.fail:
            raise self.fail
        self.issued.append((subject_id, csr_pem, idempotency_key))
        start = datetime(2025, 1, 1, tzinfo=UTC)
        return IssuedCertificate(
            serial_hex="1a2b",
            certificate_pem=self_signed_pem(),
            chain_pem="",
            not_before=start,
            not_after=start + timedelta(days=730),
            subject_id=subject_id,
        )


@dataclass
class Ports:
    """What the engine would do with notices and certificates, captured for assertions."""

    notices: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    certificates: list[IssuedCertificate] = field(default_factory=list)


def make_ctx(
    data: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    roster: dict[str, dict[str, Any]] | None = None,
    applicant: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    psre: FakePSrE | None = None,
    ports: Ports | None = None,
) -> HandlerContext:
    """Build a HandlerContext for case 7 with sensible defaults."""
    ports = ports if ports is not None else Ports()
    rows = roster if roster is not None else {NIP: roster_row()}
    record = data if data is not None else {"registration_form": registration()}
    return HandlerContext(
        case_id=7,
        task_name="task",
        idempotency_key="7:task",
        # What issuance_ams.bpmn passes its operators, evaluated on `record`; then the test's own parameters.
        params={**params_for("issuance_ams", DIAGRAM_TASKS, record), **(params or {})},
        case_record=lambda: record,
        psre=psre or FakePSrE(),
        settings=settings or {"official_email_domain": "pekalongankota.go.id"},
        applicant=applicant
        if applicant is not None
        else {
            "full_name": "Budi Santoso",
            "email": EMAIL,
            "nik": NIK,
            "nip": NIP,
            "agency_code": "DISKOMINFO",
            "agency_name": "Dinas Komunikasi dan Informatika",
        },
        lookup_roster=rows.get,
        record_certificate=ports.certificates.append,
        notify=lambda template, to, context: ports.notices.append((template, to, context)),
        document_bytes=lambda doc_id: b"",
    )


def by_code(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Index the check items by code."""
    return {entry["code"]: entry for entry in result["items"]}


# --- issuance_ams.automated_checks -------------------------------------------------------------


def test_operators_are_registered_under_their_names() -> None:
    names = {op.name for op in registry.operators()}
    assert {
        "issuance_ams.automated_checks",
        "common.notify",
        "common.register_subject",
        "common.issue_from_csr",
        "common.archive_case",
    } <= names


def test_consistent_application_passes_every_check() -> None:
    result = automated_checks(make_ctx())
    assert result["all_ok"] is True
    assert result["errors"] == result["warnings"] == 0
    assert set(by_code(result)) == {
        "owner_rule",
        "eligibility_proof",
        "nik_format",
        "nip_format",
        "nip_kind",
        "nik_nip_agreement",
        "roster_member",
        "roster_active",
        "roster_agency",
        "roster_name",
        "roster_nik",
        "email_domain",
    }
    for entry in result["items"]:
        assert set(entry) == {"code", "label", "ok", "severity", "message"}
        assert entry["severity"] in ("error", "warning", "info")


def test_owner_who_is_not_asn_is_checked_by_the_rule_that_applies() -> None:
    mayor = {"full_name": "H. Ahmad Fadhil", "nik": "3375010503700008", "nip": "", "category": "wali_kota",
             "email": EMAIL, "agency_code": "setda"}
    form = registration(full_name="H. Ahmad Fadhil", nik="3375010503700008", nip="", asn_proof=None, appointment_proof=13,
                        agency_code="setda")
    result = automated_checks(make_ctx(data={"registration_form": form}, applicant=mayor, roster={}))
    items = by_code(result)
    assert "SK pelantikan" in items["owner_rule"]["message"] and "bukan ASN" in items["owner_rule"]["message"]
    assert items["eligibility_proof"]["ok"] is True
    assert not any(code.startswith(("roster_", "nip_")) for code in items)
    assert result["errors"] == 0
    without_proof = automated_checks(make_ctx(data={"registration_form": {**form, "appointment_proof": None}},
                                              applicant=mayor, roster={}))
    assert by_code(without_proof)["eligibility_proof"]["ok"] is False


def test_nip_missing_from_roster_is_an_error() -> None:
    result = automated_checks(make_ctx(roster={}))
    member = by_code(result)["roster_member"]
    assert (member["ok"], member["severity"]) == (False, "error")
    assert member["message"] == f"NIP {NIP} tidak ditemukan di data ASN kota."
    assert "roster_active" not in by_code(result)
    assert result["all_ok"] is False


def test_asn_who_left_fails_the_active_check() -> None:
    result = automated_checks(make_ctx(roster={NIP: roster_row(status="keluar")}))
    active = by_code(result)["roster_active"]
    assert active["ok"] is False
    assert "keluar" in active["message"]


def test_other_agency_than_chosen_fails_the_agency_check() -> None:
    result = automated_checks(make_ctx(roster={NIP: roster_row(agency_code="DLH", agency_name="DLH")}))
    agency = by_code(result)["roster_agency"]
    assert agency["ok"] is False and agency["severity"] == "error"
    assert "DISKOMINFO" in agency["message"]


def test_different_name_in_roster_is_only_a_warning() -> None:
    result = automated_checks(make_ctx(roster={NIP: roster_row(full_name="Siti Aminah")}))
    name = by_code(result)["roster_name"]
    assert (name["ok"], name["severity"]) == (False, "warning")
    assert result["errors"] == 0 and result["warnings"] == 1
    assert result["all_ok"] is False


def test_nik_nip_birth_date_mismatch_is_a_warning_not_an_error() -> None:
    other_nip = "199102032015031001"
    ctx = make_ctx(
        data={"registration_form": registration(nip=other_nip)},
        roster={other_nip: roster_row(nip=other_nip)},
    )
    agreement = by_code(automated_checks(ctx))["nik_nip_agreement"]
    assert (agreement["ok"], agreement["severity"]) == (False, "warning")
    assert agreement["message"].startswith("Tanggal lahir pada NIK")


def test_pppk_number_is_reported_as_information() -> None:
    pppk = "199001012023211001"
    ctx = make_ctx(data={"registration_form": registration(nip=pppk)}, roster={pppk: roster_row(nip=pppk)})
    result = automated_checks(ctx)
    kind = by_code(result)["nip_kind"]
    assert (kind["ok"], kind["severity"]) == (True, "info")
    assert "PPPK" in kind["message"]
    assert result["all_ok"] is True


def test_malformed_numbers_fail_and_skip_the_roster() -> None:
    ctx = make_ctx(data={"registration_form": registration(nik="12345", nip="abc")})
    result = by_code(automated_checks(ctx))
    assert result["nik_format"]["ok"] is False
    assert result["nip_format"]["ok"] is False
    assert result["roster_member"]["message"] == "Tidak dapat diperiksa: NIP tidak valid."


def test_private_mail_address_fails_the_domain_check() -> None:
    ctx = make_ctx(data={"registration_form": registration(email="budi@gmail.com")})
    email = by_code(automated_checks(ctx))["email_domain"]
    assert email["ok"] is False
    assert (
        email["message"]
        == "Alamat e-mail (budi@gmail.com) tidak berada pada domain resmi pekalongankota.go.id."
    )


def test_official_domain_comes_from_settings() -> None:
    ctx = make_ctx(settings={"official_email_domain": "contoh.go.id"})
    assert by_code(automated_checks(ctx))["email_domain"]["ok"] is False


def test_checks_fall_back_to_the_applicant_record() -> None:
    ctx = make_ctx(data={})
    result = automated_checks(ctx)
    assert by_code(result)["nik_format"]["ok"] is True
    assert by_code(result)["roster_agency"]["ok"] is True


# --- common.notify ----------------------------------------------------------------------------


def test_notify_sends_template_to_applicant_with_the_context_the_diagram_passes() -> None:
    ports = Ports()
    verdict = {"decision": "reject", "reasons": "NIP tidak terdaftar"}
    params = {"template": "rejected", "recipient": "applicant", "context": {"verification": verdict}}
    ctx = make_ctx(params=params, ports=ports)
    result = notify(ctx)
    template, to, context = ports.notices[0]
    assert (template, to) == ("rejected", EMAIL)
    assert context["verification"] == verdict
    assert "registration_form" not in context  # case data reaches a template only through `context`
    assert context["case_id"] == 7
    assert result["template"] == "rejected" and result["to"] == EMAIL


def test_notify_accepts_spiff_parameter_shape() -> None:
    ports = Ports()
    notify(make_ctx(params={"template": {"value": "certificate_ready", "type": "str"}}, ports=ports))
    assert ports.notices[0][:2] == ("certificate_ready", EMAIL)


def test_notify_without_template_fails() -> None:
    with pytest.raises(HandlerError, match="template"):
        notify(make_ctx(params={"recipient": "applicant"}))


def test_notify_to_unknown_recipient_fails() -> None:
    with pytest.raises(HandlerError, match="tidak dikenal"):
        notify(make_ctx(params={"template": "rejected", "recipient": "kepala"}))


# --- common.register_subject ------------------------------------------------------------------


def test_register_subject_sends_verified_identity_with_idempotency_key() -> None:
    psre = FakePSrE()
    result = register_subject(make_ctx(psre=psre))
    subject, key = psre.subjects[0]
    assert result["subject_id"] == "subj-42"
    assert key == "7:task"
    assert subject == SubjectInfo(
        name="Budi Santoso",
        nik=NIK,
        email=EMAIL,
        agency="Dinas Komunikasi dan Informatika",
        position="Pranata Komputer",
        nip=NIP,
    )


def test_register_subject_refuses_incomplete_applicant() -> None:
    ctx = make_ctx(data={}, applicant={"full_name": "Budi Santoso", "nik": NIK})
    with pytest.raises(HandlerError, match="belum lengkap"):
        register_subject(ctx)


# --- common.issue_from_csr --------------------------------------------------------------------


def activation_data() -> dict[str, Any]:
    """Return the task data as it stands when the certificate is issued."""
    return {
        "registration_form": registration(),
        "psre_subject": {"subject_id": "subj-42"},
        "activation": {"accept_obligations": True, "csr_pem": CSR_PEM},
    }


def test_issue_from_csr_issues_records_and_summarises() -> None:
    psre, ports = FakePSrE(), Ports()
    result = issue_from_csr(make_ctx(data=activation_data(), psre=psre, ports=ports))
    assert psre.issued == [("subj-42", CSR_PEM, "7:task")]
    assert [cert.serial_hex for cert in ports.certificates] == ["1a2b"]
    assert result["serial_hex"] == "1a2b"
    assert result["not_after"] == "2027-01-01T00:00:00+00:00"
    assert result["subject"] == "CN=Budi Santoso"
    assert len(result["sha256_fingerprint"]) == 64
    assert "PRIVATE" not in str(result)


def test_issue_from_csr_reads_only_its_parameters() -> None:
    psre = FakePSrE()
    issue_from_csr(make_ctx(data={}, params={"csr": CSR_PEM, "subject_id": "subj-7"}, psre=psre))
    assert psre.issued[0][:2] == ("subj-7", CSR_PEM)


def test_issue_from_csr_without_csr_fails() -> None:
    data = activation_data()
    del data["activation"]
    with pytest.raises(HandlerError, match="CSR"):
        issue_from_csr(make_ctx(data=data))


def test_issue_from_csr_without_registration_fails() -> None:
    data = activation_data()
    del data["psre_subject"]
    with pytest.raises(HandlerError, match="belum terdaftar"):
        issue_from_csr(make_ctx(data=data))


def test_psre_refusal_becomes_an_indonesian_handler_error() -> None:
    ports = Ports()
    with pytest.raises(HandlerError, match="CSR tidak dapat dibaca"):
        issue_from_csr(make_ctx(data=activation_data(), psre=FakePSrE(fail=InvalidCsr("bad")), ports=ports))
    assert ports.certificates == []


# --- common.archive_case ----------------------------------------------------------------------


def archive_ctx(stored: list[tuple[str, str, bytes, str]], data: dict[str, Any] | None = None) -> HandlerContext:
    """A context whose documents 11 and 12 belong to the case and whose inventory holds one certificate."""
    blobs = {11: b"ktp scan", 12: b"sk cpns"}

    def document_bytes(doc_id: int) -> bytes:
        if doc_id not in blobs:
            raise HandlerError(f"Dokumen {doc_id} bukan milik kasus ini.")
        return blobs[doc_id]

    def store_document(filename: str, media_type: str, content: bytes, kind: str) -> int:
        stored.append((filename, media_type, content, kind))
        return 99

    certificates = [{"serial": "1a2b", "status": "active", "case_id": 7, "not_after": "2027-01-01T00:00:00"},
                    {"serial": "ffff", "status": "active", "case_id": 3, "not_after": "2026-01-01T00:00:00"}]
    return dataclasses.replace(
        make_ctx(data=data), document_bytes=document_bytes, store_document=store_document, certificates=lambda: certificates
    )


@time_machine.travel(datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC), tick=False)
def test_archive_case_stores_a_json_dossier_and_reports_its_hash() -> None:
    stored: list[tuple[str, str, bytes, str]] = []
    data = {
        "started_by": "pemohon",
        "registration_form": registration(),
        "recommendation": {"decision": "approve", "head_name": "Dr. Agus"},
        "verification": {"decision": "approve", "reasons": "", "checked_identity": True},
    }
    sealed: list[bytes] = []

    def seal_pdf(pdf: bytes, reason: str) -> bytes:
        sealed.append(pdf)
        return pdf + b"%sealed"

    result = archive_case(dataclasses.replace(archive_ctx(stored, data), seal_pdf=seal_pdf))
    [(filename, media_type, content, kind), (cover_name, cover_type, cover, cover_kind)] = stored
    assert (filename, media_type, kind) == ("berkas-kasus-7.json", "application/json", "dossier")
    assert (cover_name, cover_type, cover_kind) == ("berkas-kasus-7.pdf", "application/pdf", "dossier")
    assert cover.endswith(b"%sealed") and cover.startswith(b"%PDF-") and len(sealed) == 1
    assert result == {
        "document_id": 99, "sha256": hashlib.sha256(content).hexdigest(), "filename": filename,
        "cover_document_id": 99, "cover_sealed_by": "ra_seal",
        "documents": 2, "archived_at": "2025-03-04T05:06:07+00:00",
    }
    manifest = json.loads(content)
    assert manifest["case_id"] == 7 and manifest["applicant"]["nik"] == NIK
    assert [(d["id"], d["field"], d["sha256"]) for d in manifest["documents"]] == [
        (11, "ktp_scan", hashlib.sha256(b"ktp scan").hexdigest()),
        (12, "asn_proof", hashlib.sha256(b"sk cpns").hexdigest()),
    ]
    assert [(d["step"], d["decision"]) for d in manifest["decisions"]] == [("recommendation", "approve"), ("verification", "approve")]
    assert manifest["certificates"] == [{"serial": "1a2b", "status": "active", "not_after": "2027-01-01T00:00:00"}]
    assert manifest["archived_at"] == "2025-03-04T05:06:07+00:00"


def test_archive_case_skips_numbers_that_are_not_documents_of_the_case() -> None:
    stored: list[tuple[str, str, bytes, str]] = []
    archive_case(archive_ctx(stored, {"registration_form": {**registration(), "ktp_scan": 13}, "validity": {"days": 730}}))
    manifest = json.loads(stored[0][2])
    assert [d["id"] for d in manifest["documents"]] == [12]


def test_notify_reaches_the_team_mailboxes_from_settings() -> None:
    ports = Ports()
    settings = {"verifikator_email": "verifikator@kota.go.id", "dinas_email": "dinas@kota.go.id"}
    notify(make_ctx(params={"template": "verification_reminder", "recipient": "verifikator_team"}, settings=settings, ports=ports))
    notify(make_ctx(params={"template": "verification_escalation", "recipient": "dinas"}, settings=settings, ports=ports))
    assert [(t, to) for t, to, _c in ports.notices] == [
        ("verification_reminder", "verifikator@kota.go.id"), ("verification_escalation", "dinas@kota.go.id"),
    ]
    assert ports.notices[0][2]["settings"] == settings


def test_the_dossier_cover_names_each_decision_by_its_task_and_form_labels() -> None:
    stored: list[tuple[str, str, bytes, str]] = []
    data = {
        "verification": {"decision": "approve", "reasons": "", "checked_identity": True},
        "fast_track_decision": {"decision": "reject", "reasons": "KTP tidak cocok", "checked_identity": False},
    }
    steps = {
        "verification": {"title": "Verifikasi identitas", "fields": {"checked_identity": "Identitas (NIK, KTP) telah diperiksa"}},
        "registration_form": {"title": "Isi formulir pendaftaran", "fields": {}},
    }
    ctx = dataclasses.replace(archive_ctx(stored, data), seal_pdf=lambda pdf, _reason: pdf, step_labels=lambda: steps)
    archive_case(ctx)
    manifest = json.loads(stored[0][2])
    assert manifest["steps"] == {"verification": steps["verification"]}  # only the steps the dossier names
    rows = dossier_rows(manifest, "0" * 64)
    assert ("Verifikasi identitas", "Disetujui") in rows
    assert ("Identitas (NIK, KTP) telah diperiksa", "Ya") in rows and ("Alasan", "-") in rows
    # A step the diagrams do not name is still no raw data name; its fields take the shared labels.
    assert ("Identitas diperiksa", "Tidak") in rows and ("Alasan", "KTP tidak cocok") in rows
    assert not [r for r in rows if "checked_identity" in r[0] or "_" in r[0]]
