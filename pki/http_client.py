"""HttpPSrE: the PSrE adapter over HTTP (BSrE Esign v2 shapes + our /api/ra endpoints) with safe retries."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import requests
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID
from pyhanko.sign.timestamps import TimeStamper

from pki import errors
from pki.errors import PkiError, RemotePsreError
from pki.psre import (
    CallOutcome,
    CertificateRecord,
    CertificateStatus,
    IssuedCertificate,
    SubjectInfo,
    SubjectStatus,
)
from pki.signing import RevocationMaterial

logger = logging.getLogger(__name__)

# Error classes the server may name in `type`; BSrE's own codes take precedence (see _raise).
_ERROR_TYPES: dict[str, type[PkiError]] = {
    name: cls for name, cls in vars(errors).items() if isinstance(cls, type) and issubclass(cls, PkiError)
}
_BSRE_CODES: dict[int, type[PkiError]] = {2011: errors.UnknownSubject, 2021: errors.NoServerKey}


class RemoteTimeStamper(TimeStamper):
    """pyHanko's view of the remote PSrE's TSA: each request goes to its RFC 3161 endpoint over the adapter."""

    def __init__(self, psre: HttpPSrE) -> None:
        """Send every TimeStampReq through `psre.tsa_response_der`."""
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]  # pyHanko leaves it unannotated
        self.psre = psre

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """Submit the request to the remote TSA (in a thread: the adapter's HTTP client blocks)."""
        der = await asyncio.to_thread(self.psre.tsa_response_der, req.dump())
        return tsp.TimeStampResp.load(der)


def _urls(certificate: x509.Certificate, extension: type[Any]) -> list[str]:
    try:
        value = certificate.extensions.get_extension_for_class(extension).value
    except x509.ExtensionNotFound:
        return []
    if isinstance(value, x509.CRLDistributionPoints):
        return [str(n.value) for p in value for n in p.full_name or [] if isinstance(n, x509.UniformResourceIdentifier)]
    return [
        str(a.access_location.value)
        for a in value
        if a.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(a.access_location, x509.UniformResourceIdentifier)
    ]


class HttpPSrE:
    """A remote PSrE. Mutating calls are retried on 5xx/connection errors with the same Idempotency-Key;
    a sign call is never retried (a retry could sign twice and would count twice towards LOCK)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        timeout: float = 10,
        retries: int = 3,
        backoff_seconds: float = 0.2,
        session: requests.Session | None = None,
    ) -> None:
        """Configure the endpoint, credentials, per-request timeout and retry policy."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.session = session or requests.Session()
        self.session.auth = (username, password)

    # --- transport -------------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
        retry: bool = True,
        params: dict[str, str] | None = None,
    ) -> requests.Response:
        headers = {"Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if content_type is not None:
            headers["Content-Type"] = content_type
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    json=json_body,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    params=params,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise RemotePsreError(f"PSrE unreachable: {type(exc).__name__}") from exc
            else:
                if response.status_code < 500:
                    if response.status_code >= 400:
                        self._raise(response)
                    return response
                if last:
                    self._raise(response)
            time.sleep(self.backoff_seconds * 2**attempt)
        raise AssertionError("unreachable")  # the loop always returns or raises

    @staticmethod
    def _raise(response: requests.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = body.get("status_code") if isinstance(body, dict) else None
        message = str(body.get("error") or response.reason) if isinstance(body, dict) else response.reason
        if code == 2031:
            raise errors.WrongPassphrase(int(body.get("remaining_attempts", 0)))
        if code == 2032 or body.get("type") == "KeyLocked":
            raise errors.KeyLocked()
        if code == 2033 or body.get("type") == "KeySuspended":
            raise errors.KeySuspended()
        if code in _BSRE_CODES:
            raise _BSRE_CODES[code](message)
        cls = _ERROR_TYPES.get(str(body.get("type")))
        if cls is not None and cls not in (errors.WrongPassphrase, RemotePsreError):
            raise cls(message)
        raise RemotePsreError(f"PSrE answered HTTP {response.status_code}: {message}", response.status_code, code)

    def _json(self, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
        return self._request(method, path, json_body=body, idempotency_key=key).json()

    # --- PSrE protocol -----------------------------------------------------------------------------------

    def register_subject(self, subject: SubjectInfo, idempotency_key: str) -> str:
        """Register or update a subject."""
        return str(
            self._json("POST", "/api/ra/subjects", {"subject": dataclasses.asdict(subject)}, idempotency_key)[
                "subject_id"
            ]
        )

    def issue_from_csr(self, subject_id: str, csr_pem: str, idempotency_key: str) -> IssuedCertificate:
        """Issue from a CSR."""
        body = self._json("POST", f"/api/ra/subjects/{subject_id}/certificates", {"csr_pem": csr_pem}, idempotency_key)
        return IssuedCertificate.from_json(body)

    def issue_with_server_key(self, subject_id: str, passphrase: str, idempotency_key: str) -> IssuedCertificate:
        """Issue with a key generated and held by the PSrE."""
        body = self._json(
            "POST", f"/api/ra/subjects/{subject_id}/server-key", {"passphrase": passphrase}, idempotency_key
        )
        return IssuedCertificate.from_json(body)

    def revoke(
        self, serial_hex: str, reason: str, idempotency_key: str, invalidity_date: datetime | None = None
    ) -> None:
        """Revoke with an RFC 5280 reason name (and the invalidity date of a compromised key)."""
        body: dict[str, Any] = {"reason": reason}
        if invalidity_date is not None:
            body["invalidity_date"] = invalidity_date.isoformat()
        self._json("POST", f"/api/ra/certificates/{serial_hex}/revoke", body, idempotency_key)

    def suspend_server_key(self, serial_hex: str, idempotency_key: str) -> bool:
        """Suspend signing with the certificate's server-held key; False if it certifies none."""
        return bool(self._json("POST", f"/api/ra/certificates/{serial_hex}/suspend", {}, idempotency_key)["suspended"])

    def lift_server_key_suspension(self, serial_hex: str, idempotency_key: str) -> bool:
        """Lift that suspension; False if none was in force."""
        path = f"/api/ra/certificates/{serial_hex}/lift-suspension"
        return bool(self._json("POST", path, {}, idempotency_key)["lifted"])

    def renew(
        self, serial_hex: str, csr_pem: str | None, passphrase: str | None, idempotency_key: str
    ) -> IssuedCertificate:
        """Renew with a new key (CSR or server-held)."""
        body = {"csr_pem": csr_pem, "passphrase": passphrase}
        return IssuedCertificate.from_json(
            self._json("POST", f"/api/ra/certificates/{serial_hex}/renew", body, idempotency_key)
        )

    def reissue(
        self,
        subject_id: str,
        subject: SubjectInfo,
        csr_pem: str | None,
        passphrase: str | None,
        idempotency_key: str,
    ) -> IssuedCertificate:
        """Re-issue after a data change."""
        body = {"subject": dataclasses.asdict(subject), "csr_pem": csr_pem, "passphrase": passphrase}
        return IssuedCertificate.from_json(
            self._json("POST", f"/api/ra/subjects/{subject_id}/reissue", body, idempotency_key)
        )

    def reset_subject(self, subject_id: str, new_passphrase: str, idempotency_key: str) -> IssuedCertificate:
        """Reset a (locked) server key under a new passphrase (the remote PSrE's own reset)."""
        body = {"new_passphrase": new_passphrase}
        return IssuedCertificate.from_json(
            self._json("POST", f"/api/ra/subjects/{subject_id}/reset", body, idempotency_key)
        )

    def sign_pdf(
        self,
        subject_id_or_nik: str,
        passphrase: str,
        pdf_bytes: bytes,
        reason: str,
        location: str,
        visible: bool = True,
    ) -> bytes:
        """Sign with the server-held key via BSrE's /api/v2/sign/pdf; never retried."""
        body = {
            "nik": subject_id_or_nik,
            "passphrase": passphrase,
            "signatureProperties": [
                {"tampilan": "VISIBLE" if visible else "INVISIBLE", "reason": reason, "location": location}
            ],
            "file": [base64.b64encode(pdf_bytes).decode()],
        }
        # A per-call key only for tracing on the server; it does not make the call safe to repeat.
        response = self._request(
            "POST", "/api/v2/sign/pdf", json_body=body, idempotency_key=str(uuid.uuid4()), retry=False
        )
        return base64.b64decode(response.json()["file"][0])

    def certificate_status(self, serial_hex: str) -> CertificateStatus:
        """Return good / revoked / unknown for a serial."""
        body = self._json("GET", f"/api/ra/certificates/{serial_hex}")
        return CertificateStatus(
            serial_hex=body["serial_hex"],
            status=body["status"],
            reason=body["reason"],
            revoked_at=datetime.fromisoformat(body["revoked_at"]) if body["revoked_at"] else None,
            not_after=datetime.fromisoformat(body["not_after"]) if body["not_after"] else None,
            invalidity_date=datetime.fromisoformat(body["invalidity_date"]) if body.get("invalidity_date") else None,
            key_destroyed=bool(body.get("key_destroyed")),
        )

    def subject_status(self, subject_id_or_nik: str) -> SubjectStatus:
        """Return the status word via BSrE's /api/v2/user/check/status."""
        return SubjectStatus(self._json("POST", "/api/v2/user/check/status", {"nik": subject_id_or_nik})["status"])

    def outcome(self, idempotency_key: str) -> CallOutcome | None:
        """Ask what the call under this key did; None when the PSrE never saw the key."""
        try:
            body = self._request("GET", "/api/ra/outcomes", params={"key": idempotency_key}).json()
        except RemotePsreError as exc:
            if exc.status_code == 404:
                return None
            raise
        return CallOutcome(
            idempotency_key, body["operation"], body["result"], datetime.fromisoformat(body["created_at"])
        )

    def list_certificates(self) -> list[CertificateRecord]:
        """Every certificate the PSrE issued, with status, key digest and LOCK state."""
        return [CertificateRecord.from_json(row) for row in self._json("GET", "/api/ra/certificates")["certificates"]]

    def verify_pdf(self, pdf_bytes: bytes) -> dict[str, Any]:
        """Ask the PSrE to verify a PDF (BSrE /api/v2/verify/pdf); returns its JSON answer."""
        body = self._json("POST", "/api/v2/verify/pdf", {"file": [base64.b64encode(pdf_bytes).decode()]})
        return dict(body)

    def certificate_chain_pem(self, subject_id_or_nik: str) -> list[str]:
        """Return the subject's certificate and CA chain (BSrE /api/v2/user/certificate/chain/:id)."""
        return list(self._json("GET", f"/api/v2/user/certificate/chain/{subject_id_or_nik}")["data"])

    def crl_der(self) -> bytes:
        """Fetch the issuing CA's current CRL (DER)."""
        return self._request("GET", "/api/ra/crl").content

    def ocsp_response_der(self, request_der: bytes) -> bytes:
        """Relay a DER OCSP request (an OCSP query is read-only, so retrying it is safe)."""
        return self._request("POST", "/api/ra/ocsp", data=request_der, content_type="application/ocsp-request").content

    def tsa_response_der(self, request_der: bytes) -> bytes:
        """Relay a DER RFC 3161 request to the PSrE's TSA."""
        return self._request(
            "POST", "/api/ra/tsa", data=request_der, content_type="application/timestamp-query"
        ).content

    def ca_chain_pem(self) -> str:
        """Return the issuing CA then the root, PEM."""
        return self._request("GET", "/api/ra/ca-chain").text

    def root_certificate_pem(self) -> str:
        """Return the root CA certificate, PEM."""
        return self._request("GET", "/api/ra/root").text

    # --- long-term validation: the remote PSrE's CRLs, OCSP and TSA ----------------------------------------

    def timestamper(self) -> RemoteTimeStamper:
        """Return a pyHanko TimeStamper backed by the remote PSrE's RFC 3161 endpoint (archive renewal)."""
        return RemoteTimeStamper(self)

    def tsa_certificate_pem(self) -> str:
        """Return the certificate the remote TSA signs with now, read from a token it issues (RFC 3161 certReq)."""
        probe = hashlib.sha256(b"sertel: which certificate does the TSA use").digest()
        token: cms.ContentInfo = asyncio.run(self.timestamper().async_timestamp(probe, "sha256"))
        for choice in token["content"]["certificates"] or []:
            certificate = x509.load_der_x509_certificate(choice.chosen.dump())
            try:
                usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            except x509.ExtensionNotFound:
                continue
            if ExtendedKeyUsageOID.TIME_STAMPING in usages:
                return certificate.public_bytes(serialization.Encoding.PEM).decode()
        raise RemotePsreError("the remote TSA's token carries no timeStamping certificate")

    def _public(self) -> requests.Session:
        """A session without the RA's credentials: CRL, OCSP and caIssuers URLs are public and may be elsewhere."""
        session: requests.Session = self.__dict__.setdefault("_public_session", requests.Session())
        return session

    def _fetch_crl(self, url: str) -> bytes | None:
        """GET a CRL from a distribution point, cached until its nextUpdate; None when it cannot be had."""
        cache: dict[str, tuple[bytes, datetime]] = self.__dict__.setdefault("_crl_cache", {})
        lock: threading.Lock = self.__dict__.setdefault("_crl_lock", threading.Lock())
        now = datetime.now(UTC)
        with lock:
            cached = cache.get(url)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            response = self._public().get(url, timeout=self.timeout)
            response.raise_for_status()
            crl = x509.load_der_x509_crl(response.content)
        except (requests.RequestException, ValueError):
            logger.warning("CRL at %s cannot be fetched", url, exc_info=True)
            return None
        with lock:
            cache[url] = (response.content, crl.next_update_utc or now)
        return response.content

    def _fetch_ocsp(self, certificate: x509.Certificate, issuer: x509.Certificate) -> bytes | None:
        """Ask the certificate's OCSP responder (AIA), else the PSrE's relay, about it; only a successful answer."""
        request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
        body = request.public_bytes(serialization.Encoding.DER)
        urls = _urls(certificate, x509.AuthorityInformationAccess)
        for url in urls:
            try:
                response = self._public().post(
                    url, data=body, headers={"Content-Type": "application/ocsp-request"}, timeout=self.timeout
                )
                response.raise_for_status()
                answer = response.content
            except requests.RequestException:
                logger.warning("OCSP responder %s cannot be reached", url, exc_info=True)
                continue
            if _successful(answer):
                return answer
        try:
            answer = self.ocsp_response_der(body)
        except PkiError:
            logger.warning("the PSrE's OCSP relay cannot be reached", exc_info=True)
            return None
        return answer if _successful(answer) else None

    def revocation_material(self, certificate: x509.Certificate | None = None) -> RevocationMaterial:
        """Return current CRLs (and OCSP for `certificate`) from the remote PSrE, for validation and LTV.

        CRLs come from the distribution points named in the certificate and in the PSrE's CA chain (so a retired
        issuing CA's own CRL is used for its certificates), plus the PSrE's current CRL; OCSP from the
        certificate's responder. Nothing is signed or changed at the PSrE; what cannot be fetched is left out
        (the validator then says the status is unknown).
        """
        chain = x509.load_pem_x509_certificates(self.ca_chain_pem().encode())
        issuers = list(chain)
        if certificate is not None and not any(c.subject == certificate.issuer for c in issuers):
            issuers += self._ca_issuers(certificate)
        urls: list[str] = []
        for item in ([certificate] if certificate is not None else []) + issuers:
            urls += [u for u in _urls(item, x509.CRLDistributionPoints) if u not in urls]
        crls = [der for der in (self._fetch_crl(u) for u in urls) if der is not None]
        try:
            current = self.crl_der()
        except PkiError:
            logger.warning("the PSrE's CRL cannot be fetched", exc_info=True)
        else:
            if current not in crls:
                crls.append(current)
        ocsps: list[bytes] = []
        issuer = next((c for c in issuers if certificate is not None and c.subject == certificate.issuer), None)
        if certificate is not None and issuer is not None:
            answer = self._fetch_ocsp(certificate, issuer)
            ocsps += [answer] if answer is not None else []
        return RevocationMaterial(crls=crls, ocsps=ocsps)

    def _crl_of(self, certificate: x509.Certificate, current_issuer: x509.Certificate) -> list[bytes]:
        """The CRL(s) of a certificate's distribution points, or else the PSrE's current CRL if it covers it."""
        crls = [der for der in (self._fetch_crl(u) for u in _urls(certificate, x509.CRLDistributionPoints)) if der]
        if crls or certificate.issuer != current_issuer.subject:
            return crls
        try:
            return [self.crl_der()]
        except PkiError:
            logger.warning("the PSrE's CRL cannot be fetched", exc_info=True)
            return []

    def archive_revocation_material(self, certificates: list[x509.Certificate]) -> RevocationMaterial:
        """Return compact revocation data for an archive renewal: OCSP answers, CRLs only where needed.

        For each end-entity certificate (the PDF's signers and TSAs and the TSA stamping now) an OCSP answer
        from its responder (AIA) or the PSrE's relay; for each CA certificate between them and the root the
        CRL of its distribution point (the root's CRL, which lists CAs only), or its OCSP answer if it names a
        responder. A certificate falls back to its CRL when no usable OCSP answer can be had (logged), and a
        revoked one is covered by its CRL instead of the OCSP answer: pyHanko's LTA validation cannot show from
        an OCSP "revoked" answer that it was still good at an earlier proven time, from the CRL it can. The issuing CA's
        whole CRL is therefore embedded only on a fallback or a revocation, not in every renewed PDF.
        """
        issuers = x509.load_pem_x509_certificates(self.ca_chain_pem().encode())
        current = issuers[0]  # the issuing CA whose CRL /api/ra/crl serves
        crls: list[bytes] = []
        ocsps: list[bytes] = []

        def issuer_of(certificate: x509.Certificate) -> x509.Certificate | None:
            found = next((c for c in issuers if c.subject == certificate.issuer), None)
            if found is None:
                issuers.extend(c for c in self._ca_issuers(certificate) if c not in issuers)
                found = next((c for c in issuers if c.subject == certificate.issuer), None)
            return found

        def add_crls(ders: list[bytes]) -> None:
            crls.extend(der for der in ders if der not in crls)

        cas: list[x509.Certificate] = []
        for certificate in dict.fromkeys(certificates):
            issuer = issuer_of(certificate)
            answer = self._fetch_ocsp(certificate, issuer) if issuer is not None else None
            state = ocsp.load_der_ocsp_response(answer).certificate_status if answer is not None else None
            if answer is not None and state == ocsp.OCSPCertStatus.GOOD:
                ocsps.append(answer)
            elif answer is not None and state == ocsp.OCSPCertStatus.REVOKED:
                # The CRL instead: pyHanko's PAdES LTA validation takes an OCSP "revoked" answer as final
                # (REVOKED_NO_POE) even beside a CRL, and the CRL alone shows the same revocation and its time.
                revoked = self._crl_of(certificate, current)
                logger.info("%s is revoked: its CRL is embedded instead of the OCSP answer", certificate.subject)
                if revoked:
                    add_crls(revoked)
                else:
                    ocsps.append(answer)
            else:
                fallback = self._crl_of(certificate, current)
                logger.warning(
                    "no OCSP answer for %s (serial %x): falling back to its CRL (%d bytes)",
                    certificate.subject.rfc4514_string(),
                    certificate.serial_number,
                    sum(map(len, fallback)),
                )
                add_crls(fallback)
            while issuer is not None and issuer.subject != issuer.issuer and issuer not in cas:
                cas.append(issuer)
                issuer = issuer_of(issuer)
        for ca in cas:  # issuing CAs: their issuer's (the root's) CRL, short; OCSP where they name a responder
            parent = issuer_of(ca)
            answer = (
                self._fetch_ocsp(ca, parent)
                if parent is not None and _urls(ca, x509.AuthorityInformationAccess)
                else None
            )
            if answer is not None:
                ocsps.append(answer)
            else:
                add_crls([der for der in (self._fetch_crl(u) for u in _urls(ca, x509.CRLDistributionPoints)) if der])
        return RevocationMaterial(crls=crls, ocsps=ocsps)

    def _ca_issuers(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        """The issuer of a certificate from its AIA caIssuers URL (a retired issuing CA is not in the chain)."""
        try:
            access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        except x509.ExtensionNotFound:
            return []
        found = []
        for item in access:
            if item.access_method != AuthorityInformationAccessOID.CA_ISSUERS:
                continue
            try:
                response = self._public().get(str(item.access_location.value), timeout=self.timeout)
                response.raise_for_status()
                found.append(x509.load_der_x509_certificate(response.content))
            except (requests.RequestException, ValueError):
                logger.warning("caIssuers %s cannot be fetched", item.access_location.value, exc_info=True)
        return found


def _successful(answer: bytes) -> bool:
    try:
        return ocsp.load_der_ocsp_response(answer).response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    except ValueError:
        return False
