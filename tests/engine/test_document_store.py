"""SERTEL_DOCUMENT_STORE=database: document bytes in document_blobs, committed (or rolled back) with the case."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from engine.config import ConfigError, load_settings
from engine.models import Document, DocumentBlob, db
from engine.services import documents
from engine.services.errors import NotFound
from tests.conftest import Api, build_app
from tests.sops.builders import PDF
from tests.sops.test_issuance_ams import start_and_register


@pytest.fixture
def blob_app(tmp_path: Path, psre_template: Path) -> Iterator[Flask]:
    application = build_app(tmp_path, psre_template, DOCUMENT_STORE="database")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def blob_count() -> int:
    return int(db.session.execute(select(func.count()).select_from(DocumentBlob)).scalar_one())


def test_a_case_upload_is_stored_in_the_database_and_read_back(blob_app: Flask, tmp_path: Path) -> None:
    client = blob_app.test_client()
    _pemohon, case_id = start_and_register(lambda name: Api(client, name))
    with blob_app.app_context():
        stored = db.session.execute(select(Document).where(Document.instance_id == case_id)).scalars().all()
        assert stored, "the registration stored no documents"
        for document in stored:
            blob = db.session.get(DocumentBlob, document.sha256)
            assert blob is not None
            content = documents.read(document)
            assert len(content) == document.size and hashlib.sha256(content).hexdigest() == document.sha256
            assert blob.content != content  # encrypted at rest (tests/engine/test_document_encryption.py)
    assert not (tmp_path / "documents").exists()


def test_same_bytes_are_stored_once_and_a_rollback_leaves_no_blob(blob_app: Flask) -> None:
    with blob_app.app_context():
        before = blob_count()
        first = documents.store_bytes(PDF, "a.pdf", "application/pdf", "upload", None, None, "test")
        second = documents.store_bytes(PDF, "b.pdf", "application/pdf", "upload", None, None, "test")
        db.session.commit()
        assert first.sha256 == second.sha256 and blob_count() == before + 1
        documents.store_bytes(PDF + b"other", "c.pdf", "application/pdf", "upload", None, None, "test")
        db.session.rollback()
        assert blob_count() == before + 1


def test_tampered_bytes_are_refused(blob_app: Flask) -> None:
    with blob_app.app_context():
        document = documents.store_bytes(PDF, "a.pdf", "application/pdf", "upload", None, None, "test")
        db.session.commit()
        db.session.execute(update(DocumentBlob).where(DocumentBlob.sha256 == document.sha256).values(content=b"x"))
        db.session.commit()
        with pytest.raises(NotFound, match="hash tidak cocok"):
            documents.read(document)


def test_files_stored_before_the_switch_are_still_read(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        document = documents.store_bytes(PDF, "a.pdf", "application/pdf", "upload", None, None, "test")
        db.session.commit()
        assert (tmp_path / "documents" / document.sha256[:2] / document.sha256).exists()
        assert blob_count() == 0
        app.config["SERTEL"]["DOCUMENT_STORE"] = "database"
        assert documents.read(document) == PDF


def test_an_unknown_store_is_refused_at_start() -> None:
    settings: dict[str, Any] = {"ENV": "testing", "DOCUMENT_STORE": "s3"}
    with pytest.raises(ConfigError, match="DOCUMENT_STORE"):
        load_settings(settings)
