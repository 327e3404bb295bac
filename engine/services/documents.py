"""Documents: checked uploads stored by content hash, and reading them back."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from engine.models import Document, db
from engine.services import audit
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


def _path_for(sha256: str) -> Path:
    return instance_dir() / "documents" / sha256[:2] / sha256


def write_blob(content: bytes) -> str:
    """Store bytes by their sha256 (idempotent) and return the hash."""
    digest = hashlib.sha256(content).hexdigest()
    path = _path_for(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(content)
        tmp.replace(path)
    return digest


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
    """The bytes of a stored document, checked against its hash."""
    path = _path_for(document.sha256)
    if not path.exists():
        raise NotFound("Berkas tidak ditemukan di penyimpanan.")
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != document.sha256:
        raise NotFound("Berkas rusak: hash tidak cocok.")
    return content
