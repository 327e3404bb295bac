"""With a remote PSrE, validation and archive renewal get revocation data (and timestamps) from its endpoints.

The remote PSrE here is a second Sertel: its embedded PSrE's RA API (PsreWsgiApp, /api/...) and the app's own
public PKI endpoints (/pki/crl, /pki/ocsp, /pki/ca.cer, ...) behind one test server on 127.0.0.1, with the
PSrE's certificates naming that server's URLs.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.serialization import Encoding
from flask import Flask
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore

from engine.models import Document, db
from engine.services import archive_refresh, documents
from pki import archive
from pki.embedded import EmbeddedPSrE
from pki.http_client import HttpPSrE
from pki.http_server import PsreWsgiApp
from pki.signing import RevocationMaterial, sign_pdf
from pki.validation import validate_pdf
from tests.conftest import build_app
from tests.pki.ades_oracle import adesverify
from tests.pki.hostile_builders import owner_key
from tests.pki.pki_builders import bulk_revoke, one_page_pdf


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        """Keep the test output clean."""


@dataclass
class Dispatch:
    """/pki/... to the PSrE's public endpoints (a Sertel app), everything else to its RA API; paths recorded."""

    pki: Flask
    api: PsreWsgiApp
    paths: list[str] = field(default_factory=list)
    down: set[str] = field(default_factory=set)  # paths that answer 503 (a responder that is down)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.paths.append(environ["PATH_INFO"])
        if environ["PATH_INFO"] in self.down:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        target: Any = self.pki if environ["PATH_INFO"].startswith("/pki/") else self.api
        return target(environ, start_response)  # type: ignore[no-any-return]


@dataclass
class Remote:
    url: str
    psre: EmbeddedPSrE
    dispatch: Dispatch


@pytest.fixture
def remote(tmp_path: Path, psre_template: Path) -> Iterator[Remote]:
    server = make_server("127.0.0.1", 0, lambda e, s: [], handler_class=QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    # A PSrE whose certificates name this server's /pki URLs (CRL distribution points, OCSP, caIssuers).
    psre = EmbeddedPSrE(tmp_path / "remote-state", [Fernet.generate_key().decode()], f"{url}/pki", scrypt_n=1024)
    psre.initialise()
    public = build_app(tmp_path / "remote-app", psre_template)
    public.extensions["sertel.psre"] = psre
    dispatch = Dispatch(public, PsreWsgiApp(psre, "ra-kota", "rahasia-ra"))
    server.set_app(dispatch)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Remote(url, psre, dispatch)
    server.shutdown()
    server.server_close()


def _ra(tmp_path: Path, psre_template: Path, remote: Remote, **overrides: Any) -> Flask:
    return build_app(
        tmp_path / "ra",
        psre_template,
        PSRE="http",
        PSRE_URL=remote.url,
        PSRE_USERNAME="ra-kota",
        PSRE_PASSWORD="rahasia-ra",
        **overrides,
    )


def _validate(app: Flask, pdf: bytes) -> dict[str, Any]:
    response = app.test_client().post("/api/v1/validate", data={"file": (io.BytesIO(pdf), "x.pdf")})
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]



def renew_service_certificates(remote: Remote) -> None:
    """The remote PSrE renews its TSA (and seal) certificates in a later second than it made them: validity
    times have one-second precision, and a renewal would not prove longer if its expiry were the same second."""
    time.sleep(1.05 - time.time() % 1)
    remote.psre.renew_service_certificates(timedelta.max)


def test_validation_with_a_remote_psre_uses_its_crl_and_ocsp_endpoints(
    tmp_path: Path, psre_template: Path, remote: Remote
) -> None:
    ra = _ra(tmp_path, psre_template, remote)
    key = owner_key(remote.psre, "remote")
    stamped = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=remote.psre.timestamper())
    remote.dispatch.paths.clear()
    good = _validate(ra, stamped)
    signature = good["signatures"][0]
    assert good["valid"] and signature["revocation_status"] == "good"
    # The remote TSA's token counts: its certificate's status came from the remote CRL too.
    assert signature["timestamped"] and signature["level"] == "B-T"
    assert "/pki/crl" in remote.dispatch.paths and "/pki/ocsp" in remote.dispatch.paths
    time.sleep(1.1)  # revocation times have one-second precision: revoke clearly after the token's time
    remote.psre.revoke(format(key.certificate.serial_number, "x"), "keyCompromise", "remote/revoke")
    unstamped = sign_pdf(one_page_pdf(), key, reason="r", location="l")
    revoked = _validate(ra, unstamped)["signatures"][0]
    assert revoked["revocation_status"] == "revoked" and not revoked["valid"]
    # Signed (and proven) before the revocation: still valid.
    assert _validate(ra, stamped)["valid"]
    # The RA's own /pki/crl and /pki/ca.cer relay the remote PSrE's current ones.
    relayed = x509.load_der_x509_crl(ra.test_client().get("/pki/crl").get_data())
    assert relayed.get_revoked_certificate_by_serial_number(key.certificate.serial_number) is not None
    issuer = x509.load_der_x509_certificate(ra.test_client().get("/pki/ca.cer").get_data())
    assert issuer.subject == key.certificate.issuer


