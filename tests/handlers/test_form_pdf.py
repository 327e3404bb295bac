"""The four official forms as PDFs: rendering (letterhead, title, data, date) and the common.form_pdf operator."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from engine.handler_api import FormRefused, HandlerContext, HandlerError
from handlers.form_documents import form_pdf
from handlers.form_pdf import FORM_TITLES, latin1, place_date_line, render_form_pdf
from pki.errors import KeyLocked, KeySuspended, NoServerKey, WrongPassphrase

LETTERHEAD = ("PEMERINTAH KOTA PEKALONGAN", "DINAS KOMUNIKASI DAN INFORMATIKA", "Jl. Mataram No. 1 Pekalongan")
APPLICANT = {
    "username": "pemohon",
    "full_name": "Budi Santoso",
    "nik": "3375011507900001",
    "nip": "199007152015031001",
    "position": "Pranata Komputer Ahli Pertama",
    "agency_code": "diskominfo",
    "agency_name": "Dinas Komunikasi dan Informatika",
    "email": "pemohon@pekalongankota.go.id",
}
REGISTRATION = {
    "full_name": "Budi Santoso",
    "nik": "3375011507900001",
    "nip": "199007152015031001",
    "position": "Pranata Komputer Ahli Pertama",
    "agency_code": "diskominfo",
    "email": "pemohon@pekalongankota.go.id",
    "phone": "0812-3456-7890",
    "ktp_scan": 1,
    "asn_proof": 2,
    "statement_true": True,
}
RECOMMENDATION = {
    "decision": "approve",
    "head_name": "Dr. Agus Prasetyo, M.Kom.",
    "head_nip": "197501102000031003",
    "head_position": "Kepala Dinas Komunikasi dan Informatika",
    "notes": "",
}
REVOCATION = {
    "certificate_serial": "5a3f09c1d2",
    "reason": "keyCompromise",
    "incident_date": "2026-11-20",
    "chronology": "Laptop kantor hilang di kereta.",
    "statement_true": True,
}
FORGOTTEN = {
    "certificate_serial": "7b21aa04",
    "statement_date": "2026-11-27",
    "reason": "Lima kali salah passphrase.",
    "ktp_scan": 3,
    "statement_forgotten": True,
    "statement_true": True,
}


def text_of(pdf: bytes) -> str:
    """The PDF's text as poppler's pdftotext lays it out."""
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


class FakePsre:
    """A PSrE whose sign_pdf raises a given error, or appends a marker to the PDF."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[tuple[str, str]] = []

    def sign_pdf(
        self, who: str, passphrase: str, pdf: bytes, reason: str, location: str, visible: bool = True
    ) -> bytes:
        self.calls.append((who, reason))
        if self.error is not None:
            raise self.error
        return pdf + b"%signed-by-owner\n"


def context(
    data: dict[str, Any],
    form: str,
    source: str,
    *,
    secrets: dict[str, str] | None = None,
    psre: Any = None,
    actor: dict[str, Any] | None = None,
    process_key: str = "issuance_ams",
) -> tuple[HandlerContext, dict[str, Any]]:
    """A handler context whose seal and document store record what they get."""
    kept: dict[str, Any] = {"stored": [], "sealed": []}

    def seal(pdf: bytes, reason: str) -> bytes:
        kept["sealed"].append(reason)
        return pdf + b"%sealed\n"

    def store(filename: str, media_type: str, content: bytes, kind: str) -> int:
        kept["stored"].append((filename, media_type, content, kind))
        return 41

    ctx = HandlerContext(
        case_id=7,
        task_name=f"{source}_pdf",
        idempotency_key="case-7/x/1",
        # As the diagrams pass them: the form, the submission and (088.9/088.14) the registration form.
        params={
            "form": form,
            "submission": data.get(source),
            **({"registration": data["registration_form"]} if "registration_form" in data else {}),
        },
        process_key=process_key,
        psre=psre,
        applicant=dict(APPLICANT),
        seal_pdf=seal,
        store_document=store,
        documents=lambda: [
            {"id": 1, "filename": "ktp.png"},
            {"id": 2, "filename": "sk-cpns.pdf"},
            {"id": 3, "filename": "ktp-baru.png"},
        ],
        actor=actor
        or {"username": "pemohon", "full_name": "Budi Santoso", "nik": "3375011507900001", "roles": ["Pemohon"]},
        secrets=secrets or {},
    )
    return ctx, kept


