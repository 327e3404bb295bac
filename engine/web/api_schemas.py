"""marshmallow schemas of the JSON API's own inputs, and form schemas described as JSON Schema."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from marshmallow.types import ErrorMessages

REQUIRED: ErrorMessages = {"required": "Wajib diisi."}


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


class TokenRequestSchema(Schema):
    """Log in for a bearer token."""

    username = fields.String(required=True, validate=plain_text(80, least=1), error_messages=REQUIRED)
    password = fields.String(required=True, validate=plain_text(200, least=1), error_messages=REQUIRED)


class StartCaseSchema(Schema):
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
    for name, field in schema_class().fields.items():
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
        if isinstance(field, fields.Email):
            prop["format"] = "email"
        properties[name] = prop
        if field.required:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}
