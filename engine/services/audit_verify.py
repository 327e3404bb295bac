"""Verify the event log: for each stream, the first event that does not fit, and why (in Indonesian)."""

from __future__ import annotations

import hmac
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy import select

from engine.models import AuditEvent, AuditHead, db
from engine.services import audit, audit_anchor, audit_keys
from engine.services.audit import describe_time

MISSING_KIND = "(hilang)"


@dataclass(frozen=True)
class Finding:
    """The first event of a stream that does not fit: where it is, when, what kind, and why."""

    stream: str
    seq: int
    at: datetime | None
    kind: str
    why: str

    def __str__(self) -> str:
        return f"{self.stream} #{self.seq} ({describe_time(self.at)}, {self.kind}): {self.why}"


@dataclass(frozen=True)
class Anchored:
    """A head an anchor committed to: the event (stream, seq) had this link at the anchor's time."""

    seq: int
    link: str
    anchor: AuditEvent


def _mac_ok(event: AuditEvent | None, keys: dict[str, bytes]) -> bool:
    key = keys.get(event.key_id) if event is not None else None
    return key is not None and event is not None and hmac.compare_digest(audit.link(event, key), event.hash)


def _why_link_fails(event: AuditEvent, following: AuditEvent | None, keys: dict[str, bytes]) -> str:
    """Tell apart an edit, a swapped pair and a re-chaining from an event whose MAC fails."""
    if hmac.compare_digest(audit.plain_digest(event), event.hash):
        return "rantai dihitung ulang dengan SHA-256 biasa, tanpa kunci dari KEK"
    for seq in (event.seq - 1, event.seq + 1):
        if seq > 0 and hmac.compare_digest(audit.link(event, keys[event.key_id], seq), event.hash):
            return f"urutan peristiwa tertukar: tautannya dibuat untuk posisi #{seq}"
    if following is not None and following.prev_hash == event.hash and not _mac_ok(following, keys):
        # The next link was recomputed over this forged one, and it does not verify either: a re-chaining.
        return "rantai dihitung ulang dengan kunci yang salah mulai dari peristiwa ini"
    return "isi peristiwa telah diubah"


def _first_misfit(events: list[AuditEvent], keys: dict[str, bytes]) -> Finding | None:
    """Walk one stream's chain in seq order and return the first event that does not fit."""
    prev_seq, prev_link, prev_gseq = 0, audit.GENESIS, 0
    for index, event in enumerate(events):
        why = None
        following = events[index + 1] if index + 1 < len(events) else None
        if event.seq != prev_seq + 1:
            missing = f"#{prev_seq + 1}" + (f"–#{event.seq - 1}" if event.seq > prev_seq + 2 else "")
            why = f"peristiwa {missing} hilang (dihapus) sebelum peristiwa ini"
        elif event.key_id not in keys:
            why = f"dirantai dengan kunci tak dikenal ({event.key_id}): rantai dibuat ulang tanpa kunci yang sah"
        elif not _mac_ok(event, keys):
            why = _why_link_fails(event, following, keys)
        elif event.prev_hash != prev_link:
            why = "tautan ke peristiwa sebelumnya tidak cocok"
        elif event.gseq <= prev_gseq:
            why = "nomor urut global tidak naik sepanjang rantai"
        if why:
            return Finding(event.stream, event.seq, event.at, event.kind, why)
        prev_seq, prev_link, prev_gseq = event.seq, event.hash, event.gseq
    return None


def _head_misfit(stream: str, events: list[AuditEvent], head: AuditHead | None) -> Finding | None:
    """Compare a stream's last event with its head row: a truncated tail or a replaced last event."""
    last = events[-1] if events else None
    if head is None:
        if last is None:
            return None
        return Finding(stream, last.seq, last.at, last.kind, "kepala rantai aliran ini hilang")
    last_seq = last.seq if last else 0
    if head.seq > last_seq:
        missing = f"#{last_seq + 1}" + (f"–#{head.seq}" if head.seq > last_seq + 1 else "")
        return Finding(stream, last_seq + 1, None, MISSING_KIND, f"ekor terpotong: peristiwa {missing} hilang")
    if last is not None and (head.seq != last.seq or head.hash != last.hash):
        return Finding(stream, last.seq, last.at, last.kind, "peristiwa terakhir tidak sama dengan kepala rantai")
    return None


