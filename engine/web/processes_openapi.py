"""The OpenAPI paths of the process-owner API (/api/v1/processes, issue 9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

XML_BODY = {
    "application/json": {"schema": {"type": "object", "required": ["xml"], "properties": {"xml": {"type": "string"}}}}
}
PROBLEMS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"element_id": {"type": "string"}, "message": {"type": "string"}},
    },
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def process_owner_paths(_op: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The process-owner API (issue 9): drafts, checks, publishing, rollback and migration of cases.

    `_op` builds one operation as openapi.py does for every path.
    """
    key = ["key"]
    refused = _json(
        "Ditolak: masalah per elemen diagram",
        {"type": "object", "properties": {"message": {"type": "string"}, "problems": PROBLEMS}},
    )
    publish = _op(
        "Terbitkan diagram (bawaan: draf) sebagai versi aktif",
        {"application/json": {"schema": {"type": "object", "properties": {"xml": {"type": "string"}}}}},
        params=key,
        ok=_json("Sama dengan versi aktif (unchanged: true)", {"type": "object"}),
    )
    publish["requestBody"]["required"] = False
    publish["responses"]["201"] = _json("Versi baru", {"type": "object"})
    publish["responses"]["422"] = refused
    rollback = _op(
        "Kembalikan versi lama sebagai versi baru",
        {"application/json": {"schema": {"type": "object", "properties": {"version": {"type": "integer"}}}}},
        params=key,
    )
    rollback["responses"]["201"] = _json("Versi baru (rolled_back_from)", {"type": "object"})
    preview = _op("Pratinjau pemindahan kasus berjalan antarversi", params=key)
    preview["parameters"] += [
        {"name": name, "in": "query", "required": True, "schema": {"type": "integer"}} for name in ("from", "to")
    ]
    migrate_body = {
        "type": "object",
        "required": ["from", "to"],
        "properties": {
            "from": {"type": "integer"},
            "to": {"type": "integer"},
            "case_ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    version_xml = _op(
        "Diagram BPMN satu versi",
        params=["key", "version"],
        ok={"description": "BPMN", "content": {"application/xml": {"schema": {"type": "string"}}}},
    )
    version_xml["parameters"][1]["schema"] = {"type": "integer"}
    fixture_body = {
        "type": "object",
        "required": ["case_id"],
        "properties": {"case_id": {"type": "integer"}, "name": {"type": "string", "maxLength": 120}},
    }
    save_fixture = _op(
        "Simpan kasus selesai sebagai uji regresi proses", {"application/json": {"schema": fixture_body}}, params=key
    )
    save_fixture["responses"]["201"] = _json("Uji regresi tersimpan", {"type": "object"})
    delete_fixture = _op("Hapus uji regresi", params=["key", "fixture_id"])
    return {
        "/processes": {"get": _op("Daftar proses, versi aktif dan draf")},
        "/processes/{key}": {"get": _op("Proses: versi aktif dan draf", params=key)},
        "/processes/{key}/versions": {"get": _op("Versi yang pernah diterbitkan", params=key)},
        "/processes/{key}/versions/{version}/xml": {"get": version_xml},
        "/processes/{key}/draft": {"put": _op("Simpan draf diagram", XML_BODY, params=key)},
        "/processes/{key}/check": {
            "post": _op(
                "Periksa diagram tanpa menyimpan",
                XML_BODY,
                params=key,
                ok=_json(
                    "Masalah dan hasil uji regresi",
                    {"type": "object", "properties": {"problems": PROBLEMS, "regressions": {"type": "array"}}},
                ),
            )
        },
        "/processes/{key}/publish": {"post": publish},
        "/processes/{key}/regressions": {
            "get": _op("Uji regresi tersimpan (dijalankan ulang sebelum setiap penerbitan)", params=key),
            "post": save_fixture,
        },
        "/processes/{key}/regressions/{fixture_id}": {"delete": delete_fixture},
        "/processes/{key}/rollback": {"post": rollback},
        "/processes/{key}/migrations/preview": {"get": preview},
        "/processes/{key}/migrations": {
            "post": _op(
                "Pindahkan kasus berjalan ke versi lain", {"application/json": {"schema": migrate_body}}, params=key
            )
        },
    }
