"""Operators of SOP 088.9 (issuance with AMS): the automated checks shown to the verifikator."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from engine.handler_api import HandlerContext, Param, form_schema, service_task
from handlers.forms import FormSchema
from handlers.identity import (
    email_on_official_domain,
    names_match_loosely,
    nik_nip_agreement,
    validate_nik,
    validate_nip,
)


@form_schema("issuance_ams.start")
class IssuanceStartSchema(FormSchema):
    """088.9 takes no start data; it issues an owner-held (AMS) certificate, one active per person."""

    issues_certificate_kind = "ams"


Severity = Literal["error", "warning", "info"]
Item = dict[str, Any]

DEFAULT_OFFICIAL_DOMAIN = "pekalongankota.go.id"
ACTIVE = "aktif"


def item(code: str, label: str, ok: bool, severity: Severity, message: str) -> Item:
    """Build one check line; `severity` is how much a failure of this check weighs."""
    return {"code": code, "label": label, "ok": ok, "severity": severity, "message": message}


def summarize(items: list[Item]) -> dict[str, Any]:
    """Return the check lines with their totals, as the verification form shows them."""
    failed = [entry for entry in items if not entry["ok"]]
    return {
        "items": items,
        "all_ok": not failed,
        "errors": sum(1 for entry in failed if entry["severity"] == "error"),
        "warnings": sum(1 for entry in failed if entry["severity"] == "warning"),
    }


def form_param(ctx: HandlerContext, name: str) -> Mapping[str, Any]:
    """The submission the diagram passes as parameter `name` ({} when it passes none)."""
    value = ctx.params.get(name)
    return value if isinstance(value, Mapping) else {}


def submitted_value(ctx: HandlerContext, param_name: str, key: str) -> str:
    """Return what the form passed as parameter `param_name` says, falling back to the applicant record."""
    value = form_param(ctx, param_name).get(key)
    if not value:
        value = ctx.applicant.get(key)
    return str(value).strip() if value else ""


def application_value(ctx: HandlerContext, key: str) -> str:
    """Return what this case's registration form says, falling back to the applicant record."""
    return submitted_value(ctx, "registration", key)


def nik_items(nik: str) -> list[Item]:
    """Check the structure of the NIK."""
    problems = validate_nik(nik)
    message = " ".join(problems) if problems else f"NIK {nik} berstruktur benar."
    return [item("nik_format", "Struktur NIK", not problems, "error", message)]


def nip_items(nik: str, nip: str) -> list[Item]:
    """Check the structure of the NIP, say whether it is PNS or PPPK, and compare it with the NIK."""
    result = validate_nip(nip)
    if not result.ok:
        return [item("nip_format", "Struktur NIP", False, "error", " ".join(result.problems))]
    items = [
        item("nip_format", "Struktur NIP", True, "error", f"NIP {nip} berstruktur benar."),
        item(
            "nip_kind",
            "Jenis kepegawaian",
            True,
            "info",
            " ".join(result.notes) if result.notes else "NIP berpola NIP PNS.",
        ),
    ]
    warnings = nik_nip_agreement(nik, nip)
    items.append(
        item(
            "nik_nip_agreement",
            "Kesesuaian NIK dan NIP",
            not warnings,
            "warning",
            " ".join(warnings) if warnings else "Tanggal lahir dan jenis kelamin pada NIK dan NIP sesuai.",
        )
    )
    return items


