"""marshmallow schemas of the JSON API's own inputs, and form schemas described as JSON Schema."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from marshmallow.types import ErrorMessages

from engine import registry

REQUIRED: ErrorMessages = {"required": "Wajib diisi."}

# marshmallow's own type messages ("Not a valid mapping type.") in Indonesian, by field class (most specific first).
_TYPE_MESSAGES: tuple[tuple[type[fields.Field[Any]], str], ...] = (
    (fields.Dict, "Harus berupa objek JSON (pasangan nama dan nilai)."),
    (fields.List, "Harus berupa daftar."),
    (fields.Boolean, "Harus berupa true atau false."),
    (fields.Integer, "Harus berupa bilangan bulat."),
    (fields.String, "Harus berupa teks."),
)


def plain_text(limit: int, least: int = 0) -> list[validate.Validator]:
    """Validators of an API text field: at most `limit` characters (at least `least`), no control characters."""
    return [
        validate.Length(
            min=least,
            max=limit,
            error=f"Wajib diisi; maksimal {limit} karakter." if least else f"Maksimal {limit} karakter.",
        ),
        validate.Regexp(
            r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",
            error="Berisi karakter kontrol yang tidak diizinkan; ketik ulang isian ini.",
        ),
    ]


class ApiSchema(Schema):
    """Base of the API's own input schemas: every message a caller can get is Indonesian."""

    error_messages = {"type": "Isi permintaan harus berupa objek JSON.", "unknown": "Kolom tidak dikenal."}

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        """Give the field Indonesian messages for wrong types, null and unreadable text."""
        messages = {
            "null": "Tidak boleh kosong.",
            "invalid_utf8": "Teks tidak valid (bukan UTF-8).",
            "too_large": "Angka terlalu besar.",
            "validator_failed": "Nilai tidak valid.",
        }
        invalid = next((text for cls, text in _TYPE_MESSAGES if isinstance(field_obj, cls)), "Jenis data tidak valid.")
        field_obj.error_messages = {**field_obj.error_messages, **messages, "invalid": invalid}


class TokenRequestSchema(ApiSchema):
    """Log in for a bearer token."""

    username = fields.String(required=True, validate=plain_text(80, least=1), error_messages=REQUIRED)
    password = fields.String(required=True, validate=plain_text(200, least=1), error_messages=REQUIRED)


class StartCaseSchema(ApiSchema):
    """Start a case of a deployed process."""

    process_key = fields.String(
        required=True,
        validate=[*plain_text(80), validate.Regexp(r"^[a-z][a-z0-9_]{1,79}$", error="Kunci proses tidak valid.")],
        error_messages=REQUIRED,
    )
    data = fields.Dict(
        keys=fields.String(validate=plain_text(80)),
        load_default=dict,
        metadata={
            "description": "data awal, divalidasi oleh formulir awal yang disebut diagram proses (<sertel:form> pada proses)"
        },
    )
    applicant = fields.String(
        load_default=None,
        validate=plain_text(80),
        metadata={"description": "nama pengguna pemohon (hanya petugas OP)"},
    )
    on_behalf_reason = fields.String(
        load_default="",
        validate=plain_text(1000),
        metadata={"description": "alasan mengajukan atas nama orang lain (wajib bila `applicant` diisi)"},
    )


def _choice(values: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(values, error="Nilai tidak dikenal; pilih salah satu: " + ", ".join(values) + ".")


class TaskFiltersSchema(ApiSchema):
    """The query string of GET /tasks: the inbox page's filters, paging and limit, every value checked."""

    error_messages = {"unknown": "Parameter tidak dikenal."}

    sop = fields.String(
        validate=[*plain_text(80), validate.Regexp(r"^[a-z][a-z0-9_]{1,79}$", error="Kunci proses tidak valid.")],
        metadata={"description": "kunci proses (SOP), mis. issuance_ams"},
    )
    agency = fields.String(validate=plain_text(80), metadata={"description": "kode perangkat daerah pemohon"})
    sla = fields.String(
        validate=_choice(("overdue", "due_soon")),
        metadata={"description": "overdue: lewat tenggat SLA; due_soon: jatuh tempo dalam 24 jam"},
    )
    claim = fields.String(
        validate=_choice(("mine", "unclaimed")),
        metadata={"description": "mine: diklaim saya (tanpa daftar klaim); unclaimed: belum diklaim"},
    )
    q = fields.String(
        validate=plain_text(100),
        metadata={"description": "cari nama, NIK, NIP, nomor kasus atau nomor seri sertifikat"},
    )
    sort = fields.String(
        validate=_choice(("oldest", "newest", "due")),
        metadata={
            "description": "jalur cepat selalu di depan; lalu oldest (bawaan), newest, atau due (tenggat terdekat)"
        },
    )
    limit = fields.Integer(
        validate=validate.Range(min=1, max=200, error="Harus antara 1 dan 200."),
        strict=False,
        metadata={"description": "baris per halaman (bawaan 50, maksimal 200)"},
    )
    mine_after = fields.String(
        validate=plain_text(60), metadata={"description": "kursor `next.mine_after` dari jawaban sebelumnya"}
    )
    claimable_after = fields.String(
        validate=plain_text(60), metadata={"description": "kursor `next.claimable_after` dari jawaban sebelumnya"}
    )


_TYPES: dict[type, str] = {
    fields.Boolean: "boolean",
    fields.Integer: "integer",
    fields.Float: "number",
    fields.Email: "string",
    fields.String: "string",
    fields.Date: "string",
    fields.DateTime: "string",
    fields.List: "array",
    fields.Dict: "object",
    fields.Nested: "object",
}


def describe(schema_class: type[Schema]) -> dict[str, Any]:
    """Describe a form schema as a JSON Schema object (types, required fields, choices, uploads)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in registry.schema_fields(schema_class).items():
        kind = next((t for cls, t in _TYPES.items() if isinstance(field, cls)), "string")
        prop: dict[str, Any] = {"type": kind}
        if field.metadata.get("label"):
            prop["title"] = field.metadata["label"]
        if field.metadata.get("document"):
            prop["x-document"] = True
            prop["description"] = "id dokumen, atau unggah berkas dengan nama kolom ini (multipart)"
        for validator in field.validators:
            if isinstance(validator, validate.OneOf):
                prop["enum"] = list(validator.choices)
            if isinstance(validator, validate.Length):
                if validator.min is not None:
                    prop["minLength"] = validator.min
                if validator.max is not None:
                    prop["maxLength"] = validator.max
            if isinstance(validator, validate.Range):
                if validator.min is not None:
                    prop["minimum"] = validator.min
                if validator.max is not None:
                    prop["maximum"] = validator.max
        if field.metadata.get("description"):
            prop["description"] = field.metadata["description"]
        if isinstance(field, fields.Email):
            prop["format"] = "email"
        properties[name] = prop
        if field.required:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def query_parameters(schema_class: type[Schema]) -> list[dict[str, Any]]:
    """OpenAPI query parameters from a schema of a query string (none required)."""
    described = describe(schema_class)["properties"]
    parameters = []
    for name, prop in described.items():
        schema = {k: v for k, v in prop.items() if k != "description"}
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": prop.get("description", ""),
                "schema": schema,
            }
        )
    return parameters
