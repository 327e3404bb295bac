"""The embedded PSrE's books as the RA may read them: outcomes of idempotent calls and the certificate list."""

from __future__ import annotations

import json
from datetime import datetime

from pki.embedded_services import EmbeddedServices
from pki.errors import IdempotencyConflict, NoServerKey, WrongPassphrase
from pki.psre import CallOutcome, CertificateRecord, IssuedCertificate


class EmbeddedBooks(EmbeddedServices):
    """Read-only views that let the RA recover from a crash and reconcile its inventory."""

    def outcome(self, idempotency_key: str) -> CallOutcome | None:
        """Return the operation and first result stored under an idempotency key, or None."""
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT operation, result_json, created_at FROM idempotency WHERE key = ?", (idempotency_key,)
            ).fetchone()
        if row is None:
            return None
        return CallOutcome(
            idempotency_key=idempotency_key,
            operation=str(row["operation"]),
            result=json.loads(row["result_json"]),
            created_at=datetime.fromisoformat(row["created_at"]),
        )

    def list_certificates(self) -> list[CertificateRecord]:
        """Every certificate issued here, oldest first, with the LOCK state of a server-held key."""
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT c.serial_hex, c.subject_id, c.status, c.spki_sha256, c.not_after, c.reason,"
                " s.serial_hex IS NOT NULL AS server_key, k.locked_at, k.failed_attempts"
                " FROM certificates c"
                " LEFT JOIN server_key_certificates s ON s.serial_hex = c.serial_hex"
                " LEFT JOIN esign_keys k ON k.owner_id = c.subject_id AND s.serial_hex IS NOT NULL"
                " ORDER BY c.issued_at, c.rowid"
            ).fetchall()
        return [
            CertificateRecord(
                serial_hex=str(row["serial_hex"]),
                subject_id=str(row["subject_id"]),
                status="revoked" if row["status"] == "revoked" else "good",
                spki_sha256=str(row["spki_sha256"]),
                not_after=datetime.fromisoformat(row["not_after"]),
                reason=row["reason"],
                server_key=bool(row["server_key"]),
                locked=row["locked_at"] is not None or int(row["failed_attempts"] or 0) >= self.keystore.max_attempts,
            )
            for row in rows
        ]

    def _repeat_under_passphrase(self, subject_id: str, passphrase: str, result: object) -> IssuedCertificate:
        """A repeat of a server-key call must carry the passphrase the key was sealed under.

        A retry after the RA rolled back with a new passphrase would otherwise adopt a key its owner
        cannot open. unlock() counts a wrong attempt like any other, so this is no free passphrase oracle.
        """
        assert isinstance(result, dict)
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT serial_hex FROM server_key_certificates WHERE subject_id = ?", (subject_id,)
            ).fetchone()
        if row is None or row["serial_hex"] != result.get("serial_hex"):
            # The key of that result was replaced since (a later call made a new one): it is gone for good,
            # and unlocking the current key would wrongly vouch for a certificate of another key.
            raise IdempotencyConflict("the server key this request made was replaced since; it cannot be adopted")
        try:
            self.keystore.unlock(subject_id, passphrase)
        except NoServerKey as exc:
            # Its certificate was revoked meanwhile (a retry superseded it) and the key destroyed with it.
            raise IdempotencyConflict(
                "the server key this request made was destroyed since; it cannot be adopted"
            ) from exc
        except WrongPassphrase as exc:
            raise IdempotencyConflict(
                "this request was already served with another passphrase; repeat it with that passphrase"
            ) from exc
        return IssuedCertificate.from_json(result)