def rendered(kept: dict[str, Any]) -> str:
    ((_name, _type, content, _kind),) = kept["stored"]
    return text_of(content)


def form_pdf_text(data: dict[str, Any], form: str, source: str, **options: Any) -> tuple[str, dict[str, Any]]:
    """Run the form_pdf operator on `data`; return the kept PDF's text and what the seal and store got."""
    ctx, kept = context(data, form, source, **options)
    form_pdf(ctx)
    return rendered(kept), kept


def assert_common(text: str, form: str) -> None:
    for line in LETTERHEAD:
        assert line in text
    assert FORM_TITLES[form] in text
    assert place_date_line() in text  # "Pekalongan, 28 November 2026"
    assert "Nomor kasus: 7" in text


def test_registration_form_pdf_shows_the_letterhead_title_values_and_date() -> None:
    ctx, kept = context({"registration_form": REGISTRATION}, "registration", "registration_form")
    result = form_pdf(ctx)
    assert result["document_id"] == 41 and result["signed_by"] == "ra_seal" and result["form"] == "registration"
    filename, media_type, content, kind = kept["stored"][0]
    assert (filename, media_type, kind) == ("registration-kasus-7.pdf", "application/pdf", "form")
    assert content.startswith(b"%PDF-") and content.endswith(b"%sealed\n")
    assert kept["sealed"] == ["Disegel Otoritas Pendaftaran atas formulir yang dikirim oleh Budi Santoso"]
    text = rendered(kept)
    assert_common(text, "registration")
    for value in (
        "Budi Santoso",
        "3375011507900001",
        "199007152015031001",
        "Pranata Komputer Ahli Pertama",
        "Dinas Komunikasi dan Informatika",
        "pemohon@pekalongankota.go.id",
        "0812-3456-7890",
        "ktp.png",
        "SOP 088.9",
    ):
        assert value in text, value


def test_recommendation_pdf_names_the_employee_and_the_head() -> None:
    data = {"registration_form": REGISTRATION, "recommendation": RECOMMENDATION}
    text, _kept = form_pdf_text(data, "recommendation", "recommendation")
    assert_common(text, "recommendation")
    for value in (
        "Budi Santoso",
        "3375 ---- ---- 0001",  # the employee's NIK and NIP masked before signing (need_to_know.PDFS)
        "1990 ---- ---- -- 1001",
        "Dr. Agus Prasetyo, M.Kom.",
        "197501102000031003",
        "Merekomendasikan",
        "dengan ini merekomendasikan",
    ):
        assert value in text, value
    assert "3375011507900001" not in text and "199007152015031001" not in text


def test_revocation_statement_pdf_shows_the_certificate_reason_and_incident_date() -> None:
    text, _kept = form_pdf_text(
        {"statement": REVOCATION}, "revocation_statement", "statement", process_key="revocation"
    )
    assert_common(text, "revocation_statement")
    for value in (
        "Budi Santoso",
        "3375011507900001",
        "5a3f09c1d2",
        "Kunci privat bocor / dicurigai bocor",
        "20 November 2026",
        "Laptop kantor hilang di kereta.",
        "Pemilik Sertifikat",
        "SOP 088.11",
    ):
        assert value in text, value


def test_revocation_statement_filed_by_ra_staff_names_the_requester_and_the_officer() -> None:
    form = {
        **REVOCATION,
        "reason": "cessationOfOperation",
        "requested_by": "agency_head",
        "requester_name": "Dr. Agus Prasetyo, M.Kom.",
        "requester_nip": "197501102000031003",
        "request_letter": None,
    }
    actor = {"username": "verifikator", "full_name": "Sri Lestari", "nik": "", "roles": ["Verifikator"]}
    text, kept = form_pdf_text(
        {"ra_statement": form}, "revocation_statement", "ra_statement", actor=actor, process_key="revocation"
    )
    for value in (
        "Kepala Perangkat Daerah (Atasan)",
        "Dr. Agus Prasetyo, M.Kom.",
        "Sri Lestari",
        "Petugas Otoritas Pendaftaran",
    ):
        assert value in text, value
    assert kept["sealed"] == ["Disegel Otoritas Pendaftaran atas formulir yang dikirim oleh Sri Lestari"]


