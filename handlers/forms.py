"""Form rules (marshmallow schemas) of the issuance forms and the shared steps, with Indonesian messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from engine.handler_api import form_schema, owner_terms
from handlers.identity import normalize_number, validate_nik, validate_nip
from pki.errors import WeakPassphrase
from pki.keystore import check_passphrase as psre_passphrase_rules

REQUIRED = "Wajib diisi."
CSR_MAX_BYTES = 20 * 1024
CSR_BEGIN = "-----BEGIN CERTIFICATE REQUEST-----"
CSR_END = "-----END CERTIFICATE REQUEST-----"
MIN_RSA_BITS = 2048
PHONE_DIGITS = (8, 15)
PASSPHRASE_RULES = "Passphrase minimal 8 karakter dan harus memuat huruf dan angka."
PASSPHRASE_MISMATCH = "Konfirmasi passphrase tidak sama dengan passphrase."
SIGNING_PASSPHRASE_LABEL = "Passphrase eSign (opsional, bila Anda sudah memiliki sertifikat eSign)"


# The longest text any form field takes unless it says otherwise (a long note or chronology fits; a PDF wraps it).
TEXT_MAX = 4000
SECRET_MAX = 200
# Control characters are refused in every text; tab, newline and carriage return are ordinary text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "Berisi karakter kontrol yang tidak diizinkan; ketik ulang isian ini."


def too_long(limit: int) -> str:
    """The message for a text over its limit."""
    return f"Maksimal {limit} karakter."


def check_plain_text(value: str, limit: int) -> None:
    """Refuse text over `limit` characters or holding a control character (NUL included)."""
    if len(value) > limit:
        raise ValidationError(too_long(limit))
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError(CONTROL_MESSAGE)


class Text(fields.String):
    """A string field that trims whitespace, treats an empty required value as missing, and has a length limit.

    Every text field has a limit (`max_length`, default TEXT_MAX characters, kept in the field's metadata for the
    templates and the API description) and refuses control characters with an Indonesian message.
    """

    default_error_messages = {
        "required": REQUIRED,
        "null": REQUIRED,
        "validator_failed": "Nilai tidak valid.",
        "invalid": "Harus berupa teks.",
        "invalid_utf8": "Teks tidak valid (bukan UTF-8).",
    }

    def __init__(self, *, max_length: int = TEXT_MAX, **kwargs: Any) -> None:
        kwargs["metadata"] = {**kwargs.get("metadata", {}), "max_length": max_length}
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        check_plain_text(text, self.max_length)
        if self.required and not text:
            raise self.make_error("required")
        return text


class IdentityNumber(Text):
    """A NIK or NIP: whitespace between digit groups removed before it is checked and stored."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normalize_number(super()._deserialize(value, attr, data, **kwargs))


class DocumentId(fields.Integer):
    """The id of an uploaded document, as the upload widget puts it in the form.

    `label` says what the document is (KTP, SK, selfie…): the stored document is shown under it on the case page.
    """

    default_error_messages = {
        "required": "Dokumen wajib diunggah.",
        "null": "Dokumen wajib diunggah.",
        "invalid": "Dokumen tidak valid.",
        "too_large": "Dokumen tidak valid.",
        "validator_failed": "Dokumen tidak valid.",
    }

    def __init__(self, label: str = "", identity: bool = False, **kwargs: Any) -> None:
        # metadata document=True tells the engine this field takes an upload stored as a Document; identity=True
        # marks an identity document (KTP, selfie): only its owner and RA staff may open it (docs/privacy.md).
        metadata = kwargs.get("metadata", {})
        kwargs["metadata"] = {
            **metadata,
            "document": True,
            "identity": identity,
            "label": label or metadata.get("label", "Dokumen"),
        }
        super().__init__(validate=validate.Range(min=1, error="Dokumen tidak valid."), **kwargs)