def test_archive_refresh_with_a_remote_psre_stamps_with_its_tsa_and_embeds_its_crls(
    tmp_path: Path, psre_template: Path, remote: Remote
) -> None:
    ra = _ra(tmp_path, psre_template, remote, ARCHIVE_REFRESH_WINDOW_DAYS=100_000)
    key = owner_key(remote.psre, "archived")
    stamped = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=remote.psre.timestamper())
    # The remote PSrE renewed its TSA certificate since: a new stamp proves longer than the old one.
    renew_service_certificates(remote)
    with ra.app_context():
        document = documents.store_bytes(stamped, "arsip.pdf", "application/pdf", "signed", None, None, "uji")
        db.session.commit()
        report = archive_refresh.refresh_archive("uji")
        assert report.failed == {} and document.id in report.refreshed
        newer = db.session.get(Document, report.refreshed[document.id])
        assert newer is not None and newer.supersedes_id == document.id
        renewed = documents.read(newer)
    assert renewed.startswith(stamped)  # one incremental revision on top, the signed bytes untouched
    reader = PdfFileReader(io.BytesIO(renewed), strict=False)
    assert len(list(reader.embedded_timestamp_signatures)) == 1
    assert "/pki/tsa" not in remote.dispatch.paths and "/api/ra/tsa" in remote.dispatch.paths
    # Offline, with nothing but what the PDF now embeds: B-LTA, the signature timestamp's TSA status known.
    offline = validate_pdf(renewed, remote.psre.root_certificate_pem())
    assert offline.valid, offline.to_dict()
    assert offline.signatures[0].level == "B-LTA" and offline.signatures[0].timestamped


def _renew(ra: Flask, pdf: bytes) -> bytes:
    """Store the PDF in the RA's archive, run the renewal job, return the renewed PDF."""
    with ra.app_context():
        document = documents.store_bytes(pdf, "arsip.pdf", "application/pdf", "signed", None, None, "uji")
        db.session.commit()
        report = archive_refresh.refresh_archive("uji")
        assert report.failed == {} and document.id in report.refreshed
        newer = db.session.get(Document, report.refreshed[document.id])
        assert newer is not None
        return documents.read(newer)


def _dss(pdf: bytes) -> tuple[list[asn1_crl.CertificateList], int]:
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(pdf), strict=False))
    return [asn1_crl.CertificateList.load(ref.get_object().data) for ref in dss.crls], len(list(dss.ocsps))


def _pyhanko_verdict(pdf: bytes, root_pem: str) -> bool:
    """pyHanko alone, hard-fail, anchored at the root, with only what the PDF embeds (DSS)."""
    root = asn1_x509.Certificate.load(x509.load_pem_x509_certificate(root_pem.encode()).public_bytes(Encoding.DER))
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = DocumentSecurityStore.read_dss(reader)
    kwargs = {"trust_roots": [root], "allow_fetching": False, "revocation_mode": "hard-fail"}
    ok = True
    for stamp in reader.embedded_timestamp_signatures:
        status = validate_pdf_timestamp(stamp, validation_context=dss.as_validation_context(kwargs))
        ok = ok and bool(status.intact and status.valid and status.trusted)
    for signature in reader.embedded_regular_signatures:
        status = validate_pdf_signature(signature, signer_validation_context=dss.as_validation_context(kwargs))
        ok = ok and status.bottom_line and status.timestamp_validity is not None and status.timestamp_validity.trusted
    return ok


def _offline_valid(pdf: bytes, psre: EmbeddedPSrE) -> None:
    """Valid with nothing but what the PDF embeds: our validator, pyHanko hard-fail, pyHanko's PAdES LTA."""
    root_pem = psre.root_certificate_pem()
    offline = validate_pdf(pdf, root_pem)
    assert offline.simple_verdict == "Sah", offline.to_dict()
    assert offline.signatures[0].level == "B-LTA" and offline.signatures[0].timestamped
    assert all(t.valid for t in offline.document_timestamps)
    assert _pyhanko_verdict(pdf, root_pem)
    assert adesverify(pdf, root_pem, RevocationMaterial()) == [("TOTAL_PASSED", "OK", True)]


REVOKED = 2_000


