"""Tests of HttpPSrE against the WSGI server over a real socket: round trips, retries, error mapping."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pki_builders import make_csr, make_subject, one_page_pdf

from pki.embedded import EmbeddedPSrE
from pki.errors import (
    LOCKED_MESSAGE,
    SUSPENDED_MESSAGE,
    AlreadyRevoked,
    KeyLocked,
    KeySuspended,
    NoServerKey,
    RemotePsreError,
    UnknownSubject,
    WrongPassphrase,
)
from pki.http_client import HttpPSrE
from pki.http_server import PsreWsgiApp
from pki.psre import PSrE, SubjectStatus

USER, PASSWORD = "ra-pekalongan", "rahasia-api-1"
PASSPHRASE = "rahasia123"


class FailOnce:
    """Test-only middleware: the first request to `path` gets a 503, after (or instead of) processing it."""

    def __init__(self, app: Callable[..., Iterable[bytes]], path: str, process_first: bool) -> None:
        """Wrap `app`; record every request to `path` with its Idempotency-Key."""
        self.app, self.path, self.process_first = app, path, process_first
        self.seen: list[str | None] = []
        self.armed = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Fail the first matching request once armed, pass everything else through."""
        if self.path not in environ["PATH_INFO"]:
            return self.app(environ, start_response)
        self.seen.append(environ.get("HTTP_IDEMPOTENCY_KEY"))
        if self.armed:
            self.armed = False
            if self.process_first:  # the PSrE did the work, then the answer was lost (crash, proxy)
                list(self.app(environ, lambda *a: None))
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"temporarily unavailable"]
        return self.app(environ, start_response)


class Quiet(WSGIRequestHandler):
    """Request handler that does not log every request to stderr."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay silent."""


@pytest.fixture
def server(psre: EmbeddedPSrE) -> Iterator[tuple[str, dict[str, FailOnce]]]:
    """Serve the PSrE on 127.0.0.1, a random port, with fault injectors on issue and sign."""
    issue = FailOnce(PsreWsgiApp(psre, USER, PASSWORD), "/certificates", process_first=True)
    sign = FailOnce(issue, "/api/v2/sign/pdf", process_first=False)
    httpd = make_server("127.0.0.1", 0, sign, handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", {"issue": issue, "sign": sign}
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client(server: tuple[str, dict[str, FailOnce]]) -> HttpPSrE:
    """A client with fast backoff."""
    return HttpPSrE(server[0], USER, PASSWORD, timeout=30, retries=3, backoff_seconds=0.01)


def test_round_trip_of_every_call(client: HttpPSrE, psre: EmbeddedPSrE) -> None:
    assert isinstance(client, PSrE)
    nik = make_subject().nik
    assert client.subject_status(nik) == SubjectStatus.NOT_REGISTERED
    subject_id = client.register_subject(make_subject(), "reg-1")
    assert client.register_subject(make_subject(), "reg-1") == subject_id
    assert client.subject_status(nik) == SubjectStatus.NO_CERTIFICATE
    from_csr = client.issue_from_csr(subject_id, make_csr(), "issue-1")
    assert client.certificate_status(from_csr.serial_hex).status == "good"
    renewed = client.renew(from_csr.serial_hex, make_csr(), None, "renew-1")
    assert client.certificate_status(from_csr.serial_hex).reason == "superseded"
    reissued = client.reissue(subject_id, make_subject(agency="BKPSDM"), make_csr(), None, "reissue-1")
    assert client.certificate_status(renewed.serial_hex).reason == "affiliationChanged"
    esign = client.issue_with_server_key(subject_id, PASSPHRASE, "esign-1")
    signed = client.sign_pdf(nik, PASSPHRASE, one_page_pdf(), "Menyetujui", "Kota Pekalongan")
    verified = client.verify_pdf(signed)
    assert verified["conclusion"] == "VALID" and verified["signatureCount"] == 1
    assert client.verify_pdf(one_page_pdf())["conclusion"] == "NO_SIGNATURE"
    chain = client.certificate_chain_pem(nik)
    assert x509.load_pem_x509_certificate(chain[0].encode()).serial_number == int(esign.serial_hex, 16)
    reset = client.reset_subject(subject_id, "baru98765", "reset-1")
    assert client.certificate_status(esign.serial_hex).status == "revoked"
    client.revoke(reissued.serial_hex, "keyCompromise", "revoke-1")
    client.revoke(reissued.serial_hex, "keyCompromise", "revoke-1")  # a retried revoke is harmless
    with pytest.raises(AlreadyRevoked):
        client.revoke(reissued.serial_hex, "keyCompromise", "revoke-2")
    crl = x509.load_der_x509_crl(client.crl_der())
    assert crl.get_revoked_certificate_by_serial_number(int(reissued.serial_hex, 16)) is not None
    assert client.root_certificate_pem() == psre.root_certificate_pem()
    assert client.ca_chain_pem() == psre.ca_chain_pem()
    issuing = x509.load_pem_x509_certificates(client.ca_chain_pem().encode())[0]
    leaf = x509.load_pem_x509_certificate(reset.certificate_pem.encode())
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuing, hashes.SHA256()).build()
    answer = ocsp.load_der_ocsp_response(client.ocsp_response_der(request.public_bytes(serialization.Encoding.DER)))
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert client.subject_status(subject_id) == SubjectStatus.ISSUE