WIB = ZoneInfo("Asia/Jakarta")
FUTURE_DATE = "Tanggal tidak boleh melewati hari ini ({today})."
EARLIEST_DATE = date(2000, 1, 1)


def today_wib() -> date:
    """Today's date in Kota Pekalongan (WIB), whatever the server's time zone."""
    return datetime.now(WIB).date()


def not_in_future(value: date) -> None:
    """Refuse a date after today (WIB) or before 2000, with the same message in every form."""
    today = today_wib()
    if value > today:
        raise ValidationError(FUTURE_DATE.format(today=today.strftime("%d-%m-%Y")))
    if value < EARLIEST_DATE:
        raise ValidationError(f"Tanggal tidak boleh sebelum {EARLIEST_DATE.strftime('%d-%m-%Y')}.")


class PastDate(fields.Date):
    """A date of something that happened (an incident, a statement): YYYY-MM-DD as a browser's date input sends
    it, today (WIB) at the latest. Every form uses this one rule; its metadata `past_only` gives the input a `max`."""

    default_error_messages = {
        "required": REQUIRED,
        "null": REQUIRED,
        "invalid": "Tanggal tidak valid (format TTTT-BB-HH).",
        "format": "Tanggal tidak valid (format TTTT-BB-HH).",
        "validator_failed": "Tanggal tidak valid.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {**kwargs.get("metadata", {}), "past_only": True}
        super().__init__(format="%Y-%m-%d", validate=not_in_future, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if isinstance(value, str):
            value = value.strip()
            if len(value) > 10:
                raise self.make_error("invalid")
        result: date = super()._deserialize(value, attr, data, **kwargs)
        return result


class Checkbox(fields.Boolean):
    """A checkbox: absent means unticked (browsers send nothing for an unticked box)."""

    default_error_messages = {
        "required": REQUIRED,
        "null": REQUIRED,
        "invalid": "Harus berupa ya atau tidak.",
        "validator_failed": "Nilai tidak valid.",
    }

    def __init__(self, must_be_true: str | None = None, **kwargs: Any) -> None:
        if must_be_true is None:
            super().__init__(load_default=False, **kwargs)
            return
        # Defaults are not validated by marshmallow, so a box that must be ticked is required instead.
        super().__init__(
            required=True,
            validate=validate.Equal(True, error=must_be_true),
            error_messages={"required": must_be_true, "null": must_be_true},
            **kwargs,
        )


class Passphrase(fields.String):
    """A passphrase typed twice in a form: never trimmed, never stored (metadata secret=True)."""

    default_error_messages = {
        "required": REQUIRED,
        "null": REQUIRED,
        "invalid": "Harus berupa teks.",
        "invalid_utf8": "Teks tidak valid (bukan UTF-8).",
        "validator_failed": PASSPHRASE_RULES,
    }

    def __init__(self, **kwargs: Any) -> None:
        # secret=True: the engine removes the value from the stored submission and the audit log and
        # hands it to the next service task only, as ctx.secrets[<field name>].
        kwargs["metadata"] = {**kwargs.get("metadata", {}), "secret": True, "max_length": SECRET_MAX}
        super().__init__(required=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        check_plain_text(text, SECRET_MAX)
        return text


class SigningPassphrase(fields.String):
    """The submitter's optional eSign passphrase to sign the form's PDF (secret: never stored or logged).

    Empty means "seal with the RA seal instead" (see handlers/form_documents.py, operator common.form_pdf).
    """

    default_error_messages = {"invalid": "Harus berupa teks.", "invalid_utf8": "Teks tidak valid (bukan UTF-8)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {
            "label": SIGNING_PASSPHRASE_LABEL,
            **kwargs.get("metadata", {}),
            "secret": True,
            "max_length": SECRET_MAX,
        }
        super().__init__(allow_none=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if value is None:
            return ""
        text = super()._deserialize(value, attr, data, **kwargs)
        check_plain_text(text, SECRET_MAX)
        return text


def check_passphrase(value: str) -> None:
    """Apply the PSrE's own passphrase rules (at least 8 characters with letters and digits)."""
    if not value:
        raise ValidationError(REQUIRED)
    try:
        psre_passphrase_rules(value)
    except WeakPassphrase:
        raise ValidationError(PASSPHRASE_RULES) from None


def check_nik(value: str) -> None:
    """Block a NIK with a structural problem."""
    problems = validate_nik(value)
    if problems:
        raise ValidationError(problems)


def check_nip(value: str) -> None:
    """Block a NIP that fits neither the PNS nor the PPPK structure (handlers.identity)."""
    problems = validate_nip(value).problems
    if problems:
        raise ValidationError(problems)


def check_phone(value: str) -> None:
    """Accept an Indonesian phone number written with digits, spaces, dashes and a leading +."""
    digits = "".join(ch for ch in value if ch.isdigit())
    allowed = set("0123456789+-() ")
    low, high = PHONE_DIGITS
    if not set(value) <= allowed or not low <= len(digits) <= high:
        raise ValidationError(f"Nomor telepon harus berisi {low}–{high} angka, contoh 0812-3456-7890.")


def check_csr(value: str) -> None:
    """Accept one PEM certificate request, at most 20 KB, whose signature verifies and key is strong."""
    if len(value.encode("utf-8")) > CSR_MAX_BYTES:
        raise ValidationError("CSR terlalu besar (maksimal 20 KB).")
    if not (value.startswith(CSR_BEGIN) and value.endswith(CSR_END)) or value.count(CSR_BEGIN) != 1:
        raise ValidationError("CSR harus berformat PEM 'CERTIFICATE REQUEST' (PKCS#10).")
    try:
        csr = x509.load_pem_x509_csr(value.encode("ascii"))
        signature_ok = csr.is_signature_valid
        key = csr.public_key()
    except (ValueError, UnicodeEncodeError):
        raise ValidationError("CSR tidak dapat dibaca; buat ulang CSR.") from None
    if not signature_ok:
        raise ValidationError("Tanda tangan CSR tidak valid; buat ulang CSR.")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ValidationError(f"Kunci RSA pada CSR terlalu pendek (minimal {MIN_RSA_BITS} bit).")


def one_of(choices: list[str], labels: str) -> Callable[[Any], Any]:
    """Return a validator accepting only `choices`, with an Indonesian message."""
    return validate.OneOf(choices, error=f"Pilih salah satu: {labels}.")


class FormSchema(Schema):
    """Base of every form: unknown inputs (CSRF token, buttons) are dropped, messages are Indonesian."""

    error_messages = {"type": "Data formulir tidak valid.", "unknown": "Kolom tidak dikenal."}

    class Meta:
        unknown = EXCLUDE


class CertificateStartSchema(FormSchema):
    """Start data of a request about one certificate: optionally its serial (the engine checks it is the applicant's)."""

    certificate_serial = Text(load_default="")


def check_nip_if_given(value: str) -> None:
    """Check a NIP only when there is one: owners who are not ASN (Wali Kota, pihak lain) have none."""
    if value:
        check_nip(value)


def bound(source: str, **extra: Any) -> dict[str, Any]:
    """Field metadata binding a form field to a person record: 'applicant.<attr>' or 'actor.<attr>'.

    The engine fills such a field from the record and refuses any other value, so identity is never typed
    (engine/services/people.py). `editable_if_empty=True` lets the person declare it where the record lacks it.
    """
    return {"bound": source, **extra}


class PersonFieldsSchema(FormSchema):
    """The owner's identity as the RA's person record holds it, plus what the owner declares (phone)."""

    full_name = Text(
        required=True,
        validate=validate.Length(max=200, error="Maksimal 200 karakter."),
        metadata=bound("applicant.full_name"),
    )
    nik = IdentityNumber(required=True, validate=check_nik, metadata=bound("applicant.nik"))
    nip = IdentityNumber(load_default="", validate=check_nip_if_given, metadata=bound("applicant.nip"))
    owner_category = Text(load_default="asn", metadata=bound("applicant.category"))
    position = Text(
        required=True,
        validate=validate.Length(max=200, error="Maksimal 200 karakter."),
        metadata=bound("applicant.position", editable_if_empty=True),
    )
    agency_code = Text(
        required=True,
        validate=validate.Length(max=50, error="Kode perangkat daerah tidak valid."),
        metadata=bound("applicant.agency_code"),
    )
    email = Text(
        required=True, validate=validate.Email(error="Alamat e-mail tidak valid."), metadata=bound("applicant.email")
    )
    phone = Text(required=True, validate=check_phone)

    @validates_schema(skip_on_field_errors=False)
    def nip_for_asn(self, data: dict[str, Any], **kwargs: Any) -> None:
        """An ASN owner has a NIP on their record; others have none."""
        # A NIP that failed its own check is absent from `data` and already has its message.
        if data.get("owner_category", "asn") == "asn" and "nip" in data and not data["nip"]:
            raise ValidationError(
                "NIP wajib untuk ASN; NIP Anda belum tercatat pada data identitas akun, hubungi Admin.",
                field_name="nip",
            )


# The proof of eligibility an owner uploads: ASN prove their status, others their appointment or assignment.
ASN_PROOF_MISSING = "Unggah bukti status ASN (SK / kartu pegawai)."
APPOINTMENT_PROOF_MISSING = (
    "Unggah dokumen penunjukan (SK pelantikan untuk Wali Kota/Wakil Wali Kota, surat penugasan untuk pihak lain)."
)


@form_schema("registration")
class RegistrationSchema(PersonFieldsSchema):
    """Formulir Pendaftaran Sertifikat Elektronik untuk Individu."""

    ktp_scan = DocumentId(label="Pindaian KTP", identity=True, required=True)
    asn_proof = DocumentId(label="Bukti status ASN (SK / kartu pegawai)", load_default=None, allow_none=True)
    appointment_proof = DocumentId(label="Dokumen penunjukan / penugasan", load_default=None, allow_none=True)
    statement_true = Checkbox(
        must_be_true="Anda harus menyatakan bahwa data yang diberikan benar.",
        metadata={"label": "Saya menyatakan data yang saya berikan benar"},
    )
    signing_passphrase = SigningPassphrase()

    @validates_schema(skip_on_field_errors=False)
    def eligibility_proof(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Require the proof that fits the owner: ASN status for ASN, the appointment for everyone else."""
        # An id that failed its own check is absent from `data` and already has its message.
        needed = "asn_proof" if data.get("owner_category", "asn") == "asn" else "appointment_proof"
        if needed in data and not data[needed]:
            message = ASN_PROOF_MISSING if needed == "asn_proof" else APPOINTMENT_PROOF_MISSING
            raise ValidationError(message, field_name=needed)


@form_schema("recommendation")
class RecommendationSchema(FormSchema):
    """Formulir Rekomendasi Permohonan Penerbitan Sertifikat Elektronik untuk Individu."""

    decision = Text(required=True, validate=one_of(["approve", "decline"], "setujui atau tolak"))
    # The recommending head is the logged-in account: name, NIP and position come from its person record.
    head_name = Text(required=True, metadata=bound("actor.full_name"))
    head_nip = IdentityNumber(required=True, validate=check_nip, metadata=bound("actor.nip"))
    head_position = Text(required=True, metadata=bound("actor.position"))
    notes = Text(load_default="")
    signing_passphrase = SigningPassphrase()

    @validates_schema
    def notes_when_declining(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Require the reason when the head declines."""
        if data.get("decision") == "decline" and not data.get("notes"):
            raise ValidationError("Alasan penolakan wajib diisi.", field_name="notes")


@form_schema("verification")
class VerificationSchema(FormSchema):
    """The verifikator's decision on identity, ASN status and recommendation."""

    decision = Text(
        required=True,
        validate=one_of(["approve", "return", "reject"], "setujui, kembalikan untuk perbaikan, atau tolak"),
    )
    reasons = Text(load_default="")
    checked_identity = Checkbox(metadata={"label": "Identitas (NIK, KTP) telah diperiksa"})
    checked_asn = Checkbox(metadata={"label": "Status ASN dan perangkat daerah telah diperiksa"})
    checked_recommendation = Checkbox(metadata={"label": "Rekomendasi atasan telah diperiksa"})
    # The verifikator's own eSign passphrase: signs the decision letter (handlers/letters.py); empty: RA seal.
    signing_passphrase = SigningPassphrase()

    @validates_schema
    def decision_is_justified(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Require reasons to return or reject, and every check ticked to approve.

        The recommendation check is required only when the case has a recommendation (088.9, 088.14):
        the engine gives the schema the form's evaluated `<sertel:input>` values as `inputs`.
        """
        decision = data.get("decision")
        errors: dict[str, list[str]] = {}
        if decision in ("return", "reject") and not data.get("reasons"):
            errors["reasons"] = ["Alasan wajib diisi bila permohonan dikembalikan atau ditolak."]
        required = ["checked_identity", "checked_asn"]
        inputs = getattr(self, "inputs", None)
        if inputs is None or inputs.get("recommendation"):
            required.append("checked_recommendation")
        if decision == "approve":
            for name in required:
                if not data.get(name):
                    errors[name] = ["Wajib dicentang sebelum permohonan disetujui."]
        if errors:
            raise ValidationError(errors)


OBLIGATIONS_REQUIRED = "Anda harus menyetujui kewajiban pemilik sertifikat."


class AcceptsOwnerTerms(FormSchema):
    """A form where the owner accepts the obligations and prohibitions (webforms/_obligations.html).

    The submission records which text was accepted (`accepted_terms_version`, `accepted_terms_sha256`:
    engine/terms.py), not only the ticked box; `terms_kind` says which wording the form shows.
    """

    terms_kind = "ams"
    accept_obligations = Checkbox(must_be_true=OBLIGATIONS_REQUIRED)

    @post_load
    def record_accepted_terms(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Name the version of the text the person accepted next to their tick."""
        if data.get("accept_obligations") is True:
            data.update(owner_terms(self.terms_kind).record())
        return data


@form_schema("activation")
class ActivationSchema(AcceptsOwnerTerms):
    """Activation: the owner accepts the obligations and sends the CSR of a key pair made on their device."""

    csr_pem = Text(required=True, max_length=2 * CSR_MAX_BYTES, validate=check_csr)  # check_csr counts bytes


@form_schema("delivery")
class DeliverySchema(FormSchema):
    """Delivery: the owner downloads the certificate and confirms receipt."""

    received = Checkbox(must_be_true="Anda harus mengonfirmasi bahwa sertifikat telah diterima.")


class NewPassphraseSchema(FormSchema):
    """A new passphrase and its confirmation, checked by the PSrE's rules; reused by every form that sets one."""

    passphrase = Passphrase(validate=check_passphrase)
    passphrase_confirmation = Passphrase()

    @validates_schema
    def passphrases_match(self, data: dict[str, Any], **kwargs: Any) -> None:
        """Refuse a confirmation that differs from the passphrase."""
        if "passphrase" in data and data.get("passphrase_confirmation") != data["passphrase"]:
            raise ValidationError(PASSPHRASE_MISMATCH, field_name="passphrase_confirmation")


@form_schema("esign_activation")
class EsignActivationSchema(NewPassphraseSchema, AcceptsOwnerTerms):
    """eSign activation: KTP photo and selfie for the PSrE's identity check, obligations, passphrase."""

    terms_kind = "esign"
    ktp_photo = DocumentId(label="Foto KTP", identity=True, required=True)
    selfie = DocumentId(label="Swafoto (selfie)", identity=True, required=True)
