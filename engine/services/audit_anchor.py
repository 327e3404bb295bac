"""Anchors of the event log: the heads that moved, timestamped by the TSA and sealed by the RA.

An anchor is an event of the ANCHORS stream whose payload lists [stream, seq, link] for every head that
moved since the previous anchor, and `digest` = SHA-256(previous anchor's digest + those heads). The
digest carries an RFC 3161 token from the PSrE's TSA and a detached RA seal signature. Because anchors
chain, the set of all anchors commits to every head ever anchored: verify checks that each anchored
event still exists with the same link, so a tail truncated (or a stream deleted) before the newest
anchor shows even if the attacker also rewrites the head rows and the registry.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from cryptography import x509
from sqlalchemy import select, update

from engine.models import AuditEvent, AuditHead, db
from engine.services import audit
from engine.services.runtime_context import psre
from pki import anchor_proof
from pki.anchor_proof import ProofInvalid
from pki.errors import PkiError


def anchor_digest(prev_digest: str, heads: list[list[Any]]) -> str:
    """The digest an anchor proves: the previous anchor's digest and the heads it adds, canonical JSON."""
    body = json.dumps([prev_digest, heads], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def anchored_heads(anchor: audit.Event) -> list[list[Any]]:
    """The [stream, seq, link] heads an anchor event commits to."""
    heads: list[list[Any]] = json.loads(anchor.payload_json).get("heads", [])
    return heads


def newest() -> AuditEvent | None:
    """The newest anchor, if any."""
    return db.session.execute(
        select(AuditEvent).where(AuditEvent.stream == audit.ANCHORS).order_by(AuditEvent.seq.desc()).limit(1)
    ).scalar_one_or_none()


def _last_digest() -> str:
    last = newest()
    return str(json.loads(last.payload_json)["digest"]) if last else audit.GENESIS


def _seal(digest: bytes) -> dict[str, str]:
    """The RA seal over the digest; only the embedded PSrE holds the seal key (a remote PSrE signs PDFs)."""
    adapter = psre()
    if not hasattr(adapter, "seal_digest"):
        return {"seal": "", "seal_certificate": ""}
    return {
        "seal": base64.b64encode(adapter.seal_digest(digest)).decode("ascii"),
        "seal_certificate": adapter.ra_seal_certificate_pem(),
    }


def create_anchor(actor: str) -> audit.PendingEvent | None:
    """Anchor the heads that moved since the last anchor; None when nothing moved. Commits."""
    # Lock the anchor stream first so two anchoring runs chain their digests in one order.
    db.session.get(AuditHead, audit.ANCHORS, with_for_update=True)
    moved = db.session.execute(
        select(AuditHead.stream, AuditHead.seq, AuditHead.hash)
        .where(AuditHead.seq != AuditHead.anchored_seq, AuditHead.stream != audit.ANCHORS)
        .order_by(AuditHead.stream)
    ).all()
    if not moved:
        db.session.rollback()
        return None
    heads = [[stream, seq, link] for stream, seq, link in moved]
    prev = _last_digest()
    digest = anchor_digest(prev, heads)
    raw = bytes.fromhex(digest)
    try:
        token = anchor_proof.token_from_response(psre().tsa_response_der(anchor_proof.timestamp_request(raw)))
    except PkiError as exc:
        db.session.rollback()
        raise RuntimeError(f"TSA tidak memberi stempel waktu: {exc}") from exc
    payload = {
        "prev_digest": prev,
        "digest": digest,
        "heads": heads,
        "timestamp_token": base64.b64encode(token).decode("ascii"),
        **_seal(raw),
    }
    event = audit.append(audit.ANCHORS, "anchor", actor, payload)
    for stream, seq, _link in moved:
        db.session.execute(update(AuditHead).where(AuditHead.stream == stream).values(anchored_seq=seq))
    db.session.commit()
    return event


def trusted_cas() -> list[x509.Certificate]:
    """The city's CA certificates, from the PSrE (not from the database an attacker may hold)."""
    return x509.load_pem_x509_certificates(psre().ca_chain_pem().encode("ascii"))


def _is_ra_seal() -> Callable[[x509.Certificate], bool]:
    current = x509.load_pem_x509_certificate(psre().ra_seal_certificate_pem().encode("ascii"))
    return lambda cert: cert.subject == current.subject


def check_anchor(payload: dict[str, Any], prev_digest: str, cas: list[x509.Certificate] | None = None) -> str | None:
    """Why an anchor's own proofs fail (in Indonesian), or None when digest, token and seal hold."""
    digest = str(payload.get("digest", ""))
    if payload.get("prev_digest") != prev_digest:
        return "jangkar tidak menyambung ke jangkar sebelumnya"
    if anchor_digest(prev_digest, payload.get("heads", [])) != digest:
        return "digest jangkar tidak cocok dengan kepala rantai yang dicatatnya"
    raw = bytes.fromhex(digest)
    cas = cas if cas is not None else trusted_cas()
    try:
        anchor_proof.verify_timestamp(base64.b64decode(payload.get("timestamp_token", "")), raw, cas)
    except ProofInvalid as exc:
        return f"stempel waktu RFC 3161 jangkar tidak sah: {exc.args[0]}"
    if payload.get("seal"):
        try:
            certificate = x509.load_pem_x509_certificate(str(payload["seal_certificate"]).encode("ascii"))
            anchor_proof.verify_seal(base64.b64decode(payload["seal"]), raw, certificate, cas, _is_ra_seal())
        except (ProofInvalid, ValueError) as exc:
            return f"segel Otoritas Pendaftaran pada jangkar tidak sah: {exc.args[0]}"
    elif hasattr(psre(), "seal_digest"):
        return "jangkar tidak bersegel padahal kunci segel RA tersedia"
    return None
