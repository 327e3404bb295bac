"""Every text field of every catalogue form and API schema has a length limit and refuses control characters."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields

from engine import registry
from engine.web.api_schemas import StartCaseSchema, TokenRequestSchema

registry.discover()

# Far over any limit a field may have (the CSR, at 20 KB, is the longest).
OVERLONG = "x" * 100_001


def text_fields() -> list[tuple[str, type[Schema], str]]:
    """(form name, schema, field name) for every string field of every catalogue form and API schema."""
    schemas: list[tuple[str, type[Schema]]] = [(form.name, form.schema) for form in registry.forms()]
    schemas += [("api.token", TokenRequestSchema), ("api.start_case", StartCaseSchema)]
    found = [
        (name, schema, field_name)
        for name, schema in schemas
        for field_name, field in schema().fields.items()
        if isinstance(field, fields.String)
    ]
    assert len(found) > 40, "the walk found the forms' text fields"
    return found


def errors_of(schema: type[Schema], field_name: str, value: Any) -> list[str]:
    """The messages a schema gives `field_name` when it holds `value` (the other fields may be missing)."""
    try:
        schema().load({field_name: value}, partial=True)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        found = messages.get(field_name, [])
        return [str(m) for m in (found if isinstance(found, list) else [found])]
    return []


def test_the_walk_covers_every_catalogue_form() -> None:
    walked = {name for name, _schema, _field in text_fields()}
    assert {form.name for form in registry.forms()} - walked <= {
        form.name for form in registry.forms() if not any(isinstance(f, fields.String) for f in form.schema().fields.values())
    }


@pytest.mark.parametrize(("form", "schema", "field_name"), text_fields(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_text_field_has_a_limit(form: str, schema: type[Schema], field_name: str) -> None:
    messages = errors_of(schema, field_name, OVERLONG)
    assert messages, f"{form}.{field_name} accepts 100,001 characters"
    assert any("maksimal" in m.lower() for m in messages), (form, field_name, messages)


@pytest.mark.parametrize(("form", "schema", "field_name"), text_fields(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_text_field_refuses_control_characters(form: str, schema: type[Schema], field_name: str) -> None:
    messages = errors_of(schema, field_name, "abc\x00def")
    assert messages, f"{form}.{field_name} accepts a NUL byte"
    messages = errors_of(schema, field_name, "abc\x1bdef")
    assert messages, f"{form}.{field_name} accepts an escape character"


def test_form_text_fields_say_their_limit_in_indonesian() -> None:
    schema = registry.form_for("recommendation")
    assert schema is not None
    assert errors_of(schema, "notes", "x" * 4001) == ["Maksimal 4000 karakter."]
    assert errors_of(schema, "notes", "baris satu\x00") == [
        "Berisi karakter kontrol yang tidak diizinkan; ketik ulang isian ini."
    ]
    # Line breaks and tabs are ordinary text.
    assert errors_of(schema, "notes", "baris satu\r\nbaris dua\tselesai") == []
