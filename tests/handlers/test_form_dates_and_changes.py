"""One date rule in every form (nothing after today, WIB), and a data change must change something."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from marshmallow import ValidationError, fields

from engine import registry
from handlers.forms import PastDate, today_wib

registry.discover()


def date_fields() -> list[tuple[str, str]]:
    """(form, field) for every date field of every catalogue form."""
    return [
        (form.name, name)
        for form in registry.forms()
        for name, field in form.schema().fields.items()
        if isinstance(field, fields.Date)
    ]


def test_every_date_field_follows_the_one_rule() -> None:
    found = date_fields()
    assert ("revocation_statement", "incident_date") in found
    assert ("passphrase_statement", "statement_date") in found
    for form, name in found:
        schema = registry.form_for(form)
        assert schema is not None
        assert isinstance(schema().fields[name], PastDate), (form, name)


@pytest.mark.parametrize(("form", "name"), date_fields())
def test_a_date_after_today_is_refused_with_the_same_message(form: str, name: str) -> None:
    schema = registry.form_for(form)
    assert schema is not None
    tomorrow = (today_wib() + timedelta(days=1)).isoformat()
    with pytest.raises(ValidationError) as refused:
        schema().load({name: tomorrow}, partial=True)
    assert refused.value.messages[name] == [  # type: ignore[index]
        f"Tanggal tidak boleh melewati hari ini ({today_wib().strftime('%d-%m-%Y')})."
    ]
    for bad in ("2026-02-30", "03-12-2026", "2026-12-03T00:00:00", "1999-12-31"):
        with pytest.raises(ValidationError):
            schema().load({name: bad}, partial=True)
    assert schema().load({name: today_wib().isoformat()}, partial=True)[name] == today_wib()


CURRENT = {"applicant": {"full_name": "Budi Santoso", "position": "Pranata Komputer Ahli Pertama",
                         "agency_code": "diskominfo", "email": "pemohon@pekalongankota.go.id"}}


def change(**overrides: Any) -> dict[str, Any]:
    data = {"certificate_serial": "ab12", "change_position": True, "full_name": "Budi Santoso",
            "position": "Analis Keuangan Ahli Muda", "agency_code": "diskominfo",
            "email": "pemohon@pekalongankota.go.id", "reason": "Mutasi jabatan.", "change_proof": 3,
            "statement_true": True}
    return {**data, **overrides}


def load_change(data: dict[str, Any]) -> dict[str, Any]:
    schema_class = registry.form_for("data_change")
    assert schema_class is not None
    schema = schema_class()
    schema.inputs = {"data_before": CURRENT["applicant"]}  # type: ignore[attr-defined]  # as the engine gives the form's inputs
    return schema.load(data)  # type: ignore[no-any-return]


def test_a_change_to_the_same_value_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationError) as refused:
        load_change(change(position=" pranata komputer  ahli pertama "))
    assert refused.value.messages == {  # type: ignore[comparison-overlap]
        "position": [
            "Jabatan baru sama dengan data saat ini (Pranata Komputer Ahli Pertama); isi data yang baru atau hapus "
            "centang 'Jabatan berubah'."
        ]
    }
    # An unticked field may keep its value; a real change passes.
    assert load_change(change())["position"] == "Analis Keuangan Ahli Muda"
