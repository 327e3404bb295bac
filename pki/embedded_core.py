"""The core of the embedded PSrE: CA state, subjects, certificates, revocation and CRL/OCSP publication."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pki import ca, key_lifecycle
from pki.errors import (
    AlreadyRevoked,
    InvalidRequest,
    KeyReused,
    NotInitialised,
    UnknownCertificate,
    UnknownRevocationReason,
    UnknownSubject,
)
from pki.key_backend import KeyBackend, SoftwareKeys
from pki.keystore import DEFAULT_SCRYPT_N, KeyStore
from pki.keywrap import rewrap, unwrap_secret, wrap_secret
from pki.psre import (
    REVOCATION_REASONS,
    CertificateStatus,
    IssuedCertificate,
    SubjectInfo,
    SubjectStatus,
    normalise_serial_hex,
)
from pki.store import Connection, Store, get_meta, remember, replay, set_meta

NIK_PATTERN = re.compile(r"^\d{16}$")
WRAPPED_META = ("pseudonym_salt",)
# References to the PSrE's own keys: KEK tokens (software backend) or token labels (PKCS#11).
KEY_META = ("root_key", "issuing_key", "tsa_key", "ra_seal_key")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _spki_sha256(key: Any) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


class EmbeddedCore:
    """A real (test) CA run inside the RA's deployment: the part every later layer builds on."""

    def __init__(
        self,
        state_dir: Path,
        kek_keys: list[str],
        base_url: str,
        validity_days: int = 730,
        crl_next_update_hours: int = 24,
        *,
        ocsp_next_update_minutes: int = 60,
        clock: Callable[[], datetime] = _utc_now,
        max_attempts: int = 5,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        min_passphrase_length: int = 8,
        key_backend: KeyBackend | None = None,
        policy_oid: str = ca.DEFAULT_POLICY_OID,
        database_url: str | None = None,
    ) -> None:
        """Configure the PSrE; state is created by `initialise()`, not here.

        `key_backend` holds the CA, TSA and RA seal keys (default: software keys wrapped under the KEKs);
        the KEKs still protect subject records and eSign keys whatever the backend. `database_url`
        (`postgresql://…[?schema=…]`) keeps the state on PostgreSQL instead of `state_dir/psre.sqlite3`.
        """
        if not kek_keys:
            raise ValueError("EmbeddedPSrE needs at least one KEK")
        self.store = Store(state_dir, database_url)
        self.kek_keys = list(kek_keys)
        self.keys: KeyBackend = key_backend or SoftwareKeys(self.kek_keys)
        self.base_url = base_url
        self.validity_days = validity_days
        self.crl_next_update = timedelta(hours=crl_next_update_hours)
        self.ocsp_next_update = timedelta(minutes=ocsp_next_update_minutes)
        self.clock = clock
        self.policy_oid = policy_oid
        self._issuing_ca: ca.IssuingCA | None = None
        # Same store: issuing a certificate and storing its server key commit together.
        self.keystore = KeyStore(
            state_dir,
            self.kek_keys,
            max_attempts=max_attempts,
            scrypt_n=scrypt_n,
            clock=clock,
            min_passphrase_length=min_passphrase_length,
            store=self.store,
        )

    # --- lifecycle ------------------------------------------------------------------------------------

    def initialise(self) -> bool:
        """Create the state and CA hierarchy if absent; return True if it was created now."""
        self.store.create_schema()
        self.keystore.initialise()
        self.store.create_schema(key_lifecycle.SCHEMA)
        with self.store.write() as conn:
            if get_meta(conn, "root_pem") is not None:
                return False
            hierarchy = ca.create_hierarchy(self.kek_keys, self.base_url, now=self.clock(), keys=self.keys)
            set_meta(conn, "root_pem", _pem(hierarchy.root_certificate).encode())
            set_meta(conn, "issuing_pem", _pem(hierarchy.issuing_certificate).encode())
            set_meta(conn, "root_key", hierarchy.wrapped_root_key)
            set_meta(conn, "issuing_key", hierarchy.wrapped_issuing_key)
            set_meta(conn, "pseudonym_salt", wrap_secret(secrets.token_bytes(32), self.kek_keys))
            set_meta(conn, "crl_number", b"0")
            set_meta(conn, "root_crl_number", b"0")
            return True

    def rotate_keys(self) -> int:
        """Re-encrypt every wrapped secret under the first KEK; afterwards older KEKs can be dropped."""
        count = 0
        with self.store.write() as conn:
            for name in WRAPPED_META:
                token = get_meta(conn, name)
                if token is not None:
                    set_meta(conn, name, rewrap(token, self.kek_keys))
                    count += 1
            for name in KEY_META:
                token = get_meta(conn, name)
                if token is not None:
                    set_meta(conn, name, self.keys.rewrap(token))
                    count += 1
            for row in conn.execute("SELECT subject_id, data_token FROM subjects").fetchall():
                conn.execute(
                    "UPDATE subjects SET data_token = ? WHERE subject_id = ?",
                    (rewrap(bytes(row["data_token"]), self.kek_keys), row["subject_id"]),
                )
                count += 1
        return count + self.keystore.rotate_keks()

    def _ca(self) -> ca.IssuingCA:
        if self._issuing_ca is None:
            if not self.store.exists():
                raise NotInitialised("PSrE state not found; run initialise()")
            with self.store.read() as conn:
                root, issuing = get_meta(conn, "root_pem"), get_meta(conn, "issuing_pem")
                key, salt = get_meta(conn, "issuing_key"), get_meta(conn, "pseudonym_salt")
                generation = int(get_meta(conn, "issuing_generation") or b"1")
            if root is None or issuing is None or key is None or salt is None:
                raise NotInitialised("PSrE has no CA hierarchy; run initialise()")
            self._issuing_ca = ca.load_issuing_ca(
                root,
                issuing,
                key,
                self.kek_keys,
                self.base_url,
                unwrap_secret(salt, self.kek_keys),
                self.keys,
                policy_oid=self.policy_oid,
                generation=generation,
            )
        return self._issuing_ca

    def _digest(self, operation: str, request: dict[str, Any]) -> str:
        # Keyed with the PSrE's secret salt: request records mention NIK-derived data and must not
        # be brute-forceable from the stored digest.
        body = json.dumps({"operation": operation, **request}, sort_keys=True).encode()
        return hmac.new(self._ca().pseudonym_salt, body, hashlib.sha256).hexdigest()

    # --- subjects -------------------------------------------------------------------------------------

    def register_subject(self, subject: SubjectInfo, idempotency_key: str) -> str:
        """Register a subject (or update the record of the same NIK) and return its subject id."""
        issuing = self._ca()
        pseudonym = ca.subject_pseudonym(subject.nik, issuing.pseudonym_salt)
        digest = self._digest("register_subject", dataclasses.asdict(subject))
        now = self.clock().isoformat()
        token = wrap_secret(json.dumps(dataclasses.asdict(subject)).encode(), self.kek_keys)
        with self.store.write() as conn:
            done, result = replay(conn, idempotency_key, "register_subject", digest)
            if done:
                return str(result)
            row = conn.execute("SELECT subject_id FROM subjects WHERE pseudonym = ?", (pseudonym,)).fetchone()
            if row is None:
                subject_id = str(uuid.uuid4())
                conn.execute(
                    "INSERT INTO subjects (subject_id, pseudonym, data_token, registered_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (subject_id, pseudonym, token, now, now),
                )
            else:
                # One person, one subject: a data change (088.12) updates the record that the next
                # issuance uses; certificates already issued keep the data they were issued with.
                subject_id = str(row["subject_id"])
                conn.execute(
                    "UPDATE subjects SET data_token = ?, updated_at = ? WHERE subject_id = ?",
                    (token, now, subject_id),
                )
            remember(conn, idempotency_key, "register_subject", digest, subject_id, now)
            return subject_id

    def _load_subject(self, conn: Connection, subject_id: str) -> SubjectInfo:
        row = conn.execute("SELECT data_token FROM subjects WHERE subject_id = ?", (subject_id,)).fetchone()
        if row is None:
            raise UnknownSubject(f"subject {subject_id!r} is not registered")
        return SubjectInfo(**json.loads(unwrap_secret(bytes(row["data_token"]), self.kek_keys)))

    def _find_subject_id(self, conn: Connection, subject_id_or_nik: str) -> str | None:
        """Return the subject id for a subject id or a NIK, or None when not registered."""
        key = subject_id_or_nik.strip()
        if NIK_PATTERN.match(key):
            pseudonym = ca.subject_pseudonym(key, self._ca().pseudonym_salt)
            row = conn.execute("SELECT subject_id FROM subjects WHERE pseudonym = ?", (pseudonym,)).fetchone()
        else:
            row = conn.execute("SELECT subject_id FROM subjects WHERE subject_id = ?", (key,)).fetchone()
        return None if row is None else str(row["subject_id"])

    def subject_status(self, subject_id_or_nik: str) -> SubjectStatus:
        """Return ISSUE, EXPIRED, REVOKE, NOT_REGISTERED or NO_CERTIFICATE for a subject id or NIK."""
        with self.store.read() as conn:
            subject_id = self._find_subject_id(conn, subject_id_or_nik)
            if subject_id is None:
                return SubjectStatus.NOT_REGISTERED
            certs = conn.execute(
                "SELECT status, not_after FROM certificates WHERE subject_id = ? ORDER BY issued_at DESC",
                (subject_id,),
            ).fetchall()
        if not certs:
            return SubjectStatus.NO_CERTIFICATE
        now = self.clock()
        if any(c["status"] == "good" and datetime.fromisoformat(c["not_after"]) > now for c in certs):
            return SubjectStatus.ISSUE
        # No usable certificate: report what happened to the most recent one.
        return SubjectStatus.REVOKE if certs[0]["status"] == "revoked" else SubjectStatus.EXPIRED

    # --- certificates ---------------------------------------------------------------------------------

    def issue_from_csr(self, subject_id: str, csr_pem: str, idempotency_key: str) -> IssuedCertificate:
        """Issue a certificate for the registered subject's data and the CSR's public key."""
        digest = self._digest("issue_from_csr", {"subject_id": subject_id, "csr": csr_pem.strip()})
        with self.store.write() as conn:
            done, result = replay(conn, idempotency_key, "issue_from_csr", digest)
            if done:
                return IssuedCertificate.from_json(result)
            issued = self._issue_in(conn, subject_id, ca.load_csr(csr_pem).public_key())
            remember(conn, idempotency_key, "issue_from_csr", digest, issued.to_json(), self._now_iso())
            return issued

    def _now_iso(self) -> str:
        return self.clock().isoformat()

    def _issue_in(
        self,
        conn: Connection,
        subject_id: str,
        public_key: Any,
        subject: SubjectInfo | None = None,
        key_held_by: str = "owner",
    ) -> IssuedCertificate:
        """Certify `public_key` for the subject inside the caller's transaction and record it."""
        issuing = self._ca()
        subject = subject or self._load_subject(conn, subject_id)
        spki = _spki_sha256(public_key)
        if conn.execute("SELECT 1 FROM certificates WHERE spki_sha256 = ?", (spki,)).fetchone():
            raise KeyReused("this public key is already certified; generate a new key pair")
        cert = issuing.issue_for_public_key(public_key, subject, self.validity_days, now=self.clock())
        issued = IssuedCertificate(
            serial_hex=format(cert.serial_number, "x"),
            certificate_pem=_pem(cert),
            chain_pem=self.ca_chain_pem(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            subject_id=subject_id,
            key_held_by=key_held_by,
        )
        conn.execute(
            "INSERT INTO certificates (serial_hex, subject_id, spki_sha256, pem, not_before, not_after,"
            " issued_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'good')",
            (
                issued.serial_hex,
                subject_id,
                spki,
                issued.certificate_pem,
                issued.not_before.isoformat(),
                issued.not_after.isoformat(),
                self._now_iso(),
            ),
        )
        return issued

    def revoke(
        self, serial_hex: str, reason: str, idempotency_key: str, invalidity_date: datetime | None = None
    ) -> None:
        """Revoke a certificate with an RFC 5280 reason name; it shows in CRL and OCSP at once.

        `invalidity_date` (when the key is known or suspected compromised) goes onto the CRL entry and
        the OCSP answer; it cannot lie after the revocation itself.
        """
        if reason not in REVOCATION_REASONS:
            raise UnknownRevocationReason(f"{reason!r} is not one of {', '.join(REVOCATION_REASONS)}")
        serial = normalise_serial_hex(serial_hex)
        request: dict[str, Any] = {"serial_hex": serial, "reason": reason}
        if invalidity_date is not None:
            if invalidity_date.tzinfo is None:
                raise InvalidRequest("invalidity_date must carry a time zone")
            invalidity_date = invalidity_date.astimezone(UTC).replace(microsecond=0)
            if invalidity_date > self.clock():
                raise InvalidRequest("invalidity_date cannot lie in the future")
            # Only when given, so requests remembered before this field existed still replay.
            request["invalidity_date"] = invalidity_date.isoformat()
        digest = self._digest("revoke", request)
        with self.store.write() as conn:
            done, _ = replay(conn, idempotency_key, "revoke", digest)
            if done:
                return
            self._revoke_in(conn, serial, reason, invalidity_date)
            remember(conn, idempotency_key, "revoke", digest, None, self._now_iso())

    def _revoke_in(self, conn: Connection, serial: str, reason: str, invalidity_date: datetime | None = None) -> None:
        """Mark a certificate revoked inside the caller's transaction; destroy the server-held key it certifies."""
        row = conn.execute("SELECT status FROM certificates WHERE serial_hex = ?", (serial,)).fetchone()
        if row is None:
            raise UnknownCertificate(f"no certificate with serial {serial}")
        if row["status"] == "revoked":
            raise AlreadyRevoked(f"certificate {serial} is already revoked")
        now = self.clock().replace(microsecond=0)  # CRL/OCSP times have one-second precision
        conn.execute(
            "UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ? WHERE serial_hex = ?",
            (now.isoformat(), reason, serial),
        )
        if invalidity_date is not None:
            key_lifecycle.set_invalidity_date(conn, serial, invalidity_date)
        owner = key_lifecycle.server_key_owner(conn, serial)
        if owner is not None:
            # A revoked certificate's key must never sign again, whoever knows the passphrase.
            key_lifecycle.destroy(conn, owner, serial, f"certificate revoked ({reason})", now)
        self._after_revocation(conn)

    def _after_revocation(self, conn: Connection) -> None:
        """Hook run in the revoking transaction (the services layer publishes a new CRL here)."""

    def certificate_status(self, serial_hex: str) -> CertificateStatus:
        """Return good / revoked (with reason and time) / unknown for a serial."""
        try:
            serial = normalise_serial_hex(serial_hex)
        except ValueError:
            return CertificateStatus(serial_hex=serial_hex, status="unknown")
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT status, revoked_at, reason, not_after FROM certificates WHERE serial_hex = ?",
                (serial,),
            ).fetchone()
            invalidity = key_lifecycle.invalidity_date(conn, serial)
            destroyed = key_lifecycle.key_destroyed(conn, serial)
        if row is None:
            return CertificateStatus(serial_hex=serial, status="unknown")
        revoked_at = datetime.fromisoformat(row["revoked_at"]) if row["revoked_at"] else None
        return CertificateStatus(
            serial_hex=serial,
            status="revoked" if row["status"] == "revoked" else "good",
            reason=row["reason"],
            revoked_at=revoked_at,
            not_after=datetime.fromisoformat(row["not_after"]),
            invalidity_date=invalidity,
            key_destroyed=destroyed,
        )

    def ca_chain_pem(self) -> str:
        """Return the issuing CA then the root, PEM."""
        issuing = self._ca()
        return _pem(issuing.certificate) + _pem(issuing.root_certificate)

    def root_certificate_pem(self) -> str:
        """Return the root CA certificate, PEM (the trust anchor relying parties install)."""
        return _pem(self._ca().root_certificate)