def test_forgotten_passphrase_statement_pdf() -> None:
    text, _kept = form_pdf_text(
        {"statement_form": FORGOTTEN}, "forgotten_passphrase", "statement_form", process_key="passphrase_lock"
    )
    assert_common(text, "forgotten_passphrase")
    for value in (
        "Budi Santoso",
        "3375011507900001",
        "7b21aa04",
        "27 November 2026",
        "Lima kali salah passphrase.",
        "ktp-baru.png",
        "menyatakan lupa",
        "SOP 088.13",
    ):
        assert value in text, value


def test_a_name_outside_latin1_renders_transliterated() -> None:
    name = "Zoë Łukasiewicz Nguyễn Thị 王"
    pdf = render_form_pdf(
        "registration",
        [("Nama lengkap", name), ("Catatan", "“kutip” — selesai…")],
        statement="Pernyataan.",
        signer_name=name,
        signer_role="Pemohon",
        case_id=3,
    )
    text = text_of(pdf)
    assert "Zoë Lukasiewicz Nguyen Thi ?" in text
    assert '"kutip" - selesai...' in text
    assert latin1("Ḿ\x00\tok") == "M  ok"


def test_owner_passphrase_signs_with_the_owners_esign_key() -> None:
    psre = FakePsre()
    data = {"registration_form": REGISTRATION, "recommendation": RECOMMENDATION}
    head = {
        "username": "atasan",
        "full_name": "Dr. Agus Prasetyo, M.Kom.",
        "nik": "3375011001750003",
        "roles": ["Atasan"],
    }
    ctx, kept = context(
        data, "recommendation", "recommendation", secrets={"signing_passphrase": "rahasia2026"}, psre=psre, actor=head
    )
    assert form_pdf(ctx)["signed_by"] == "owner"
    assert psre.calls[0][0] == "3375011001750003"
    assert kept["sealed"] == [] and kept["stored"][0][2].endswith(b"%signed-by-owner\n")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (WrongPassphrase(3), "Sisa percobaan sebelum kunci terkunci (LOCK): 3"),
        (KeyLocked(), "088.13"),
        (KeySuspended(), "ditangguhkan karena ada laporan kunci privat bocor"),
        (NoServerKey("none"), "belum memiliki sertifikat eSign"),
    ],
)
def test_a_refused_passphrase_refuses_the_form_and_keeps_nothing(error: Exception, message: str) -> None:
    ctx, kept = context(
        {"registration_form": REGISTRATION},
        "registration",
        "registration_form",
        secrets={"signing_passphrase": "salah"},
        psre=FakePsre(error),
    )
    with pytest.raises(FormRefused) as refused:
        form_pdf(ctx)
    assert message in refused.value.fields["signing_passphrase"][0]
    assert kept["stored"] == [] and kept["sealed"] == []


def test_unknown_form_or_missing_submission_is_a_handler_error() -> None:
    ctx, _kept = context({}, "registration", "registration_form")
    with pytest.raises(HandlerError, match="tidak ditemukan"):
        form_pdf(ctx)
    ctx, _kept = context({"registration_form": REGISTRATION}, "surat_cinta", "registration_form")
    with pytest.raises(HandlerError, match="tidak dikenal"):
        form_pdf(ctx)


def test_without_an_ra_seal_the_pdf_is_kept_unsigned_and_marked() -> None:
    ctx, kept = context({"registration_form": REGISTRATION}, "registration", "registration_form")

    def no_seal(_pdf: bytes, _reason: str) -> bytes:
        raise HandlerError("Segel Otoritas Pendaftaran tidak tersedia pada PSrE ini.")

    ctx.seal_pdf = no_seal
    assert form_pdf(ctx)["signed_by"] == "unsigned"
    assert kept["stored"][0][2].startswith(b"%PDF-")
