"""Verify an evidence package offline: only the ZIP and the RA's public certificates, no database, no KEK.

What is checked (every problem named, in Indonesian):
- manifest.sig is the RA seal over manifest.json: a certificate named as the RA seal, whose chain in the
  package leads to the trust anchor (given by the caller, else the root in the package, with a warning);
- every member listed in the manifest is present with its SHA-256; nothing else is in the ZIP;
- the case's events form an unbroken chain: seq 1, 2, 3…, each prev_hash the previous link, gseq rising.
  The links themselves are HMACs under a key derived from the KEK, which an offline verifier does not
  hold: the chain's content is proven by the anchor instead;
- the anchor: its digest recomputed from its heads, its RFC 3161 token from a TSA of the same CA, its RA
  seal, and the head it holds for the case stream equals the package's event at that seq.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from pki import anchor_proof
from pki.anchor_proof import ProofInvalid
from pki.service_certs import RA_SEAL_COMMON_NAME

GENESIS = "0" * 64
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


@dataclass
class PackageReport:
    """The verdict: problems (the package does not prove what it claims) and warnings."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    case_id: int | None = None
    events: int = 0

    @property
    def ok(self) -> bool:
        """Tell whether every check passed."""
        return not self.problems


def anchor_digest(prev_digest: str, heads: list[list[Any]]) -> str:
    """The digest an anchor proves (the same canonical JSON as engine.services.audit_anchor)."""
    body = json.dumps([prev_digest, heads], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


def trusted_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """The CA certificates from `leaf` up to a trust anchor (ProofInvalid when no such path exists)."""
    anchor_prints = {_fingerprint(a) for a in anchors}
    path: list[x509.Certificate] = []
    current = leaf
    for _ in range(6):
        issuer = next(
            (c for c in [*anchors, *pool] if c.subject == current.issuer and _issued(current, c)),
            None,
        )
        if issuer is None:
            break
        path.append(issuer)
        if _fingerprint(issuer) in anchor_prints:
            return path
        if issuer.subject == issuer.issuer:  # a root that is not the trust anchor
            break
        current = issuer
    raise ProofInvalid("rantai sertifikat tidak sampai ke jangkar kepercayaan")


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _is_ra_seal(cert: x509.Certificate) -> bool:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return bool(names) and names[0].value == RA_SEAL_COMMON_NAME


def _load_zip(content: bytes, report: PackageReport) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, ValueError, OSError, EOFError) as exc:
        # A changed byte in a compressed member fails its CRC here: name it.
        report.problems.append(f"berkas ZIP rusak atau diubah: {exc}")
        return None


def _check_seal(
    members: dict[str, bytes], anchors: Sequence[x509.Certificate] | None, report: PackageReport
) -> list[x509.Certificate]:
    """Check manifest.sig; return the CA certificates trusted for the anchor's token."""
    try:
        seal_cert = x509.load_pem_x509_certificate(members["certs/ra_seal.pem"])
        pool = x509.load_pem_x509_certificates(members["certs/ca_chain.pem"])
    except (KeyError, ValueError) as exc:
        report.problems.append(f"sertifikat segel atau rantai CA dalam paket tidak terbaca ({exc})")
        return []
    if anchors is None:
        anchors = [c for c in pool if c.subject == c.issuer]
        report.warnings.append(
            "jangkar kepercayaan diambil dari paket itu sendiri; berikan --ra-cert (sertifikat CA akar dari "
            "sumber terpercaya) agar paket yang dibuat ulang utuh oleh pihak lain tidak lolos"
        )
    try:
        chain = trusted_chain(seal_cert, pool, anchors)
        if not _is_ra_seal(seal_cert):
            raise ProofInvalid("sertifikat penyegel bukan segel Otoritas Pendaftaran")
        signature = base64.b64decode(members.get(SIGNATURE, b""), validate=True)
        digest = hashlib.sha256(members[MANIFEST]).digest()
        anchor_proof.verify_seal(signature, digest, seal_cert, chain[:1], _is_ra_seal)
    except (ProofInvalid, binascii.Error, KeyError) as exc:
        why = exc.args[0] if isinstance(exc, ProofInvalid) else str(exc)
        report.problems.append(f"segel Otoritas Pendaftaran atas manifest.json tidak sah: {why}")
        return []
    return [*chain, *anchors]


