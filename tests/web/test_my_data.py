"""Data Saya (UU 27/2022): the person sees what is held about them, who else opened their documents, and takes
one package with their data and nobody else's; every document download is logged with who, what and why."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import AuditEvent, Document, db
from tests.conftest import Api
from tests.sops.builders import registration
from tests.sops.test_issuance_ams import recommend
from tests.web_login import login


def register(client: Any, username: str, **overrides: Any) -> int:
    user = Api(client, username)
    case_id = user.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"]
    [task] = [t for t in user.get("/tasks").get_json()["mine"] if t["case_id"] == case_id]
    answer = user.post(
        f"/tasks/{task['id']}/complete", data=registration(**overrides), content_type="multipart/form-data"
    )
    assert answer.status_code == 200, answer.get_json()
    return int(case_id)


def ktp_of(app: Flask, case_id: int) -> int:
    with app.app_context():
        return int(
            db.session.execute(
                select(Document.id).where(Document.instance_id == case_id, Document.filename == "ktp.png")
            ).scalar_one()
        )


def test_a_download_is_logged_and_the_owner_sees_who_opened_what(app: Flask, client: Any) -> None:
    case_id = register(client, "pemohon")
    ktp = ktp_of(app, case_id)
    assert recommend(lambda username: Api(client, username), case_id).status_code == 200  # now in verification
    assert Api(client, "verifikator").get(f"/documents/{ktp}").status_code == 200
    assert Api(client, "pemohon").get(f"/documents/{ktp}").status_code == 200
    with app.app_context():
        views = db.session.execute(
            select(AuditEvent.actor, AuditEvent.payload_json).where(
                AuditEvent.instance_id == case_id, AuditEvent.kind == "document_viewed"
            )
        ).all()
    assert [(actor, json.loads(p)["why"]) for actor, p in views] == [
        ("verifikator", "verifikasi"),
        ("pemohon", "pemilik data"),
    ]
    login(client, "pemohon")
    page = client.get("/data-saya").get_data(as_text=True)
    assert "3375011507900001" in page and "Budi Santoso" in page
    accesses = page[page.index('id="accesses"') :]
    assert "verifikator" in accesses and "ktp.png" in accesses and "verifikasi" in accesses
    assert "pemohon</td>" not in accesses  # the owner's own views are not "someone else"


def test_the_owners_package_holds_their_data_and_nobody_elses(app: Flask, client: Any) -> None:
    mine = register(client, "pemohon")
    other = register(
        client,
        "pemohon2",
        full_name=None,
        nik=None,
        nip=None,
        agency_code=None,
        email=None,
        position=None,
        ktp_scan=(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"SITI" * 16), "ktp-siti.png"),
    )
    login(client, "pemohon")
    answer = client.get("/data-saya/unduh")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    data = json.loads(archive.read("data.json"))
    assert data["data_identitas"]["nik"] == "3375011507900001"
    assert [c["nomor"] for c in data["kasus"]] == [mine]
    names = archive.namelist()
    assert any(n.endswith("-ktp.png") for n in names)
    everything = b"".join(archive.read(n) for n in names)
    assert b"ktp-siti" not in everything and b"SITI" * 16 not in everything
    assert b"3375026203920002" not in everything and b"Siti Aminah" not in everything
    assert other != mine
    with app.app_context():
        assert db.session.execute(
            select(AuditEvent.id).where(AuditEvent.kind == "personal_data_exported", AuditEvent.actor == "pemohon")
        ).first()