def _anchored_misfit(stream: str, events: list[AuditEvent], anchored: list[Anchored]) -> Finding | None:
    """The first anchored event of a stream that is gone or changed since its anchor."""
    links = {e.seq: e for e in events}
    for mark in sorted(anchored, key=lambda a: a.seq):
        event = links.get(mark.seq)
        when = f"dijangkarkan pada {describe_time(mark.anchor.at)} (jangkar #{mark.anchor.seq})"
        if event is None:
            why = f"peristiwa ini {when} tetapi hilang: ekor terpotong atau aliran dihapus"
            return Finding(stream, mark.seq, None, MISSING_KIND, why)
        if event.hash != mark.link:
            return Finding(stream, event.seq, event.at, event.kind, f"peristiwa ini berbeda dari yang {when}")
    return None


def _anchor_marks(anchors: Iterable[AuditEvent]) -> tuple[dict[str, list[Anchored]], list[Finding]]:
    """What the anchors commit to, per stream, and the anchors whose own proofs fail."""
    marks: dict[str, list[Anchored]] = {}
    failures: list[Finding] = []
    prev_digest = audit.GENESIS
    cas: list[x509.Certificate] | None = None
    for anchor in anchors:
        payload: dict[str, Any] = json.loads(anchor.payload_json)
        cas = cas if cas is not None else audit_anchor.trusted_cas()
        why = audit_anchor.check_anchor(payload, prev_digest, cas)
        if why and not failures:
            failures.append(Finding(anchor.stream, anchor.seq, anchor.at, anchor.kind, why))
        for stream, seq, link in payload.get("heads", []):
            marks.setdefault(str(stream), []).append(Anchored(int(seq), str(link), anchor))
        prev_digest = str(payload.get("digest", ""))
    return marks, failures


def verify(stream: str | None = None) -> list[Finding]:
    """Check every chain (or one), its head, the registry of streams and the anchors; list the misfits."""
    keys = audit_keys.known()
    heads_query = select(AuditHead) if stream is None else select(AuditHead).where(AuditHead.stream == stream)
    heads = {h.stream: h for h in db.session.execute(heads_query).scalars()}
    anchors = db.session.execute(
        select(AuditEvent).where(AuditEvent.stream == audit.ANCHORS).order_by(AuditEvent.seq)
    ).scalars()
    marks, findings = _anchor_marks(anchors)
    # Streamed in batches: only one stream at a time is held in memory.
    events_query = select(AuditEvent).order_by(AuditEvent.stream, AuditEvent.seq).execution_options(yield_per=1000)
    if stream is not None:
        events_query = events_query.where(AuditEvent.stream == stream)
    opened: dict[str, AuditEvent] = {}
    seen: set[str] = set()
    for name, group in itertools.groupby(db.session.execute(events_query).scalars(), key=lambda e: e.stream):
        events = list(group)
        seen.add(name)
        if name == audit.REGISTRY:
            opened = {str(json.loads(e.payload_json).get("stream")): e for e in events}
        finding = (
            _first_misfit(events, keys)
            or _anchored_misfit(name, events, marks.get(name, []))
            or _head_misfit(name, events, heads.get(name))
        )
        if finding:
            findings.append(finding)
    for name in sorted((set(heads) | set(marks)) - seen):
        gone = _anchored_misfit(name, [], marks.get(name, [])) or _head_misfit(name, [], heads.get(name))
        if gone and (stream is None or name == stream):
            findings.append(gone)
    if stream is None:
        findings.extend(_registry_misfits(opened, seen, {f.stream for f in findings}))
    first: dict[str, Finding] = {}
    for finding in sorted(findings, key=lambda f: (f.stream, f.seq)):
        if stream is None or finding.stream == stream:
            first.setdefault(finding.stream, finding)  # one misfit per stream: the first
    return list(first.values())


def _registry_misfits(opened: dict[str, AuditEvent], seen: set[str], reported: set[str]) -> list[Finding]:
    """Streams the registry opened that are gone, and streams with events the registry never opened."""
    found: list[Finding] = []
    for name, event in sorted(opened.items()):
        if name not in seen and name not in reported:
            why = f"seluruh aliran hilang (dihapus); dibuka pada registri #{event.seq}"
            found.append(Finding(name, 1, event.at, MISSING_KIND, why))
    for name in sorted(seen - set(opened) - {audit.REGISTRY} - reported):
        found.append(Finding(name, 1, None, MISSING_KIND, "aliran ini tidak tercatat di registri aliran"))
    return found