def _check_files(members: dict[str, bytes], manifest: dict[str, Any], report: PackageReport) -> None:
    files: dict[str, str] = manifest.get("files", {})
    for name, expected in sorted(files.items()):
        if name not in members:
            report.problems.append(f"berkas {name} hilang dari paket")
        elif hashlib.sha256(members[name]).hexdigest() != expected:
            report.problems.append(f"berkas {name} diubah: SHA-256 tidak sama dengan manifes")
    for name in sorted(set(members) - set(files) - {MANIFEST, SIGNATURE}):
        report.problems.append(f"berkas {name} tidak tercantum di manifes")


def _check_chain(events: list[dict[str, Any]], report: PackageReport) -> None:
    prev_seq, prev_link, prev_gseq = 0, GENESIS, 0
    for event in events:
        seq = int(event.get("seq", 0))
        where = f"peristiwa #{seq} ({event.get('kind')})"
        if seq != prev_seq + 1:
            report.problems.append(f"{where}: urutan terputus, #{prev_seq + 1} hilang atau tertukar")
            return
        if event.get("prev_hash") != prev_link:
            report.problems.append(f"{where}: tautan ke peristiwa sebelumnya tidak cocok")
            return
        if int(event.get("gseq", 0)) <= prev_gseq:
            report.problems.append(f"{where}: nomor urut global tidak naik")
            return
        prev_seq, prev_link, prev_gseq = seq, str(event.get("hash")), int(event.get("gseq", 0))
    report.events = prev_seq


def _check_anchor(
    anchor: dict[str, Any] | None,
    stream: str,
    events: list[dict[str, Any]],
    cas: list[x509.Certificate],
    report: PackageReport,
) -> None:
    if anchor is None:
        report.warnings.append("paket tanpa jangkar: isi peristiwa hanya dibuktikan oleh segel manifes")
        return
    payload = anchor.get("payload", {})
    heads = payload.get("heads", [])
    digest = str(payload.get("digest", ""))
    if anchor_digest(str(payload.get("prev_digest", "")), heads) != digest:
        report.problems.append("jangkar: digest tidak cocok dengan kepala rantai yang dicatatnya")
        return
    try:
        raw = bytes.fromhex(digest)
        anchor_proof.verify_timestamp(base64.b64decode(payload.get("timestamp_token", "")), raw, cas)
        if payload.get("seal"):
            certificate = x509.load_pem_x509_certificate(str(payload["seal_certificate"]).encode("ascii"))
            anchor_proof.verify_seal(base64.b64decode(payload["seal"]), raw, certificate, cas, _is_ra_seal)
    except (ProofInvalid, ValueError) as exc:
        report.problems.append(f"jangkar: stempel waktu atau segel tidak sah: {exc.args[0]}")
        return
    mine = [h for h in heads if h[0] == stream]
    if not mine:
        report.problems.append(f"jangkar tidak memuat kepala rantai {stream}")
        return
    _, seq, link = mine[0]
    by_seq = {int(e["seq"]): e for e in events}
    if int(seq) not in by_seq or by_seq[int(seq)].get("hash") != link:
        report.problems.append(f"peristiwa #{seq} berbeda dari yang dijangkarkan (atau hilang)")
    elif int(seq) < len(events):
        report.warnings.append(f"jangkar mencakup peristiwa sampai #{seq}; sesudahnya hanya rantai yang diperiksa")


def verify_package(content: bytes, trust_anchors_pem: bytes | None = None) -> PackageReport:
    """Verify an evidence package (the ZIP bytes); trust anchors are PEM CA certificates, else the package's."""
    report = PackageReport()
    members = _load_zip(content, report)
    if members is None:
        return report
    if MANIFEST not in members or SIGNATURE not in members:
        report.problems.append("manifest.json atau manifest.sig tidak ada dalam paket")
        return report
    anchors = None
    if trust_anchors_pem is not None:
        try:
            anchors = x509.load_pem_x509_certificates(trust_anchors_pem)
        except ValueError:
            report.problems.append("sertifikat --ra-cert tidak terbaca (harus PEM)")
            return report
    cas = _check_seal(members, anchors, report)
    try:
        manifest = json.loads(members[MANIFEST])
        events = json.loads(members.get("audit/events.json", b"[]"))
        anchor = json.loads(members["audit/anchor.json"]) if "audit/anchor.json" in members else None
    except ValueError as exc:
        report.problems.append(f"isi JSON paket tidak terbaca: {exc}")
        return report
    report.case_id = int(manifest.get("case_id", 0)) or None
    _check_files(members, manifest, report)
    _check_chain(events, report)
    if cas:
        _check_anchor(anchor, f"case:{report.case_id}", events, cas, report)
    return report
