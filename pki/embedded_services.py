"""The embedded PSrE's publications and services: CRL/OCSP, timestamp authority, RA seal, LTV material."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from pki import anchor_proof, ca_rollover, status
from pki.embedded_core import EmbeddedCore
from pki.errors import NotInitialised
from pki.key_backend import PKCS11_PREFIX
from pki.keywrap import CaPrivateKey
from pki.psre import CertificateStatus
from pki.service_certs import (
    ServiceIdentity,
    issue_ra_seal_identity,
    issue_tsa_identity,
    load_service_identity,
)
from pki.signing import PdfSigningKey, RaSeal, RevocationMaterial
from pki.store import Connection, get_meta, set_meta
from pki.tsa import PsreTimeStamper

# A root CRL is signed by an operator command, so it covers a long period (CA/B BR allow 12 months).
ROOT_CRL_VALIDITY = timedelta(days=365)
# The PSrE's own service certificates, so OCSP and the CRL can speak about them like any other.
SERVICE_SCHEMA = """CREATE TABLE IF NOT EXISTS service_certificates (
    serial_hex TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    not_after TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'good' CHECK (status IN ('good', 'revoked')),
    revoked_at TEXT,
    reason TEXT
)"""
SERVICES = {"tsa": issue_tsa_identity, "ra_seal": issue_ra_seal_identity}
# A cached service identity this close to expiry is re-read from the store (the scheduler may have renewed it).
RELOAD_MARGIN = timedelta(days=30)
# LTV/validation OCSP answers are reused this long while no CRL was published since (no revocation).
OCSP_REUSE = timedelta(minutes=5)
OCSP_CACHE_SIZE = 1024


def _revoked_entries(rows: list[Any]) -> list[status.RevokedEntry]:
    """CRL entries from rows of (serial_hex, revoked_at, reason, invalidity_date)."""
    return [
        status.RevokedEntry(
            int(r["serial_hex"], 16),
            datetime.fromisoformat(r["revoked_at"]),
            r["reason"],
            datetime.fromisoformat(r["invalidity_date"]) if r["invalidity_date"] else None,
        )
        for r in rows
    ]


def _record_service(conn: Connection, name: str, certificate: x509.Certificate) -> None:
    """Record a service certificate (idempotent) so OCSP and the CRL can speak about it."""
    conn.execute(SERVICE_SCHEMA)
    conn.execute(
        "INSERT INTO service_certificates (serial_hex, name, not_after) VALUES (?, ?, ?)"
        " ON CONFLICT (serial_hex) DO NOTHING",
        (format(certificate.serial_number, "x"), name, certificate.not_valid_after_utc.isoformat()),
    )


class EmbeddedServices(EmbeddedCore):
    """Adds the TSA and the RA seal (created at initialise, or lazily for older states) to the core."""

    _identities: dict[str, ServiceIdentity]
    _timestamper: PsreTimeStamper | None = None
    _ra_seal: RaSeal | None = None

    def initialise(self) -> bool:
        """Create the CA hierarchy if absent, then any missing service certificate (TSA, RA seal)."""
        created = super().initialise()
        for name in SERVICES:
            certificate = self._service(name).certificate
            with self.store.write() as conn:
                # Also records the certificates of states made before this table existed.
                _record_service(conn, name, certificate)
        # States made before CRLs were stored get their first ones here (initialise is an operator step).
        with self.store.read() as conn:
            missing = [name for name in ("crl_der", "root_crl_der") if get_meta(conn, name) is None]
        with self.store.read() as conn:
            retired_missing = any(get_meta(conn, f"retired_issuing_{n}_crl_der") is None for n in self._retired(conn))
        if "crl_der" in missing or retired_missing:
            self.publish_crl()
        if "root_crl_der" in missing:
            self.publish_root_crl()
        return created

    def _service(self, name: str) -> ServiceIdentity:
        cache: dict[str, ServiceIdentity] = self.__dict__.setdefault("_identities", {})
        cached = cache.get(name)
        # Another process (the scheduler) renews service certificates: a cached one about to expire is
        # replaced by whatever the store holds now.
        if cached is not None and cached.certificate.not_valid_after_utc - self.clock() > RELOAD_MARGIN:
            return cached
        issuing = self._ca()
        with self.store.read() as conn:
            pem, token = get_meta(conn, f"{name}_pem"), get_meta(conn, f"{name}_key")
        if pem is None or token is None:
            # States made before the TSA/seal existed get them on first use; the write lock and the
            # re-check make concurrent first uses agree on one certificate.
            with self.store.write() as conn:
                pem, token = get_meta(conn, f"{name}_pem"), get_meta(conn, f"{name}_key")
                if pem is None or token is None:
                    identity = SERVICES[name](issuing, self.clock(), self.keys)
                    pem, token = identity.certificate_pem.encode(), identity.wrapped_key(self.kek_keys)
                    set_meta(conn, f"{name}_pem", pem)
                    set_meta(conn, f"{name}_key", token)
                    _record_service(conn, name, identity.certificate)
        if cached is None or cached.certificate_pem.encode() != pem:
            cache[name] = load_service_identity(pem, token, self.kek_keys, self.keys)
        return cache[name]

    def rollover_issuing_ca(self) -> x509.Certificate:
        """Put a new issuing CA (under the same root) in charge of all new issuance; return its certificate.

        The retired CA's certificate and key stay (KEK-wrapped) so it keeps signing CRLs for the certificates
        it issued until they expire. The TSA and RA seal are re-issued under the new CA at once. Other
        processes keep their loaded CA until restarted.
        """
        current = self._ca()
        with self.store.write() as conn:
            generation = int(get_meta(conn, "issuing_generation") or b"1")
            root_token, issuing_pem, issuing_token = (
                get_meta(conn, "root_key"),
                get_meta(conn, "issuing_pem"),
                get_meta(conn, "issuing_key"),
            )
            assert root_token is not None and issuing_pem is not None and issuing_token is not None
            certificate, wrapped = ca_rollover.new_issuing_ca(
                current.root_certificate,
                self.keys.load(root_token),
                self.keys,
                self.base_url,
                generation + 1,
                self.clock(),
            )
            set_meta(conn, f"retired_issuing_{generation}_pem", issuing_pem)
            set_meta(conn, f"retired_issuing_{generation}_key", issuing_token)
            set_meta(conn, "issuing_pem", certificate.public_bytes(serialization.Encoding.PEM))
            set_meta(conn, "issuing_key", wrapped)
            set_meta(conn, "issuing_generation", str(generation + 1).encode())
        self._issuing_ca = None
        self.publish_crl()  # the stored CRL served and embedded from now on is the new CA's
        self.renew_service_certificates(timedelta.max)
        return certificate

    # --- issuing-CA generations (one per rollover) ----------------------------------------------------

    def current_generation(self) -> int:
        """The generation of the issuing CA in charge now (1 until the first `sertel pki rollover`)."""
        return self._ca().generation

    def _retired(self, conn: Connection) -> dict[int, tuple[x509.Certificate, bytes]]:
        """Retired issuing CAs by generation: certificate and key reference."""
        generation = int(get_meta(conn, "issuing_generation") or b"1")
        retired = {}
        for n in range(1, generation):
            pem, token = get_meta(conn, f"retired_issuing_{n}_pem"), get_meta(conn, f"retired_issuing_{n}_key")
            if pem is not None and token is not None:
                retired[n] = (x509.load_pem_x509_certificate(pem), token)
        return retired

    def _retired_key(self, generation: int, token: bytes) -> CaPrivateKey:
        cache: dict[int, CaPrivateKey] = self.__dict__.setdefault("_retired_keys", {})
        if generation not in cache:
            cache[generation] = self.keys.load(token)
        return cache[generation]

    def _publish_retired_crls_in(self, conn: Connection, revoked: list[status.RevokedEntry]) -> None:
        """Sign and store the CRL of every retired issuing CA that has not expired (with its own key and number)."""
        now = self.clock().replace(microsecond=0)
        for n, (certificate, token) in self._retired(conn).items():
            if certificate.not_valid_after_utc <= now:
                continue  # its certificates have all expired with it
            number = int(get_meta(conn, f"retired_issuing_{n}_crl_number") or b"0") + 1
            key = self._retired_key(n, token)
            crl = ca_rollover.retired_crl(certificate, key, revoked, number, now, now + self.crl_next_update)
            set_meta(conn, f"retired_issuing_{n}_crl_number", str(number).encode())
            set_meta(conn, f"retired_issuing_{n}_crl_der", crl.public_bytes(serialization.Encoding.DER))

    def retired_crls_der(self) -> list[bytes]:
        """The stored CRLs of the retired issuing CAs still valid, re-published first where missing or run out."""
        now = self.clock()
        with self.store.read() as conn:
            retired = self._retired(conn)
            stored = {n: get_meta(conn, f"retired_issuing_{n}_crl_der") for n in retired}
        live = {n: der for n, der in stored.items() if retired[n][0].not_valid_after_utc > now}
        stale = [
            n for n, der in live.items() if der is None or (x509.load_der_x509_crl(der).next_update_utc or now) <= now
        ]
        if stale:
            self.publish_crl()  # publishes every generation together, as the scheduler does
            with self.store.read() as conn:
                live = {n: get_meta(conn, f"retired_issuing_{n}_crl_der") for n in live}
        return [der for der in live.values() if der is not None]

    def crl_der_of(self, generation: int) -> bytes:
        """The stored CRL of one issuing-CA generation (what its certificates' CRL URL serves); never signs."""
        if generation == self.current_generation():
            return self.crl_der()
        return self._stored(f"retired_issuing_{generation}_crl_der")

    def issuing_certificate_of(self, generation: int) -> x509.Certificate:
        """The certificate of one issuing-CA generation (current or retired); NotInitialised if there is none."""
        if generation == self.current_generation():
            return self._ca().certificate
        with self.store.read() as conn:
            found = self._retired(conn).get(generation)
        if found is None:
            raise NotInitialised(f"no issuing CA of generation {generation}")
        return found[0]

    def issuing_generation_of(self, certificate: x509.Certificate) -> int | None:
        """Which issuing-CA generation issued a certificate (by issuer name and signature), if one of ours did."""
        with self.store.read() as conn:
            candidates = {n: cert for n, (cert, _) in self._retired(conn).items()}
        candidates[self.current_generation()] = self._ca().certificate
        for n, issuer in candidates.items():
            if certificate.issuer == issuer.subject:
                try:
                    certificate.verify_directly_issued_by(issuer)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return n
        return None

    def renew_service_certificates(self, window: timedelta) -> list[str]:
        """Re-issue (new key) every service certificate that expires within `window`; return their names.

        The old certificates stay valid until they expire, so tokens and seals made with them still verify.
        A certificate is not re-issued when the issuing CA's own expiry would not let the new one live longer.
        """
        issuing = self._ca()
        now = self.clock()
        renewed: list[str] = []
        with self.store.write() as conn:
            superseded = json.loads(get_meta(conn, "superseded_service_keys") or b"[]")
            for name, issue in SERVICES.items():
                pem = get_meta(conn, f"{name}_pem")
                current = None if pem is None else x509.load_pem_x509_certificate(pem).not_valid_after_utc
                if current is not None and (
                    current - now > window or issuing.certificate.not_valid_after_utc <= current
                ):
                    continue
                old_reference = get_meta(conn, f"{name}_key")
                identity = issue(issuing, now, self.keys)
                set_meta(conn, f"{name}_pem", identity.certificate_pem.encode())
                set_meta(conn, f"{name}_key", identity.wrapped_key(self.kek_keys))
                # Recorded like the first one, so OCSP answers "good" for it rather than "unknown".
                _record_service(conn, name, identity.certificate)
                if old_reference is not None and current is not None and old_reference.startswith(PKCS11_PREFIX):
                    # A token key outlives its reference: it is destroyed once its certificate has expired
                    # (until then another process may still sign with it, as it may with a software key).
                    superseded.append({"reference": old_reference.decode(), "not_after": current.isoformat()})
                renewed.append(name)
            expired = [s for s in superseded if datetime.fromisoformat(s["not_after"]) <= now]
            for entry in expired:
                self.keys.destroy(entry["reference"].encode())
            kept = [s for s in superseded if s not in expired]
            set_meta(conn, "superseded_service_keys", json.dumps(kept).encode())
        for name in renewed:
            self.__dict__.get("_identities", {}).pop(name, None)
        return renewed

    def _chain(self) -> list[x509.Certificate]:
        issuing = self._ca()
        return [issuing.certificate, issuing.root_certificate]

    # --- publication: CRLs and OCSP ------------------------------------------------------------------------------

    def _publish_crl_in(self, conn: Connection) -> bytes:
        """Sign the issuing CA's next CRL inside the caller's transaction and store it for serving."""
        issuing = self._ca()
        number = int(get_meta(conn, "crl_number") or b"0") + 1
        conn.execute(SERVICE_SCHEMA)  # states from before service certificates were recorded
        rows = conn.execute(
            "SELECT c.serial_hex, c.revoked_at, c.reason, i.invalidity_date FROM certificates c"
            " LEFT JOIN invalidity_dates i ON i.serial_hex = c.serial_hex WHERE c.status = 'revoked'"
            " UNION ALL SELECT serial_hex, revoked_at, reason, NULL FROM service_certificates WHERE status = 'revoked'"
        ).fetchall()
        revoked = _revoked_entries(rows)
        now = self.clock().replace(microsecond=0)
        crl = status.build_crl(
            issuing.certificate, issuing.private_key, revoked, number, now, now + self.crl_next_update
        )
        der = crl.public_bytes(serialization.Encoding.DER)
        set_meta(conn, "crl_number", str(number).encode())
        set_meta(conn, "crl_der", der)
        # Retired issuing CAs publish on the same events and schedule, each with its own key, until they expire.
        self._publish_retired_crls_in(conn, revoked)
        return der

    def _after_revocation(self, conn: Connection) -> None:
        # Published in the revoking transaction: the revocation and the CRL listing it commit together.
        self._publish_crl_in(conn)

    def publish_crl(self) -> bytes:
        """Sign and store new CRLs of the issuing CA and the retired ones (scheduler, `sertel pki crl`).

        Returns the current issuing CA's CRL.
        """
        with self.store.write() as conn:
            return self._publish_crl_in(conn)

    def publish_root_crl(self, validity: timedelta = ROOT_CRL_VALIDITY) -> bytes:
        """Sign and store the root's CRL for `validity` (operator command only: unwraps the root key)."""
        issuing = self._ca()
        with self.store.write() as conn:
            token = get_meta(conn, "root_key")
            if token is None:
                raise NotInitialised("the root key is not in this state (kept offline); load it to sign")
            number = int(get_meta(conn, "root_crl_number") or b"0") + 1
            root_key = self.keys.load(token)
            now = self.clock().replace(microsecond=0)
            # Empty: the only certificate the root signs (the issuing CA) is never revoked here.
            crl = status.build_crl(issuing.root_certificate, root_key, [], number, now, now + validity)
            der = crl.public_bytes(serialization.Encoding.DER)
            set_meta(conn, "root_crl_number", str(number).encode())
            set_meta(conn, "root_crl_der", der)
            return der

    def _stored(self, name: str) -> bytes:
        if not self.store.exists():
            raise NotInitialised("PSrE state not found; run initialise()")
        with self.store.read() as conn:
            der = get_meta(conn, name)
        if der is None:
            raise NotInitialised(f"no {name} published yet; run initialise() or `sertel pki crl`")
        return der

    def crl_der(self) -> bytes:
        """Return the stored CRL of the issuing CA as published; reading never signs anything."""
        return self._stored("crl_der")

    def root_crl_der(self) -> bytes:
        """Return the stored root CRL as published by `sertel pki root-crl`; reading never signs anything."""
        return self._stored("root_crl_der")

    def _current_root_crl(self) -> bytes:
        """The stored root CRL for LTV material, re-published first once it has run out.

        Validation data must carry a current root CRL. With the root key in this state (the embedded default)
        an expired one is replaced here, never on a GET; with the root kept offline the stored one is used
        as it is, and the operator's yearly `sertel pki root-crl` keeps sealing and archive renewal working.
        """
        der = self.root_crl_der()
        next_update = x509.load_der_x509_crl(der).next_update_utc
        if next_update is None or next_update <= self.clock():
            # With the root key offline the operator publishes the root CRL; the stored one is used as it is.
            with contextlib.suppress(NotInitialised):
                der = self.publish_root_crl()
        return der

    def _current_crl(self) -> bytes:
        """The stored CRL, replaced first if its nextUpdate has passed (for LTV material, not for GETs)."""
        der = self.crl_der()
        next_update = x509.load_der_x509_crl(der).next_update_utc
        if next_update is None or next_update <= self.clock():
            der = self.publish_crl()
        return der

    def certificate_status(self, serial_hex: str) -> CertificateStatus:
        """Return good / revoked / unknown for a serial, the PSrE's own service certificates included."""
        found = super().certificate_status(serial_hex)
        if found.status != "unknown":
            return found
        try:
            with self.store.read() as conn:
                row = conn.execute(
                    "SELECT status, revoked_at, reason, not_after FROM service_certificates WHERE serial_hex = ?",
                    (found.serial_hex,),
                ).fetchone()
        except sqlite3.OperationalError:
            row = None  # a state from before service certificates were recorded (until `sertel init`)
        if row is None:
            return found
        return CertificateStatus(
            serial_hex=found.serial_hex,
            status="revoked" if row["status"] == "revoked" else "good",
            reason=row["reason"],
            revoked_at=datetime.fromisoformat(row["revoked_at"]) if row["revoked_at"] else None,
            not_after=datetime.fromisoformat(row["not_after"]),
        )

    def ocsp_response_der(self, request_der: bytes, validity: timedelta | None = None) -> bytes:
        """Answer a DER OCSP request about certificates of the issuing CA, or of a retired one still valid.

        The CA named by the request's CertIDs answers, signing with its own key (RFC 6960 4.2.2.2: the CA
        that issued the certificate); the first CA that is authoritative for any CertID answers the request.
        `validity` (nextUpdate - thisUpdate) defaults to the responder's `ocsp_next_update`.
        """
        issuing = self._ca()
        now = self.clock().replace(microsecond=0)

        def answer(certificate: x509.Certificate, key: CaPrivateKey) -> bytes:
            return status.build_ocsp_response(
                request_der,
                certificate,
                key,
                lambda serial: self.certificate_status(format(serial, "x")),
                now,
                validity or self.ocsp_next_update,
            )

        response = answer(issuing.certificate, issuing.private_key)
        if ocsp.load_der_ocsp_response(response).response_status != ocsp.OCSPResponseStatus.UNAUTHORIZED:
            return response
        with self.store.read() as conn:
            retired = self._retired(conn)
        for n, (certificate, token) in sorted(retired.items(), reverse=True):
            if certificate.not_valid_after_utc <= now:
                continue
            candidate = answer(certificate, self._retired_key(n, token))
            if ocsp.load_der_ocsp_response(candidate).response_status != ocsp.OCSPResponseStatus.UNAUTHORIZED:
                return candidate
        return response

    # --- timestamp authority ------------------------------------------------------------------------

    def timestamper(self) -> PsreTimeStamper:
        """Return the in-process RFC 3161 TSA (a pyHanko TimeStamper; no HTTP needed)."""
        identity = self._service("tsa")
        if self._timestamper is None or self._timestamper.identity is not identity:
            self._timestamper = PsreTimeStamper(identity, self._chain(), self.clock)
        return self._timestamper

    def tsa_response_der(self, request_der: bytes) -> bytes:
        """Answer an RFC 3161 TimeStampReq (DER) with a TimeStampResp (DER), e.g. for POST /pki/tsa."""
        return self.timestamper().respond_der(request_der)

    def tsa_certificate_pem(self) -> str:
        """Return the TSA certificate, PEM."""
        return self._service("tsa").certificate_pem

    # --- RA seal --------------------------------------------------------------------------------------

    def ra_seal(self) -> RaSeal:
        """Return the RA's seal, prepared once (key loaded, chain parsed) and reused for every document."""
        identity, timestamper = self._service("ra_seal"), self.timestamper()
        seal = self._ra_seal
        if seal is None or seal.certificate is not identity.certificate or seal.timestamper is not timestamper:
            key = PdfSigningKey(identity.private_key, identity.certificate, self._chain())
            self._ra_seal = seal = RaSeal(key, timestamper, self)
        return seal

    def seal_digest(self, digest: bytes) -> bytes:
        """Seal a digest with the RA seal key: a detached signature (e.g. over an audit-log anchor)."""
        return anchor_proof.seal_digest(self._service("ra_seal").private_key, digest)

    def ra_seal_certificate_pem(self) -> str:
        """Return the RA seal certificate, PEM."""
        return self._service("ra_seal").certificate_pem

    # --- revocation material for LTV and validation ------------------------------------------------

    def _ocsp_for(self, certificate: x509.Certificate) -> tuple[bytes | None, bool]:
        """A recent OCSP answer about one of our certificates (signed by the CA generation that issued it),
        and whether it says revoked.

        An answer is reused for up to `OCSP_REUSE` while the stored CRL number is unchanged: every revocation
        publishes a CRL in its own transaction, so a revocation (in any process) is answered at once.
        """
        now = self.clock()
        with self.store.read() as conn:
            epoch = get_meta(conn, "crl_number")
        cache: dict[bytes, tuple[bytes | None, datetime, bytes, bool]] = self.__dict__.setdefault("_ocsp_answers", {})
        key = certificate.fingerprint(hashes.SHA256())
        hit = cache.get(key)
        if hit is not None and hit[0] == epoch and timedelta(0) <= now - hit[1] <= OCSP_REUSE:
            return hit[2], hit[3]
        generation = self.issuing_generation_of(certificate)
        if generation is None:
            return None, False
        issuing = self.issuing_certificate_of(generation)
        request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuing, hashes.SHA256()).build()
        # Embedded instead of the CRL, the answer promises what the CRL promised: its validity period.
        response = self.ocsp_response_der(request.public_bytes(serialization.Encoding.DER), self.crl_next_update)
        answer = ocsp.load_der_ocsp_response(response)
        if answer.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None, False
        revoked = answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
        if len(cache) > OCSP_CACHE_SIZE:
            cache.clear()
        cache[key] = (epoch, now, response, revoked)
        return response, revoked

    def archive_revocation_material(self, certificates: list[x509.Certificate]) -> RevocationMaterial:
        """Return revocation data for an archive renewal: the PSrE's own signers (TSA, RA seal) are all the
        certificates its archive holds, so `certificates` adds nothing to revocation_material()."""
        del certificates
        return self.revocation_material()

    def revocation_material(self, certificate: x509.Certificate | None = None) -> RevocationMaterial:
        """Return compact revocation info for LTV and validation: OCSP answers and the root's CRL.

        OCSP answers cover `certificate` (one of our leaves) and the PSrE's current TSA certificate (a
        timestamp counts only when its TSA's status is known), or without a certificate (archive renewal)
        the TSA and RA seal certificates; the root's CRL covers the issuing CAs. The issuing CA's CRL lists
        every certificate ever revoked (530 KB at 10,000) and would be embedded in every signed PDF, so it
        is left out, except when one of those certificates is revoked: an OCSP "revoked" answer cannot show
        that the certificate was still good at an earlier proven signing time, a CRL can (validation in the
        past). A revoked certificate cannot sign, so this never reaches a new signature. Nothing here signs
        a CRL unless a stored one has run out.
        """
        if not self.store.exists():
            raise NotInitialised("PSrE state not found; run initialise()")
        tsa = self._service("tsa").certificate
        if certificate is None:
            targets = [tsa, self._service("ra_seal").certificate]
        else:
            targets = [certificate] if certificate == tsa else [certificate, tsa]
        answers = [self._ocsp_for(c) for c in targets]
        ocsps = [der for der, _ in answers if der is not None]
        if any(revoked for _, revoked in answers):
            return RevocationMaterial(crls=self.crl_material().crls, ocsps=ocsps)
        return RevocationMaterial(crls=[self._current_root_crl()], ocsps=ocsps)

    def crl_material(self) -> RevocationMaterial:
        """Return every CRL the PSrE publishes (issuing CA, root, retired issuing CAs), current ones."""
        if not self.store.exists():
            raise NotInitialised("PSrE state not found; run initialise()")
        return RevocationMaterial(crls=[self._current_crl(), self._current_root_crl(), *self.retired_crls_der()])