def roster_items(ctx: HandlerContext, nip: str, nik: str, full_name: str, agency_code: str) -> list[Item]:
    """Check the applicant against the city's ASN roster: listed, active, same agency, same name and NIK."""
    label = "Terdaftar di data ASN"
    if not validate_nip(nip).ok:
        return [item("roster_member", label, False, "error", "Tidak dapat diperiksa: NIP tidak valid.")]
    row = ctx.lookup_roster(nip)
    if row is None:
        return [item("roster_member", label, False, "error", f"NIP {nip} tidak ditemukan di data ASN kota.")]
    items = [item("roster_member", label, True, "error", f"NIP {nip} terdaftar di data ASN kota.")]
    status = str(row.get("status") or "").strip().lower()
    items.append(
        item(
            "roster_active",
            "Status ASN aktif",
            status == ACTIVE,
            "error",
            "ASN berstatus aktif." if status == ACTIVE else f"Status ASN pada data kepegawaian: {status or '-'}.",
        )
    )
    roster_agency = str(row.get("agency_code") or "").strip()
    same_agency = bool(agency_code) and roster_agency.lower() == agency_code.lower()
    agency_name = row.get("agency_name") or roster_agency or "-"
    items.append(
        item(
            "roster_agency",
            "Perangkat daerah sesuai",
            same_agency,
            "error",
            f"Terdaftar pada {agency_name}."
            if same_agency
            else f"Data ASN mencatat {agency_name}, bukan perangkat daerah pemohon "
            f"({ctx.agency_name(agency_code) or agency_code or '-'}).",
        )
    )
    roster_name = str(row.get("full_name") or "")
    name_ok = names_match_loosely(full_name, roster_name)
    items.append(
        item(
            "roster_name",
            "Nama sesuai data ASN",
            name_ok,
            "warning",
            "Nama sesuai data ASN."
            if name_ok
            else f"Nama pada formulir ({full_name or '-'}) berbeda dengan data ASN ({roster_name or '-'}).",
        )
    )
    roster_nik = "".join(str(row.get("nik") or "").split())
    if roster_nik:
        nik_ok = roster_nik == nik
        items.append(
            item(
                "roster_nik",
                "NIK sesuai data ASN",
                nik_ok,
                "warning",
                "NIK sesuai data ASN." if nik_ok else f"NIK pada data ASN ({roster_nik}) berbeda dengan formulir.",
            )
        )
    return items


def email_items(email: str, domain: str) -> list[Item]:
    """Check the e-mail address is on the city's official domain."""
    ok = email_on_official_domain(email, domain)
    message = (
        f"Alamat {email} berada pada domain resmi {domain}."
        if ok
        else f"Alamat e-mail ({email or '-'}) tidak berada pada domain resmi {domain}."
    )
    return [item("email_domain", "E-mail domain resmi", ok, "error", message)]


# The proof each kind of owner gives, as the checks name it.
OWNER_RULES: dict[str, str] = {
    "asn": "Pemilik ASN: NIP, data ASN kota dan bukti status ASN (SK / kartu pegawai) diperiksa.",
    "wali_kota": "Pemilik Wali Kota (bukan ASN): NIP dan data ASN tidak berlaku; bukti yang berlaku SK pelantikan.",
    "wakil_wali_kota": "Pemilik Wakil Wali Kota (bukan ASN): NIP dan data ASN tidak berlaku; bukti yang berlaku SK pelantikan.",
    "lainnya": "Pemilik pihak lain (bukan ASN): NIP dan data ASN tidak berlaku; bukti yang berlaku surat penugasan.",
}


def owner_rule_items(ctx: HandlerContext) -> list[Item]:
    """Say which rule applies to the owner (ASN or not) and whether the proof that rule asks for was given."""
    category = str(ctx.applicant.get("category") or "asn")
    rule = OWNER_RULES.get(category, OWNER_RULES["lainnya"])
    proof_field = "asn_proof" if category == "asn" else "appointment_proof"
    given = bool(submitted_value(ctx, "registration", proof_field))
    return [
        item("owner_rule", "Aturan yang berlaku", True, "info", rule),
        item(
            "eligibility_proof",
            "Bukti kelayakan pemilik",
            given,
            "error",
            "Dokumen bukti telah diunggah; periksa kesesuaiannya dengan aslinya."
            if given
            else "Dokumen bukti yang berlaku untuk pemilik ini belum diunggah.",
        ),
    ]


CHECK_RESULTS = ("items", "all_ok", "errors", "warnings")
REGISTRATION = Param("dict", doc="The applicant's registration form submission (e.g. registration_form).")


@service_task("issuance_ams.automated_checks", params={"registration": REGISTRATION}, results=CHECK_RESULTS)
def automated_checks(ctx: HandlerContext) -> dict[str, Any]:
    """Check NIK, and for ASN the NIP, its agreement with the NIK and the roster; then the official e-mail domain.

    The identity checked is the person record the RA keeps (the engine fills the form's identity from it).
    """
    nik = "".join(application_value(ctx, "nik").split())
    domain = str(ctx.settings.get("official_email_domain") or DEFAULT_OFFICIAL_DOMAIN)
    items = [*owner_rule_items(ctx), *nik_items(nik)]
    if str(ctx.applicant.get("category") or "asn") == "asn":
        nip = "".join(application_value(ctx, "nip").split())
        items += [
            *nip_items(nik, nip),
            *roster_items(ctx, nip, nik, application_value(ctx, "full_name"), application_value(ctx, "agency_code")),
        ]
    items += email_items(application_value(ctx, "email"), domain)
    return summarize(items)