def test_suspension_refusal_and_invalidity_date_cross_http(client: HttpPSrE, psre: EmbeddedPSrE) -> None:
    subject_id = client.register_subject(make_subject(), "reg-1")
    esign = client.issue_with_server_key(subject_id, PASSPHRASE, "esign-1")
    assert client.suspend_server_key(esign.serial_hex, "suspend-1") is True
    with pytest.raises(KeySuspended) as refused:
        client.sign_pdf(make_subject().nik, PASSPHRASE, one_page_pdf(), "r", "l")
    assert str(refused.value) == SUSPENDED_MESSAGE
    assert client.lift_server_key_suspension(esign.serial_hex, "lift-1") is True
    assert client.sign_pdf(make_subject().nik, PASSPHRASE, one_page_pdf(), "r", "l").startswith(b"%PDF")
    incident = psre.clock().replace(microsecond=0) - timedelta(days=1)
    client.revoke(esign.serial_hex, "keyCompromise", "revoke-1", incident)
    status = client.certificate_status(esign.serial_hex)
    assert status.invalidity_date == incident and status.key_destroyed is True
    assert [e.event for e in psre.key_events(subject_id)] == ["suspended", "suspension_lifted", "destroyed"]


def test_a_5xx_after_issuing_is_retried_with_the_same_key_and_issues_once(
    client: HttpPSrE, server: tuple[str, dict[str, FailOnce]], psre: EmbeddedPSrE
) -> None:
    subject_id = client.register_subject(make_subject(), "reg-1")
    injector = server[1]["issue"]
    injector.armed = True
    issued = client.issue_from_csr(subject_id, make_csr(), "case-7/activate")
    assert injector.seen == ["case-7/activate", "case-7/activate"]
    assert psre.current_certificate(subject_id).serial_hex == issued.serial_hex
    with psre.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM certificates").fetchone()[0] == 1


def test_a_sign_call_is_never_retried(client: HttpPSrE, server: tuple[str, dict[str, FailOnce]]) -> None:
    subject_id = client.register_subject(make_subject(), "reg-1")
    client.issue_with_server_key(subject_id, PASSPHRASE, "esign-1")
    injector = server[1]["sign"]
    injector.armed = True
    with pytest.raises(RemotePsreError) as error:
        client.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    assert error.value.status_code == 503
    assert len(injector.seen) == 1


def test_bsre_error_codes_map_to_pki_errors(client: HttpPSrE) -> None:
    with pytest.raises(UnknownSubject) as unknown:
        client.sign_pdf("3375010101010001", PASSPHRASE, one_page_pdf(), "r", "l")
    assert unknown.value.error_code == 2011
    subject_id = client.register_subject(make_subject(), "reg-1")
    with pytest.raises(NoServerKey) as missing:
        client.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    assert missing.value.error_code == 2021
    client.issue_with_server_key(subject_id, PASSPHRASE, "esign-1")
    remaining = []
    for _ in range(5):
        with pytest.raises(WrongPassphrase) as wrong:
            client.sign_pdf(subject_id, "salah12345", one_page_pdf(), "r", "l")
        assert wrong.value.error_code == 2031
        remaining.append(wrong.value.remaining_attempts)
    assert remaining == [4, 3, 2, 1, 0]
    with pytest.raises(KeyLocked) as locked:
        client.sign_pdf(subject_id, PASSPHRASE, one_page_pdf(), "r", "l")
    assert str(locked.value) == LOCKED_MESSAGE


def test_bad_credentials_and_missing_idempotency_key_are_4xx(server: tuple[str, dict[str, FailOnce]]) -> None:
    with pytest.raises(RemotePsreError) as denied:
        HttpPSrE(server[0], USER, "wrong", retries=0).root_certificate_pem()
    assert denied.value.status_code == 401
    raw = requests.post(f"{server[0]}/api/ra/subjects", json={}, auth=(USER, PASSWORD), timeout=10)
    assert raw.status_code == 400 and "Idempotency-Key" in raw.json()["error"]


def test_unreachable_psre_fails_clearly_after_retries() -> None:
    with pytest.raises(RemotePsreError, match="unreachable"):
        HttpPSrE("http://127.0.0.1:9", USER, PASSWORD, timeout=1, retries=2, backoff_seconds=0.01).crl_der()
