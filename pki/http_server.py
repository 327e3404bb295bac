"""A plain-WSGI server exposing an EmbeddedPSrE: BSrE Esign v2 shapes plus our own /api/ra JSON endpoints.

BSrE-shaped (HTTP Basic auth, JSON, base64 files):
  POST /api/v2/sign/pdf              {nik | id, passphrase, signatureProperties[], file[]} -> {time, file[]}
  POST /api/v2/user/check/status     {nik}  -> {status_code, message, status}
  POST /api/v2/verify/pdf            {file} -> {conclusion, summary, signatureCount, signatureInformations}
  GET  /api/v2/user/certificate/chain/<nik or subject id> -> {status_code, message, data: [PEM, ...]}
Ours (mutating calls need an `Idempotency-Key` header; a repeat returns the first result):
  POST /api/ra/subjects                                {subject}                 -> {subject_id}
  POST /api/ra/subjects/<id>/certificates              {csr_pem}                 -> certificate
  POST /api/ra/subjects/<id>/server-key                {passphrase}              -> certificate
  POST /api/ra/subjects/<id>/reissue                   {subject, csr_pem | passphrase} -> certificate
  POST /api/ra/subjects/<id>/reset                     {new_passphrase}          -> certificate
  GET  /api/ra/subjects/<id or nik>/status                                       -> {status}
  POST /api/ra/certificates/<serial>/revoke            {reason[, invalidity_date]} -> {}
  POST /api/ra/certificates/<serial>/suspend                                     -> {suspended}
  POST /api/ra/certificates/<serial>/lift-suspension                             -> {lifted}
  POST /api/ra/certificates/<serial>/renew             {csr_pem | passphrase}    -> certificate
  GET  /api/ra/certificates/<serial>                                             -> certificate status
  GET  /api/ra/certificates                                                      -> {certificates: [...]}
  GET  /api/ra/outcomes?key=<idempotency key>                   -> {operation, result, created_at} or 404
  GET  /api/ra/crl (DER), POST /api/ra/ocsp (DER), POST /api/ra/tsa (RFC 3161 DER), GET /api/ra/ca-chain,
  GET  /api/ra/root (PEM)
Errors: HTTP 4xx with {status_code, error, type}; 2011 not registered, 2021 no certificate, 2031 wrong
passphrase (+ remaining_attempts), 2032 LOCKED and 2033 suspended after a key-compromise report (our
extensions), 4000 + HTTP status for the rest.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pki.embedded import EmbeddedPSrE
from pki.errors import (
    ActiveKeyExists,
    AlreadyRevoked,
    IdempotencyConflict,
    KeyLocked,
    KeySuspended,
    NoServerKey,
    PkiError,
    UnknownCertificate,
    UnknownSubject,
    WrongPassphrase,
)
from pki.psre import IssuedCertificate, SubjectInfo
from pki.validation import VALID, validate_pdf

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Reply = tuple[int, str, bytes]
MAX_BODY = 50 * 1024 * 1024
HTTP_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    423: "Locked",
    500: "Internal Server Error",
}


class HttpError(Exception):
    """An error answer with a BSrE-style code."""

    def __init__(self, http_status: int, code: int, message: str, **extra: Any) -> None:
        """Keep the HTTP status, the error code and extra JSON fields."""
        super().__init__(message)
        self.http_status, self.code, self.extra = http_status, code, extra


def _pki_error(exc: PkiError) -> HttpError:
    name = type(exc).__name__
    if isinstance(exc, UnknownSubject):
        return HttpError(404, 2011, str(exc), type=name)
    if isinstance(exc, NoServerKey):
        return HttpError(404, 2021, str(exc), type=name)
    if isinstance(exc, WrongPassphrase):
        return HttpError(400, 2031, str(exc), type=name, remaining_attempts=exc.remaining_attempts)
    if isinstance(exc, KeyLocked):
        return HttpError(423, 2032, str(exc), type=name)
    if isinstance(exc, KeySuspended):
        return HttpError(423, 2033, str(exc), type=name)
    status = (
        404
        if isinstance(exc, UnknownCertificate)
        else 409
        if isinstance(exc, (AlreadyRevoked, IdempotencyConflict, ActiveKeyExists))
        else 400
    )
    return HttpError(status, 4000 + status, str(exc), type=name)


def _json(value: Any) -> Reply:
    return 200, "application/json", json.dumps(value).encode()


def _cert(issued: IssuedCertificate) -> Reply:
    return _json(issued.to_json())


class PsreWsgiApp:
    """WSGI callable serving one EmbeddedPSrE to one RA account (HTTP Basic)."""

    def __init__(self, psre: EmbeddedPSrE, username: str, password: str) -> None:
        """Serve `psre`; every request must authenticate as username/password."""
        self.psre = psre
        self._credentials = base64.b64encode(f"{username}:{password}".encode()).decode()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Route one request; PSrE errors become 4xx JSON, never a traceback."""
        try:
            self._authenticate(environ)
            status, content_type, body = self._route(environ)
        except HttpError as exc:
            status, content_type = exc.http_status, "application/json"
            body = json.dumps({"status_code": exc.code, "error": str(exc), **exc.extra}).encode()
        except PkiError as exc:
            error = _pki_error(exc)
            status, content_type = error.http_status, "application/json"
            body = json.dumps({"status_code": error.code, "error": str(error), **error.extra}).encode()
        except Exception:  # noqa: BLE001 - a bug must answer 500 JSON (retryable), never hang the client
            status, content_type = 500, "application/json"
            body = json.dumps({"status_code": 5000, "error": "internal error"}).encode()
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Basic realm="psre"'))
        start_response(f"{status} {HTTP_REASONS.get(status, 'Error')}", headers)
        return [body]

    def _authenticate(self, environ: dict[str, Any]) -> None:
        given = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Basic ").strip()
        if not hmac.compare_digest(given.encode(), self._credentials.encode()):
            raise HttpError(401, 4001, "authentication required")

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            raise HttpError(413, 4013, "request too large")
        return bytes(environ["wsgi.input"].read(length)) if length else b""

    def _json_body(self, environ: dict[str, Any]) -> dict[str, Any]:
        try:
            data = json.loads(self._body(environ) or b"{}")
        except ValueError as exc:
            raise HttpError(400, 4000, "body is not JSON") from exc
        if not isinstance(data, dict):
            raise HttpError(400, 4000, "body must be a JSON object")
        return data

    @staticmethod
    def _key(environ: dict[str, Any]) -> str:
        key: str = environ.get("HTTP_IDEMPOTENCY_KEY", "").strip()
        if not key:
            raise HttpError(400, 4000, "Idempotency-Key header is required")
        return key

    def _route(self, environ: dict[str, Any]) -> Reply:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        for pattern, verb, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match:
                if verb != method:
                    raise HttpError(405, 4005, f"{method} not allowed here")
                return handler(environ, *match.groups())
        raise HttpError(404, 4004, f"no endpoint {path}")

    def _routes(self) -> list[tuple[str, str, Callable[..., Reply]]]:
        return [
            (r"/api/v2/sign/pdf", "POST", self.sign_pdf),
            (r"/api/v2/user/check/status", "POST", self.check_status),
            (r"/api/v2/verify/pdf", "POST", self.verify_pdf),
            (r"/api/v2/user/certificate/chain/([^/]+)", "GET", self.certificate_chain),
            (r"/api/ra/subjects", "POST", self.register),
            (r"/api/ra/subjects/([^/]+)/certificates", "POST", self.issue_from_csr),
            (r"/api/ra/subjects/([^/]+)/server-key", "POST", self.issue_with_server_key),
            (r"/api/ra/subjects/([^/]+)/reissue", "POST", self.reissue),
            (r"/api/ra/subjects/([^/]+)/reset", "POST", self.reset),
            (r"/api/ra/subjects/([^/]+)/status", "GET", self.subject_status),
            (r"/api/ra/certificates/([0-9a-fA-F:]+)/revoke", "POST", self.revoke),
            (r"/api/ra/certificates/([0-9a-fA-F:]+)/renew", "POST", self.renew),
            (r"/api/ra/certificates/([0-9a-fA-F:]+)/suspend", "POST", self.suspend),
            (r"/api/ra/certificates/([0-9a-fA-F:]+)/lift-suspension", "POST", self.lift_suspension),
            (r"/api/ra/certificates/([0-9a-fA-F:]+)", "GET", self.certificate_status),
            (r"/api/ra/certificates", "GET", self.list_certificates),
            (r"/api/ra/outcomes", "GET", self.outcome),
            (r"/api/ra/crl", "GET", lambda e: (200, "application/pkix-crl", self.psre.crl_der())),
            (
                r"/api/ra/ocsp",
                "POST",
                lambda e: (200, "application/ocsp-response", self.psre.ocsp_response_der(self._body(e))),
            ),
            (
                r"/api/ra/tsa",
                "POST",
                lambda e: (200, "application/timestamp-reply", self.psre.tsa_response_der(self._body(e))),
            ),
            (
                r"/api/ra/ca-chain",
                "GET",
                lambda e: (200, "application/pem-certificate-chain", self.psre.ca_chain_pem().encode()),
            ),
            (
                r"/api/ra/root",
                "GET",
                lambda e: (200, "application/x-pem-file", self.psre.root_certificate_pem().encode()),
            ),
        ]

    # --- BSrE Esign Client Service v2 shapes -----------------------------------------------------------

    def sign_pdf(self, environ: dict[str, Any]) -> Reply:
        """Sign every file[] with the owner's server key; one signatureProperties entry per file (or one)."""
        data = self._json_body(environ)
        who = str(data.get("nik") or data.get("id") or "")
        if not who:
            raise HttpError(400, 4000, "nik is required (e-mail lookup is not supported here)")
        files, props = data.get("file") or [], data.get("signatureProperties") or [{}]
        signed, started = [], time.perf_counter()
        for index, encoded in enumerate(files):
            prop = props[min(index, len(props) - 1)]
            try:
                pdf = base64.b64decode(encoded, validate=True)
            except (binascii.Error, TypeError) as exc:
                raise HttpError(400, 4000, "file is not base64") from exc
            output = self.psre.sign_pdf(
                who,
                str(data.get("passphrase") or ""),
                pdf,
                reason=str(prop.get("reason") or "Menyetujui dokumen"),
                location=str(prop.get("location") or "Kota Pekalongan"),
                visible=str(prop.get("tampilan", "VISIBLE")).upper() != "INVISIBLE",
            )
            signed.append(base64.b64encode(output).decode())
        return _json({"time": int((time.perf_counter() - started) * 1000), "file": signed})

    def check_status(self, environ: dict[str, Any]) -> Reply:
        """Return the subject's status word, with BSrE's 2011 / 2021 codes where they apply."""
        status = self.psre.subject_status(str(self._json_body(environ).get("nik") or ""))
        code = {"NOT_REGISTERED": 2011, "NO_CERTIFICATE": 2021}.get(status.value, 1111)
        return _json({"status_code": code, "message": status.value, "status": status.value})

    def verify_pdf(self, environ: dict[str, Any]) -> Reply:
        """Validate a PDF against this PSrE's root and current revocation info."""
        data = self._json_body(environ)
        encoded = data.get("file")
        encoded = encoded[0] if isinstance(encoded, list) and encoded else encoded
        try:
            pdf = base64.b64decode(str(encoded or ""), validate=True)
        except binascii.Error as exc:
            raise HttpError(400, 4000, "file is not base64") from exc
        report = validate_pdf(pdf, self.psre.root_certificate_pem(), self.psre)
        conclusion = "VALID" if report.verdict == VALID else "NO_SIGNATURE" if not report.signatures else "INVALID"
        body = report.to_dict()
        return _json(
            {
                "conclusion": conclusion if report.is_pdf else "NOT_PDF",
                "summary": report.verdict,
                "signatureCount": report.signature_count,
                "signatureInformations": body["signatures"],
            }
        )

    def certificate_chain(self, environ: dict[str, Any], who: str) -> Reply:
        """Return the subject's current certificate then the CA chain, PEM strings."""
        issued = self.psre.current_certificate(who)
        return _json({"status_code": 1111, "message": "OK", "data": [issued.certificate_pem, issued.chain_pem]})

    # --- our RA endpoints ------------------------------------------------------------------------------

    def register(self, environ: dict[str, Any]) -> Reply:
        """Register or update a subject."""
        key, data = self._key(environ), self._json_body(environ)
        try:
            subject = SubjectInfo(**data["subject"])
        except (KeyError, TypeError) as exc:
            raise HttpError(400, 4000, "subject must have name, nik, email, agency, position[, nip]") from exc
        return _json({"subject_id": self.psre.register_subject(subject, key)})

    def issue_from_csr(self, environ: dict[str, Any], subject_id: str) -> Reply:
        """Issue from a CSR."""
        data = self._json_body(environ)
        return _cert(self.psre.issue_from_csr(subject_id, str(data.get("csr_pem", "")), self._key(environ)))

    def issue_with_server_key(self, environ: dict[str, Any], subject_id: str) -> Reply:
        """Issue with a key generated and held here."""
        data = self._json_body(environ)
        return _cert(self.psre.issue_with_server_key(subject_id, str(data.get("passphrase", "")), self._key(environ)))

    def reissue(self, environ: dict[str, Any], subject_id: str) -> Reply:
        """Re-issue after a data change."""
        data = self._json_body(environ)
        try:
            subject = SubjectInfo(**data["subject"])
        except (KeyError, TypeError) as exc:
            raise HttpError(400, 4000, "subject is missing or malformed") from exc
        return _cert(
            self.psre.reissue(subject_id, subject, data.get("csr_pem"), data.get("passphrase"), self._key(environ))
        )

    def reset(self, environ: dict[str, Any], subject_id: str) -> Reply:
        """Reset a (locked) server key under a new passphrase."""
        data = self._json_body(environ)
        return _cert(self.psre.reset_subject(subject_id, str(data.get("new_passphrase", "")), self._key(environ)))

    def subject_status(self, environ: dict[str, Any], who: str) -> Reply:
        """Return the status word of a subject id or NIK."""
        return _json({"status": self.psre.subject_status(who).value})

    def revoke(self, environ: dict[str, Any], serial: str) -> Reply:
        """Revoke with an RFC 5280 reason name and, optionally, an ISO 8601 invalidity date."""
        data = self._json_body(environ)
        try:
            invalidity = datetime.fromisoformat(data["invalidity_date"]) if data.get("invalidity_date") else None
        except (TypeError, ValueError) as exc:
            raise HttpError(400, 4000, "invalidity_date must be an ISO 8601 date-time") from exc
        self.psre.revoke(serial, str(data.get("reason", "")), self._key(environ), invalidity)
        return _json({})

    def suspend(self, environ: dict[str, Any], serial: str) -> Reply:
        """Suspend signing with the certificate's server-held key (key-compromise report filed)."""
        return _json({"suspended": self.psre.suspend_server_key(serial, self._key(environ))})

    def lift_suspension(self, environ: dict[str, Any], serial: str) -> Reply:
        """Lift that suspension (report rejected)."""
        return _json({"lifted": self.psre.lift_server_key_suspension(serial, self._key(environ))})

    def renew(self, environ: dict[str, Any], serial: str) -> Reply:
        """Renew with a new key."""
        data = self._json_body(environ)
        return _cert(self.psre.renew(serial, data.get("csr_pem"), data.get("passphrase"), self._key(environ)))

    def certificate_status(self, environ: dict[str, Any], serial: str) -> Reply:
        """Return good / revoked / unknown with reason and times."""
        status = self.psre.certificate_status(serial)
        return _json(
            {
                "serial_hex": status.serial_hex,
                "status": status.status,
                "reason": status.reason,
                "revoked_at": status.revoked_at.isoformat() if status.revoked_at else None,
                "not_after": status.not_after.isoformat() if status.not_after else None,
                "invalidity_date": status.invalidity_date.isoformat() if status.invalidity_date else None,
                "key_destroyed": status.key_destroyed,
            }
        )

    def list_certificates(self, environ: dict[str, Any]) -> Reply:
        """Return every certificate issued here with status, key digest and LOCK state."""
        return _json({"certificates": [record.to_json() for record in self.psre.list_certificates()]})

    def outcome(self, environ: dict[str, Any]) -> Reply:
        """Return what the call under ?key= did (404 when the key was never used)."""
        key = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("key", [""])[0]
        if not key:
            raise HttpError(400, 4000, "key is required")
        found = self.psre.outcome(key)
        if found is None:
            raise HttpError(404, 4004, "no call under this idempotency key")
        return _json({"operation": found.operation, "result": found.result, "created_at": found.created_at.isoformat()})