def test_archive_renewal_through_a_remote_psre_embeds_ocsp_answers_not_its_crl(
    tmp_path: Path, psre_template: Path, remote: Remote
) -> None:
    bulk_revoke(remote.psre, REVOKED)
    full_crl = remote.psre.crl_der()
    assert len(x509.load_der_x509_crl(full_crl)) == REVOKED and len(full_crl) > 90_000
    ra = _ra(tmp_path, psre_template, remote, ARCHIVE_REFRESH_WINDOW_DAYS=100_000)
    key = owner_key(remote.psre, "archived")
    stamped = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=remote.psre.timestamper())
    renew_service_certificates(remote)
    remote.dispatch.paths.clear()

    renewed = _renew(ra, stamped)

    assert renewed.startswith(stamped)
    assert "/pki/ocsp" in remote.dispatch.paths and "/pki/crl" not in remote.dispatch.paths
    crls, ocsps = _dss(renewed)
    # OCSP for the signer, the signature timestamp's TSA and the renewed TSA; the only CRL is the root's.
    assert ocsps >= 3
    assert crls and all(len(c["tbs_cert_list"]["revoked_certificates"]) == 0 for c in crls)
    root = x509.load_pem_x509_certificate(remote.psre.root_certificate_pem().encode())
    assert all(c["tbs_cert_list"]["issuer"].dump() == root.subject.public_bytes() for c in crls)
    assert len(renewed) - len(stamped) < 30_000, len(renewed) - len(stamped)
    # The old way (whole CRLs, HttpPSrE.revocation_material()) carried the 2,000 entries along.
    http = HttpPSrE(remote.url, "ra-kota", "rahasia-ra")
    old = archive.add_archive_timestamp(stamped, http.timestamper(), [root], http.revocation_material())
    assert len(old) - len(stamped) > len(full_crl) > 3 * (len(renewed) - len(stamped))
    _offline_valid(renewed, remote.psre)
    # Not vacuous: before the renewal the PDF carries no revocation data, and offline it is not proven.
    assert adesverify(stamped, remote.psre.root_certificate_pem(), RevocationMaterial())[0][0] != "TOTAL_PASSED"


def test_archive_renewal_falls_back_to_the_crl_and_says_so_when_ocsp_is_unreachable(
    tmp_path: Path, psre_template: Path, remote: Remote, caplog: pytest.LogCaptureFixture
) -> None:
    ra = _ra(tmp_path, psre_template, remote, ARCHIVE_REFRESH_WINDOW_DAYS=100_000, PSRE_RETRIES=0)
    key = owner_key(remote.psre, "fallback")
    stamped = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=remote.psre.timestamper())
    renew_service_certificates(remote)
    remote.dispatch.down.update({"/pki/ocsp", "/api/ra/ocsp"})  # the responder and the PSrE's relay

    with caplog.at_level(logging.INFO, logger="pki.http_client"):
        renewed = _renew(ra, stamped)

    fallbacks = [r for r in caplog.records if "falling back to its CRL" in r.getMessage()]
    assert len(fallbacks) >= 3 and all(r.levelno == logging.WARNING for r in fallbacks)
    assert any(key.certificate.subject.rfc4514_string() in r.getMessage() for r in fallbacks)
    crls, ocsps = _dss(renewed)
    assert ocsps == 0
    issuing = x509.load_pem_x509_certificates(remote.psre.ca_chain_pem().encode())[0]
    assert any(c["tbs_cert_list"]["issuer"].dump() == issuing.subject.public_bytes() for c in crls)
    _offline_valid(renewed, remote.psre)


def test_archive_renewal_of_a_since_revoked_signer_embeds_the_crl_to_show_it_was_good_before(
    tmp_path: Path, psre_template: Path, remote: Remote, caplog: pytest.LogCaptureFixture
) -> None:
    ra = _ra(tmp_path, psre_template, remote, ARCHIVE_REFRESH_WINDOW_DAYS=100_000)
    key = owner_key(remote.psre, "revoked-later")
    stamped = sign_pdf(one_page_pdf(), key, reason="r", location="l", timestamper=remote.psre.timestamper())
    renew_service_certificates(remote)
    time.sleep(1.1)  # revocation times have one-second precision: revoke clearly after the token's time
    remote.psre.revoke(format(key.certificate.serial_number, "x"), "keyCompromise", "remote/revoke-later")

    with caplog.at_level(logging.INFO, logger="pki.http_client"):
        renewed = _renew(ra, stamped)

    assert any("is revoked: its CRL is embedded instead" in r.getMessage() for r in caplog.records)
    crls, ocsps = _dss(renewed)
    assert ocsps >= 2  # both TSAs' answers; the signer is covered by the CRL
    issuing = x509.load_pem_x509_certificates(remote.psre.ca_chain_pem().encode())[0]
    assert any(c["tbs_cert_list"]["issuer"].dump() == issuing.subject.public_bytes() for c in crls)
    # Signed and proven before the revocation: still valid offline (our validator and pyHanko's PAdES LTA).
    offline = validate_pdf(renewed, remote.psre.root_certificate_pem())
    assert offline.simple_verdict == "Sah", offline.to_dict()
    assert adesverify(renewed, remote.psre.root_certificate_pem(), RevocationMaterial()) == [
        ("TOTAL_PASSED", "OK", True)
    ]
