"""The OpenAPI 3.1 document of /api/v1, built from the API's marshmallow schemas."""

from __future__ import annotations

from typing import Any

from engine.web.api_schemas import StartCaseSchema, TaskFiltersSchema, TokenRequestSchema, describe, query_parameters
from engine.web.processes_openapi import process_owner_paths

ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}
JSON_OK = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
ERRORS = {
    str(code): {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code, text in (
        (401, "Belum masuk"),
        (403, "Tidak berwenang"),
        (404, "Tidak ditemukan"),
        (409, "Konflik"),
        (422, "Input tidak valid"),
    )
}


def _op(
    summary: str,
    body: dict[str, Any] | None = None,
    secured: bool = True,
    ok: dict[str, Any] | None = None,
    params: list[str] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {"200": ok or JSON_OK, **ERRORS}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    if not secured:
        operation["security"] = []
    if params:
        operation["parameters"] = [
            {
                "name": p,
                "in": "path",
                "required": True,
                "schema": {"type": "integer" if p.endswith("_id") else "string"},
            }
            for p in params
        ]
    return operation


PDF_UPLOAD = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary", "description": "berkas PDF"}},
        }
    },
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}
SIGN_UPLOAD = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file", "passphrase"],
            "properties": {
                "file": {"type": "string", "format": "binary", "description": "berkas PDF"},
                "passphrase": {"type": "string", "description": "passphrase kunci eSign"},
                "reason": {"type": "string"},
                "location": {"type": "string"},
                "visible": {"type": "string", "enum": ["true", "false"], "description": "tampilkan stempel"},
            },
        }
    }
}
VALIDATION_REPORT = {
    "description": (
        "Laporan validasi: putusan sederhana (simple_verdict, indication, sub_indication beserta label bahasa "
        "Indonesia), rincian per tanda tangan (signatures[].building_blocks, level, scope, best_proven_time_wib) "
        "dan laporan XML ETSI TS 119 102-2 dalam etsi_report_xml_base64"
    ),
    "content": {"application/json": {"schema": {"type": "object"}}},
}
ETSI_XML = {
    "description": "Laporan validasi ETSI TS 119 102-2 (namespace http://uri.etsi.org/19102/v1.2.1#)",
    "content": {"application/xml": {"schema": {"type": "string"}}},
}
SIGNED_PDF = {
    "description": "PDF bertanda tangan",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


_NAMED = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
CATALOGUE = {
    "description": "Katalog (Admin dan Auditor)",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "forms": {"type": "array", "items": _NAMED},
                    "operators": {"type": "array", "items": _NAMED},
                    "roles": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"lane": {"type": "string"}, "role": {"type": "string"}},
                        },
                    },
                    "settings": {"type": "array", "items": _NAMED},
                },
                "required": ["forms", "operators", "roles", "settings"],
            }
        }
    },
}


def _tasks_op() -> dict[str, Any]:
    operation = _op(
        "Tugas saya dan tugas yang dapat diklaim, disaring seperti kotak masuk (jalur cepat di depan)", ok=TASKS
    )
    operation["description"] = (
        "Saringan sama dengan halaman kotak masuk. Nilai yang tidak dikenal dijawab 422 dengan pesan per parameter. "
        "Halaman berikutnya: kirim kursor `next` jawaban sebelumnya dengan saringan yang sama."
    )
    operation["parameters"] = query_parameters(TaskFiltersSchema)
    return operation


_TASK_ROW = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "case_id": {"type": "integer"},
        "label": {"type": "string"},
        "role": {"type": "string"},
        "claimed_by": {"type": ["integer", "null"]},
        "process_key": {"type": "string"},
        "applicant_name": {"type": "string"},
        "agency_name": {"type": ["string", "null"]},
        "due_at": {"type": ["string", "null"], "description": "tenggat SLA (UTC)"},
        "sla": {"enum": ["overdue", "due_soon", None], "description": "keadaan SLA"},
        "fast_track": {"type": "boolean", "description": "jalur cepat (mis. kunci bocor)"},
        "check_errors": {"type": ["integer", "null"]},
        "check_warnings": {"type": ["integer", "null"]},
    },
}
TASKS = {
    "description": "Satu halaman tugas",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "mine": {"type": "array", "items": _TASK_ROW},
                    "claimable": {"type": "array", "items": _TASK_ROW},
                    "next": {
                        "type": "object",
                        "properties": {
                            "mine_after": {"type": ["string", "null"]},
                            "claimable_after": {"type": ["string", "null"]},
                        },
                    },
                    "notices": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["mine", "claimable", "next", "notices"],
            }
        }
    },
}


