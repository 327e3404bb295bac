"""Documents are encrypted at rest (a per-file key wrapped under the KEK): a stolen disk or database copy
shows nothing, the owner still downloads the original, and `sertel keys rotate` lets the old KEK go."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from engine.app import create_app
from engine.cli import keys_rotate
from engine.models import Document, DocumentBlob, db
from engine.services import document_crypto, documents
from tests.conftest import Api, build_app
from tests.sops.builders import PDF, PNG, registration

# Uploads with a recognisable body, so a plaintext copy would be found in the stored bytes.
MARK = b"KTP-3375011507900001-RAHASIA"
KTP = PNG + MARK * 4
SK = PDF.replace(b"%%EOF", MARK + b"\n%%EOF")


def register(app: Flask) -> int:
    pemohon = Api(app.test_client(), "pemohon")
    case_id = pemohon.post("/cases", json={"process_key": "issuance_ams"}).get_json()["case"]["id"]
    [task] = [t for t in pemohon.get("/tasks").get_json()["mine"] if t["case_id"] == case_id]
    body = registration(ktp_scan=(io.BytesIO(KTP), "ktp.png"), asn_proof=(io.BytesIO(SK), "sk.pdf"))
    answer = pemohon.post(f"/tasks/{task['id']}/complete", data=body, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_json()
    return int(case_id)


def uploads(case_id: int) -> list[Document]:
    return list(
        db.session.execute(
            select(Document).where(Document.instance_id == case_id, Document.kind != "form").order_by(Document.id)
        ).scalars()
    )


def stored_bytes(app: Flask, document: Document) -> bytes:
    if app.config["SERTEL"]["DOCUMENT_STORE"] == "database":
        return bytes(db.session.get(DocumentBlob, document.sha256).content)  # type: ignore[union-attr]
    return (
        Path(app.config["SERTEL"]["INSTANCE_DIR"]) / "documents" / document.sha256[:2] / document.sha256
    ).read_bytes()


def download(app: Flask, document_id: int) -> Any:
    return Api(app.test_client(), "pemohon").get(f"/documents/{document_id}")


@pytest.mark.parametrize("store", ["files", "database"])
def test_stored_uploads_show_nothing_without_the_kek_and_download_as_sent(
    tmp_path: Path, psre_template: Path, store: str
) -> None:
    app = build_app(tmp_path, psre_template, DOCUMENT_STORE=store)
    case_id = register(app)
    with app.app_context():
        found = uploads(case_id)
        assert {d.filename for d in found} >= {"ktp.png", "sk.pdf"}
        for document in found:
            raw = stored_bytes(app, document)
            assert raw.startswith(document_crypto.MAGIC)
            assert MARK not in raw and b"%PDF" not in raw and b"PNG" not in raw
            sent = KTP if document.filename == "ktp.png" else SK if document.filename == "sk.pdf" else None
            if sent is not None:
                assert download(app, document.id).data == sent
        forms = db.session.execute(select(Document).where(Document.instance_id == case_id, Document.kind == "form"))
        for (form,) in forms:
            assert b"Budi Santoso" not in stored_bytes(app, form) and b"%PDF" not in stored_bytes(app, form)

    # The same database and files with another KEK: nothing opens.
    stranger = create_app({**settings_of(app), "KEK_KEYS": Fernet.generate_key().decode()})
    with stranger.app_context():
        document = uploads(case_id)[0]
        with pytest.raises(Exception, match="kunci enkripsi"):
            documents.read(document)


def test_rotation_rewraps_every_document_key_so_the_old_kek_can_go(app: Flask) -> None:
    case_id = register(app)
    old = app.config["SERTEL"]["KEK_KEYS"]
    new = Fernet.generate_key().decode()
    with app.app_context():
        ids = [d.id for d in uploads(case_id)]
        # A document stored before encryption existed: read as it is, encrypted by the rotation.
        legacy = documents.store_bytes(
            b"%PDF-1.4 lama\n%%EOF", "lama.pdf", "application/pdf", "upload", None, case_id, "uji"
        )
        path = Path(app.config["SERTEL"]["INSTANCE_DIR"]) / "documents" / legacy.sha256[:2] / legacy.sha256
        path.write_bytes(b"%PDF-1.4 lama\n%%EOF")
        db.session.commit()
        ids.append(legacy.id)
        assert documents.read(legacy) == b"%PDF-1.4 lama\n%%EOF"
    rotating = create_app({**settings_of(app), "KEK_KEYS": f"{new},{old}"})
    result = rotating.test_cli_runner().invoke(keys_rotate)
    assert result.exit_code == 0, result.output
    assert "kunci dokumen tersimpan dibungkus ulang" in result.output
    only_new = create_app({**settings_of(app), "KEK_KEYS": new})
    with only_new.app_context():
        for document_id in ids:
            document = db.session.get(Document, document_id)
            assert document is not None
            assert documents.read(document)
        assert path.read_bytes().startswith(document_crypto.MAGIC)
    only_old = create_app({**settings_of(app), "KEK_KEYS": old})
    with only_old.app_context():
        document = db.session.get(Document, ids[0])
        assert document is not None
        with pytest.raises(Exception, match="kunci enkripsi"):
            documents.read(document)


def test_a_blob_moved_under_another_documents_name_does_not_open(app: Flask) -> None:
    with app.app_context():
        first = documents.store_bytes(b"%PDF-1.4 satu\n%%EOF", "a.pdf", "application/pdf", "upload", None, None, "uji")
        second = documents.store_bytes(b"%PDF-1.4 dua\n%%EOF", "b.pdf", "application/pdf", "upload", None, None, "uji")
        db.session.commit()
        root = Path(app.config["SERTEL"]["INSTANCE_DIR"]) / "documents"
        (root / second.sha256[:2] / second.sha256).write_bytes((root / first.sha256[:2] / first.sha256).read_bytes())
        with pytest.raises(Exception, match="kunci enkripsi"):
            documents.read(second)


def settings_of(app: Flask) -> dict[str, Any]:
    keep = ("ENV", "INSTANCE_DIR", "DATABASE_URL", "DOCUMENT_STORE")
    return {k: v for k, v in app.config["SERTEL"].items() if k in keep}
