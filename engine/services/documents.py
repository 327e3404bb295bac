"""Documents: checked uploads stored by content hash, and reading them back.

An upload is checked on its own first (check_upload) and stored only in the step that accepts its form
(engine/services/cases.py), so a refused submit leaves no document; it records the form field it answers, whose
label says what the document is (kind_label).

The bytes live where SERTEL_DOCUMENT_STORE says: "files" (INSTANCE_DIR/documents/<2 hex>/<sha256>, written
before the case commits) or "database" (table document_blobs, in the case's own transaction, so a step that
rolls back leaves nothing and every app server sees what another stored). docs/operations.md says why.
Either way the bytes are encrypted at rest under a per-file key wrapped by the KEK (`document_crypto`); the
name and the document's integrity hash are the plaintext's SHA-256.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from engine import registry
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


@dataclass(frozen=True)
class CheckedUpload:
    """An uploaded file that passed the checks, not stored yet (it is stored with the step that accepts it)."""

    field: str
    filename: str
    content: bytes
    media_type: str


def limit_bytes() -> int:
    """The largest upload accepted, in bytes (setting MAX_UPLOAD_BYTES)."""
    return int(settings()["MAX_UPLOAD_BYTES"])


def limit_text() -> str:
    """The upload limit as people read it ("5 MB")."""
    limit = limit_bytes()
    if limit < 1024 * 1024:
        return f"{limit / 1024:g} KB"
    return f"{limit / (1024 * 1024):g} MB"


def check_upload(field: str, filename: str, content: bytes) -> CheckedUpload:
    """Check an uploaded file without storing it; raise Invalid with an Indonesian message on a bad file."""
    if not content:
        raise Invalid("Berkas kosong.", {field: ["Berkas kosong."]})
    if len(content) > limit_bytes():
        message = f"Berkas melebihi batas {limit_text()}; perkecil atau pindai ulang dengan resolusi lebih rendah."
        raise Invalid(message, {field: [message]})
    media_type = sniff_media_type(content)
    if media_type is None:
        message = "Jenis berkas tidak diizinkan: unggah PDF, JPEG atau PNG."
        raise Invalid(message, {field: [message]})
    return CheckedUpload(field, filename, content, media_type)


def store_upload(upload: CheckedUpload, user_id: int, instance_id: int | None, actor: str) -> Document:
    """Store a checked upload as a document of a case, marked with the form field it answers (ktp_scan, selfie…)."""
    return store_bytes(
        upload.content, upload.filename, upload.media_type, "upload", user_id, instance_id, actor, upload.field
    )


def store_bytes(
    content: bytes,
    filename: str,
    media_type: str,
    kind: str,
    user_id: int | None,
    instance_id: int | None,
    actor: str,
    form_field: str | None = None,
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
        form_field=form_field,
        uploaded_by_id=user_id,
    )
    db.session.add(document)
    db.session.flush()
    stream = audit.case_stream(instance_id) if instance_id else "system"
    audit.append(
        stream,
        "document_stored",
        actor,
        {
            "document_id": document.id,
            "sha256": digest,
            "filename": clean_name,
            "kind": kind,
            **({"form_field": form_field} if form_field else {}),
        },
        instance_id,
    )
    return document


def read(document: Document) -> bytes:
    """The bytes of a stored document, checked against its hash.

    With the database store a document stored as a file before the switch is still read from its file.
    """
    if document.erased_at is not None:
        raise NotFound("Isi dokumen ini telah dihapus karena masa retensinya berakhir; hash-nya tetap tercatat.")
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


def delete_file(sha256: str) -> None:
    """Delete the stored file of a content (retention erasure); a missing file is already gone."""
    _path_for(sha256).unlink(missing_ok=True)


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


# What the documents the app itself makes are; an upload's kind is its form field, labelled by the form.
PRODUCED_KINDS = {
    "form": "Formulir (PDF bertanda tangan)",
    "letter": "Surat keputusan verifikasi",
    "dossier": "Berkas arsip kasus",
    "signed": "Dokumen bertanda tangan",
    "upload": "Berkas unggahan",
}


def kind_label(document: Document) -> str:
    """What a document is, in Indonesian: the label its form field declares (KTP, SK, selfie…) or the app's own."""
    if document.form_field:
        names = tuple(form.name for form in registry.forms())
        label = _upload_labels(names).get(document.form_field)
        if label:
            return label
    return PRODUCED_KINDS.get(document.kind, PRODUCED_KINDS["upload"])


@functools.cache
def _upload_labels(form_names: tuple[str, ...]) -> dict[str, str]:
    """The label of every document field of the catalogue's forms (computed once per catalogue)."""
    labels: dict[str, str] = {}
    for name in form_names:
        schema_class = registry.form_for(name)
        for field_name, field in registry.schema_fields(schema_class).items() if schema_class else ():
            if field.metadata.get("document"):
                labels.setdefault(field_name, str(field.metadata.get("label") or PRODUCED_KINDS["upload"]))
    return labels


def is_identity_document(document: Document) -> bool:
    """Whether a document answers a form field marked identity=True (KTP scan or photo, selfie)."""
    if not document.form_field:
        return False
    return document.form_field in _identity_fields(tuple(form.name for form in registry.forms()))


@functools.cache
def _identity_fields(form_names: tuple[str, ...]) -> frozenset[str]:
    """The document fields of the catalogue's forms that take identity documents (computed once per catalogue)."""
    found: set[str] = set()
    for name in form_names:
        schema_class = registry.form_for(name)
        for field_name, field in registry.schema_fields(schema_class).items() if schema_class else ():
            if field.metadata.get("document") and field.metadata.get("identity"):
                found.add(field_name)
    return frozenset(found)