def document() -> dict[str, Any]:
    """Build the OpenAPI document."""
    pem = {"description": "PEM", "content": {"application/x-pem-file": {"schema": {"type": "string"}}}}
    binary = {
        "description": "Berkas",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
    complete_body = {
        "application/json": {
            "schema": {"type": "object", "description": "isian formulir; lihat GET /tasks/{task_id}/form"}
        },
        "multipart/form-data": {"schema": {"type": "object", "description": "isian formulir dan berkas unggahan"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sertel API",
            "version": "1",
            "description": "API Otoritas Pendaftaran Sertifikat Elektronik Kota Pekalongan",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "TokenRequest": describe(TokenRequestSchema),
                "StartCase": describe(StartCaseSchema),
            },
        },
        "paths": {
            "/auth/token": {
                "post": _op(
                    "Masuk dan dapatkan token",
                    {"application/json": {"schema": {"$ref": "#/components/schemas/TokenRequest"}}},
                    secured=False,
                )
            },
            "/auth/tokens": {"get": _op("Token API saya yang masih berlaku")},
            "/auth/tokens/{token_id}": {
                "delete": _op("Cabut token API (milik sendiri; Admin: milik siapa pun)", params=["token_id"])
            },
            "/auth/logout": {"post": _op("Keluar: cabut token yang dipakai permintaan ini")},
            "/users/{username}/revoke-access": {
                "post": _op("Admin: akhiri semua sesi dan cabut semua token seorang pengguna", params=["username"])
            },
            **process_owner_paths(_op),
            "/cases": {
                "post": _op(
                    "Mulai permohonan", {"application/json": {"schema": {"$ref": "#/components/schemas/StartCase"}}}
                )
            },
            "/cases/{case_id}": {"get": _op("Kasus dengan linimasa", params=["case_id"])},
            "/cases/{case_id}/withdraw": {
                "post": _op(
                    "Tarik permohonan sendiri (pemohon, sebelum PSrE menindaklanjuti)",
                    {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["reason"],
                                "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000}},
                            }
                        }
                    },
                    params=["case_id"],
                )
            },
            "/cases/{case_id}/messages": {
                "post": _op(
                    "Kirim pesan BPMN yang ditunggu kasus (dicatat dan dapat diputar ulang)",
                    {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                                    "payload": {"type": "object"},
                                },
                            }
                        }
                    },
                    params=["case_id"],
                )
            },
            "/tasks": {"get": _tasks_op()},
            "/duties": {"get": _op("Aturan pemisahan tugas yang ditegakkan mesin alur kerja")},
            "/tasks/{task_id}/claim": {"post": _op("Klaim tugas", params=["task_id"])},
            "/tasks/{task_id}/release": {"post": _op("Lepas tugas", params=["task_id"])},
            "/tasks/{task_id}/form": {"get": _op("Skema formulir tugas", params=["task_id"])},
            "/tasks/{task_id}/complete": {"post": _op("Selesaikan tugas", complete_body, params=["task_id"])},
            "/documents/{document_id}": {"get": _op("Unduh dokumen", ok=binary, params=["document_id"])},
            "/certificates/{serial}": {"get": _op("Unduh sertifikat dan rantainya", ok=pem, params=["serial"])},
            "/validate": {
                "post": _op(
                    "Validasi PDF bertanda tangan (tanpa masuk)", PDF_UPLOAD, secured=False, ok=VALIDATION_REPORT
                )
            },
            "/validate/etsi-report": {
                "post": _op("Laporan validasi ETSI TS 119 102-2 (XML)", PDF_UPLOAD, secured=False, ok=ETSI_XML)
            },
            "/sign": {"post": _op("Tandatangani PDF dengan kunci eSign pemilik", SIGN_UPLOAD, ok=SIGNED_PDF)},
            "/catalogue": {
                "get": _op(
                    "Katalog untuk pemodel diagram: formulir, operator beserta parameternya, peran lane, pengaturan",
                    ok=CATALOGUE,
                )
            },
        },
    }
