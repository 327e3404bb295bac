"""Documents: checked uploads stored by content hash, and reading them back.

The bytes live where SERTEL_DOCUMENT_STORE says: "files" (INSTANCE_DIR/documents/<2 hex>/<sha256>, written
before the case commits) or "database" (table document_blobs, in the case's own transaction, so a step that
rolls back leaves nothing and every app server sees what another stored). docs/operations.md says why.
Either way the bytes are encrypted at rest under a per-file key wrapped by the KEK (`document_crypto`); the
name and the document's integrity hash are the plaintext's SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from engine.models import Document, DocumentBlob, db
from engine.services import audit, document_crypto
from engine.services.errors import Invalid, NotFound
from engine.services.runtime_context import instance_dir, settings

# Accepted uploads, recognised by their first bytes rather than by the name the browser sent.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def sniff_media_type(content: bytes) -> str | None:
    """Recognise an allowed file type from its content."""
    for media_type, prefixes in SIGNATURES.items():
        if any(content.startswith(prefix) for prefix in prefixes):
            return media_type
    return None


STORES = ("files", "database")


def _store() -> str:
    store = str(settings()["DOCUMENT_STORE"])
    if store not in STORES:
        raise ValueError(f"SERTEL_DOCUMENT_STORE must be 'files' or 'database', not {store!r}")
    return store


def _path_for(sha256: str) -> Path:
    return instance_dir() / "documents" / sha256[:2] / sha256


def write_blob(content: bytes) -> str:
    """Store bytes by their sha256 (idempotent) and return the hash."""
    digest = hashlib.sha256(content).hexdigest()
    if _store() == "database":
        _insert_blob(digest, document_crypto.encrypt(content, digest))
        return digest
    path = _path_for(digest)
    if not path.exists():
        _write_file(path, document_crypto.encrypt(content, digest))
    return digest


def _write_file(path: Path, stored: bytes) -> None:
    """Replace a stored file atomically (never a half-written document under its name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(stored)
    tmp.replace(path)


def _insert_blob(digest: str, content: bytes) -> None:
    """Add the bytes in the session's transaction unless that content is stored already.

    ON CONFLICT DO NOTHING: two cases storing the same bytes at once both succeed (on PostgreSQL the second
    waits for the first transaction and inserts if that one rolled back).
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(DocumentBlob).values(sha256=digest, content=content).on_conflict_do_nothing()
    db.session.execute(statement)


def store_upload(
    field: str, filename: str, content: bytes, user_id: int, instance_id: int | None, actor: str
) -> Document:
    """Check and store an uploaded file; raise Invalid with an Indonesian message on a bad file."""
    limit = int(settings()["MAX_UPLOAD_BYTES"])
    if not content:
        raise Invalid("Berkas kosong.", {field: ["Berkas kosong."]})
    if len(content) > limit:
        message = f"Berkas melebihi batas {limit // (1024 * 1024)} MB."
        raise Invalid(message, {field: [message]})
    media_type = sniff_media_type(content)
    if media_type is None:
        message = "Jenis berkas tidak diizinkan: unggah PDF, JPEG atau PNG."
        raise Invalid(message, {field: [message]})
    return store_bytes(content, filename, media_type, "upload", user_id, instance_id, actor)


def store_bytes(
    content: bytes, filename: str, media_type: str, kind: str, user_id: int | None, instance_id: int | None, actor: str
) -> Document:
    """Store bytes the app produced or accepted, with a Document row and an audit event."""
    digest = write_blob(content)
    clean_name = SAFE_NAME.sub("_", filename or "berkas")[:200] or "berkas"
    document = Document(
        instance_id=instance_id,
        sha256=digest,
        filename=clean_name,
        media_type=media_type,
        size=len(content),
        kind=kind,
        uploaded_by_id=user_id,
    )
    db.session.add(document)
    db.session.flush()
    stream = audit.case_stream(instance_id) if instance_id else "system"
    audit.append(
        stream,
        "document_stored",
        actor,
        {"document_id": document.id, "sha256": digest, "filename": clean_name, "kind": kind},
        instance_id,
    )
    return document


def read(document: Document) -> bytes:
    """The bytes of a stored document, checked against its hash.

    With the database store a document stored as a file before the switch is still read from its file.
    """
    stored: bytes | None = None
    if _store() == "database":
        stored = db.session.execute(
            select(DocumentBlob.content).where(DocumentBlob.sha256 == document.sha256)
        ).scalar_one_or_none()
    if stored is None:
        path = _path_for(document.sha256)
        if not path.exists():
            raise NotFound("Berkas tidak ditemukan di penyimpanan.")
        stored = path.read_bytes()
    try:
        content = document_crypto.decrypt(stored, document.sha256)
    except document_crypto.DocumentUnreadable as exc:
        raise NotFound("Berkas tidak dapat dibuka: kunci enkripsi (KEK) tidak cocok atau berkas diubah.") from exc
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise NotFound("Berkas rusak: hash tidak cocok.")
    return content


def rotate_document_keys() -> int:
    """Re-wrap every stored document's key under the newest KEK (and encrypt any stored before encryption).

    Database blobs are updated in one transaction; files are replaced one by one (each replacement is
    atomic and both wrappings open with the configured KEKs, so a stop half-way loses nothing). Returns how
    many were re-wrapped.
    """
    count = 0
    for blob in db.session.execute(select(DocumentBlob)).scalars():
        blob.content = document_crypto.rewrap(blob.content, blob.sha256)
        count += 1
    root = instance_dir() / "documents"
    for path in sorted(root.glob("??/*")) if root.exists() else []:
        if path.suffix == ".tmp" or len(path.name) != 64:
            continue
        _write_file(path, document_crypto.rewrap(path.read_bytes(), path.name))
        count += 1
    audit.append("system", "document_keys_rotated", "cli", {"documents": count})
    db.session.commit()
    return count
