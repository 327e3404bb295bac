"""EmbeddedPSrE: an in-process stand-in for BSrE implementing the PSrE adapter on its own SQLite state."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pki import ca, key_lifecycle
from pki.embedded_books import EmbeddedBooks
from pki.embedded_core import NIK_PATTERN, EmbeddedCore
from pki.errors import (
    ActiveKeyExists,
    AlreadyRevoked,
    InvalidRequest,
    InvalidSubject,
    KeySuspended,
    NoServerKey,
    UnknownCertificate,
    UnknownSubject,
)
from pki.keystore import SealedKey, check_passphrase
from pki.keywrap import wrap_secret
from pki.psre import IssuedCertificate, SubjectInfo, normalise_serial_hex
from pki.signing import PdfSigningKey, sign_pdf
from pki.store import Connection, remember, replay

__all__ = ["NIK_PATTERN", "EmbeddedCore", "EmbeddedPSrE"]


def _holder(sealed: SealedKey | None) -> str:
    """Who holds the private key of a certificate issued with this key material."""
    return "owner" if sealed is None else "psre"


class EmbeddedPSrE(EmbeddedBooks):
    """A real (test) CA run inside the RA's deployment, behaving like an external PSrE (BSrE)."""

    # --- server-held keys (eSign) ---------------------------------------------------------------------

    def _new_server_key(self, subject_id: str, passphrase: str) -> tuple[ec.EllipticCurvePrivateKey, SealedKey]:
        # Generated and sealed before the write lock is taken: the slow KDF must not block other calls.
        check_passphrase(passphrase, self.keystore.min_passphrase_length)
        key = ec.generate_private_key(ec.SECP256R1())
        return key, self.keystore.seal(subject_id, key, passphrase)

    def _install_server_key(
        self, conn: Connection, subject_id: str, sealed: SealedKey, issued: IssuedCertificate
    ) -> None:
        previous = self._server_key_serial(conn, subject_id)
        if previous not in (None, issued.serial_hex) and not key_lifecycle.key_destroyed(conn, str(previous)):
            # The new key overwrites the old one in the key store: record that the old key is gone.
            key_lifecycle.destroy(conn, subject_id, str(previous), "replaced by a new server-held key", self.clock())
        self.keystore.put(conn, sealed, issued.serial_hex)
        conn.execute(
            "INSERT INTO server_key_certificates (subject_id, serial_hex) VALUES (?, ?)"
            " ON CONFLICT (subject_id) DO UPDATE SET serial_hex = excluded.serial_hex",
            (subject_id, issued.serial_hex),
        )

    def _server_key_serial(self, conn: Connection, subject_id: str) -> str | None:
        row = conn.execute(
            "SELECT serial_hex FROM server_key_certificates WHERE subject_id = ?", (subject_id,)
        ).fetchone()
        return None if row is None else str(row["serial_hex"])

    def _is_usable(self, conn: Connection, serial: str | None) -> bool:
        """Tell whether a certificate is good and not expired (so its key must not be replaced)."""
        if serial is None:
            return False
        row = conn.execute("SELECT status, not_after FROM certificates WHERE serial_hex = ?", (serial,)).fetchone()
        return row is not None and row["status"] == "good" and datetime.fromisoformat(row["not_after"]) > self.clock()

    def _revoke_if_good(self, conn: Connection, serial: str | None, reason: str) -> None:
        if serial is None:
            return
        row = conn.execute("SELECT status FROM certificates WHERE serial_hex = ?", (serial,)).fetchone()
        if row is not None and row["status"] == "good":
            self._revoke_in(conn, serial, reason)

    def issue_with_server_key(self, subject_id: str, passphrase: str, idempotency_key: str) -> IssuedCertificate:
        """Generate the owner's key on the PSrE, certify it and keep it wrapped under the passphrase."""
        # The passphrase is deliberately not part of the request digest: nothing derived from it is kept.
        digest = self._digest("issue_with_server_key", {"subject_id": subject_id})
        with self.store.read() as conn:
            done, result = replay(conn, idempotency_key, "issue_with_server_key", digest)
        if done:
            return self._repeat_under_passphrase(subject_id, passphrase, result)
        key, sealed = self._new_server_key(subject_id, passphrase)
        with self.store.write() as conn:
            done, result = replay(conn, idempotency_key, "issue_with_server_key", digest)
            if done:
                return IssuedCertificate.from_json(result)
            previous = self._server_key_serial(conn, subject_id)
            if self._is_usable(conn, previous):
                # One active eSign key per person: replacing it here would also lift a LOCK and revoke a
                # certificate behind the RA's back. Renewal (088.10) and reset (088.13) are the ways.
                raise ActiveKeyExists("subject already holds a valid server-held key; renew or reset it instead")
            issued = self._issue_in(conn, subject_id, key.public_key(), key_held_by="psre")
            self._install_server_key(conn, subject_id, sealed, issued)
            # The previous server key was just overwritten, so its certificate can never sign again.
            self._revoke_if_good(conn, previous, "superseded")
            remember(conn, idempotency_key, "issue_with_server_key", digest, issued.to_json(), self._now_iso())
            return issued

    def sign_pdf(
        self,
        subject_id_or_nik: str,
        passphrase: str,
        pdf_bytes: bytes,
        reason: str,
        location: str,
        visible: bool = True,
    ) -> bytes:
        """Sign a PDF with the owner's server-held key (PAdES B-LTA); every attempt counts towards LOCK."""
        with self.store.read() as conn:
            subject_id = self._find_subject_id(conn, subject_id_or_nik)
            if subject_id is None:
                raise UnknownSubject("subject is not registered")
            serial = self._server_key_serial(conn, subject_id)
            row = (
                None
                if serial is None
                else conn.execute(
                    "SELECT pem, status, not_after FROM certificates WHERE serial_hex = ?", (serial,)
                ).fetchone()
            )
            suspended = serial is not None and key_lifecycle.is_suspended(conn, subject_id, serial)
        if row is None:
            raise NoServerKey("subject has no server-held key and certificate")
        if row["status"] != "good" or datetime.fromisoformat(row["not_after"]) <= self.clock():
            raise NoServerKey("the certificate of the server-held key is revoked or expired")
        if suspended:
            # Refused before unlock(): a suspended key is not tried, so no attempt counts towards LOCK.
            raise KeySuspended()
        private_key = self.keystore.unlock(subject_id, passphrase, serial)
        certificate = x509.load_pem_x509_certificate(row["pem"].encode())
        signing_key = PdfSigningKey(private_key, certificate, self._chain())
        return sign_pdf(
            pdf_bytes,
            signing_key,
            reason=reason,
            location=location,
            visible=visible,
            timestamper=self.timestamper(),
            revocation=self,
        )

    # --- suspension on a key-compromise report (088.11) ----------------------------------------------

    def _set_suspension(self, operation: str, serial_hex: str, idempotency_key: str, suspend: bool) -> bool:
        serial = normalise_serial_hex(serial_hex)
        digest = self._digest(operation, {"serial_hex": serial})
        with self.store.write() as conn:
            done, result = replay(conn, idempotency_key, operation, digest)
            if done:
                return bool(result)
            if conn.execute("SELECT 1 FROM certificates WHERE serial_hex = ?", (serial,)).fetchone() is None:
                raise UnknownCertificate(f"no certificate with serial {serial}")
            owner = key_lifecycle.server_key_owner(conn, serial)
            changed = (
                owner is not None
                and conn.execute("SELECT 1 FROM esign_keys WHERE owner_id = ?", (owner,)).fetchone() is not None
            )
            if owner is not None and changed:
                if suspend:
                    key_lifecycle.suspend(conn, owner, serial, self.clock())
                else:
                    changed = key_lifecycle.lift(conn, owner, serial, self.clock())
            remember(conn, idempotency_key, operation, digest, changed, self._now_iso())
            return changed

    def suspend_server_key(self, serial_hex: str, idempotency_key: str) -> bool:
        """Suspend signing with the server-held key of this certificate at once; False if it certifies none."""
        return self._set_suspension("suspend_server_key", serial_hex, idempotency_key, True)

    def lift_server_key_suspension(self, serial_hex: str, idempotency_key: str) -> bool:
        """Lift the suspension (the report was rejected); False if none was in force."""
        return self._set_suspension("lift_server_key_suspension", serial_hex, idempotency_key, False)

    def key_events(self, subject_id_or_nik: str) -> list[key_lifecycle.KeyEvent]:
        """Return the PSrE's log of the subject's server-held keys (suspended, lifted, destroyed)."""
        with self.store.read() as conn:
            subject_id = self._find_subject_id(conn, subject_id_or_nik)
            return [] if subject_id is None else key_lifecycle.events(conn, subject_id)

    def current_certificate(self, subject_id_or_nik: str) -> IssuedCertificate:
        """Return the subject's newest good certificate with its chain (BSrE: certificate/chain/:id)."""
        with self.store.read() as conn:
            subject_id = self._find_subject_id(conn, subject_id_or_nik)
            if subject_id is None:
                raise UnknownSubject("subject is not registered")
            row = conn.execute(
                "SELECT serial_hex, pem, not_before, not_after FROM certificates WHERE subject_id = ?"
                " AND status = 'good' ORDER BY issued_at DESC, rowid DESC LIMIT 1",
                (subject_id,),
            ).fetchone()
        if row is None:
            raise NoServerKey("subject has no valid certificate")
        return IssuedCertificate(
            serial_hex=row["serial_hex"],
            certificate_pem=row["pem"],
            chain_pem=self.ca_chain_pem(),
            not_before=datetime.fromisoformat(row["not_before"]),
            not_after=datetime.fromisoformat(row["not_after"]),
            subject_id=subject_id,
        )

    # --- key replacement: renewal (088.10), data change (088.12), reset (088.13) --------------------

    def _new_key_material(
        self, subject_id: str, csr_pem: str | None, passphrase: str | None
    ) -> tuple[object, SealedKey | None]:
        if (csr_pem is None) == (passphrase is None):
            raise InvalidRequest("give exactly one of csr_pem (owner's key) or passphrase (server-held key)")
        if csr_pem is not None:
            return ca.load_csr(csr_pem).public_key(), None
        assert passphrase is not None
        key, sealed = self._new_server_key(subject_id, passphrase)
        return key.public_key(), sealed

    def _subject_of(self, serial: str) -> str:
        with self.store.read() as conn:
            row = conn.execute("SELECT subject_id FROM certificates WHERE serial_hex = ?", (serial,)).fetchone()
        if row is None:
            raise UnknownCertificate(f"no certificate with serial {serial}")
        return str(row["subject_id"])

    def renew(
        self, serial_hex: str, csr_pem: str | None, passphrase: str | None, idempotency_key: str
    ) -> IssuedCertificate:
        """Issue a new certificate on a new key for the same subject, then revoke the old as superseded."""
        serial = normalise_serial_hex(serial_hex)
        request = {"serial_hex": serial, "csr": (csr_pem or "").strip(), "server_key": passphrase is not None}
        digest = self._digest("renew", request)
        subject_id = self._subject_of(serial)
        if passphrase is not None:
            with self.store.read() as conn:
                done, result = replay(conn, idempotency_key, "renew", digest)
            if done:
                return self._repeat_under_passphrase(subject_id, passphrase, result)
        public_key, sealed = self._new_key_material(subject_id, csr_pem, passphrase)
        with self.store.write() as conn:
            done, result = replay(conn, idempotency_key, "renew", digest)
            if done:
                return IssuedCertificate.from_json(result)
            row = conn.execute("SELECT status FROM certificates WHERE serial_hex = ?", (serial,)).fetchone()
            if row["status"] == "revoked":
                raise AlreadyRevoked(f"certificate {serial} is revoked; renewal needs a valid certificate")
            issued = self._issue_in(conn, subject_id, public_key, key_held_by=_holder(sealed))
            if sealed is not None:
                previous = self._server_key_serial(conn, subject_id)
                self._install_server_key(conn, subject_id, sealed, issued)
                self._revoke_if_good(conn, previous if previous != serial else None, "superseded")
            # Same transaction, after the insert: the old certificate is revoked only once the new exists.
            self._revoke_in(conn, serial, "superseded")
            remember(conn, idempotency_key, "renew", digest, issued.to_json(), self._now_iso())
            return issued

    def reissue(
        self,
        subject_id: str,
        subject: SubjectInfo,
        csr_pem: str | None,
        passphrase: str | None,
        idempotency_key: str,
    ) -> IssuedCertificate:
        """Data change (088.12): update the subject's data, issue with it, revoke the old as affiliationChanged."""
        request = {"subject_id": subject_id, "subject": dataclasses.asdict(subject), "csr": (csr_pem or "").strip()}
        digest = self._digest("reissue", {**request, "server_key": passphrase is not None})
        if passphrase is not None:
            with self.store.read() as conn:
                done, result = replay(conn, idempotency_key, "reissue", digest)
            if done:
                return self._repeat_under_passphrase(subject_id, passphrase, result)
        public_key, sealed = self._new_key_material(subject_id, csr_pem, passphrase)
        pseudonym = ca.subject_pseudonym(subject.nik, self._ca().pseudonym_salt)
        token = wrap_secret(json.dumps(dataclasses.asdict(subject)).encode(), self.kek_keys)
        with self.store.write() as conn:
            done, result = replay(conn, idempotency_key, "reissue", digest)
            if done:
                return IssuedCertificate.from_json(result)
            row = conn.execute("SELECT pseudonym FROM subjects WHERE subject_id = ?", (subject_id,)).fetchone()
            if row is None:
                raise UnknownSubject(f"subject {subject_id!r} is not registered")
            if row["pseudonym"] != pseudonym:
                raise InvalidSubject("a NIK never changes: the new data must carry the subject's NIK")
            conn.execute(
                "UPDATE subjects SET data_token = ?, updated_at = ? WHERE subject_id = ?",
                (token, self._now_iso(), subject_id),
            )
            old = [
                str(r["serial_hex"])
                for r in conn.execute(
                    "SELECT serial_hex FROM certificates WHERE subject_id = ? AND status = 'good'", (subject_id,)
                )
            ]
            issued = self._issue_in(conn, subject_id, public_key, subject, key_held_by=_holder(sealed))
            if sealed is not None:
                self._install_server_key(conn, subject_id, sealed, issued)
            for serial in old:
                self._revoke_in(conn, serial, "affiliationChanged")
            remember(conn, idempotency_key, "reissue", digest, issued.to_json(), self._now_iso())
            return issued

    def reset_subject(self, subject_id: str, new_passphrase: str, idempotency_key: str) -> IssuedCertificate:
        """Forgotten passphrase (088.13): new server key + certificate under the new passphrase, old revoked.

        The old key is overwritten (it was wrapped under a passphrase nobody knows any more), so it can
        never sign again, and the LOCK goes with it.
        """
        digest = self._digest("reset_subject", {"subject_id": subject_id})
        with self.store.read() as conn:
            done, result = replay(conn, idempotency_key, "reset_subject", digest)
        if done:
            return self._repeat_under_passphrase(subject_id, new_passphrase, result)
        key, sealed = self._new_server_key(subject_id, new_passphrase)
        with self.store.write() as conn:
            done, result = replay(conn, idempotency_key, "reset_subject", digest)
            if done:
                return IssuedCertificate.from_json(result)
            previous = self._server_key_serial(conn, subject_id)
            if previous is None:
                self._load_subject(conn, subject_id)  # UnknownSubject if not registered at all
                raise NoServerKey("subject has no server-held key to reset")
            issued = self._issue_in(conn, subject_id, key.public_key(), key_held_by="psre")
            self._install_server_key(conn, subject_id, sealed, issued)
            self._revoke_if_good(conn, previous, "superseded")
            remember(conn, idempotency_key, "reset_subject", digest, issued.to_json(), self._now_iso())
            return issued
