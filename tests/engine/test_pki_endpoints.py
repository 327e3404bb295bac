"""The app's public PKI endpoints answer OpenSSL: CRL (with -crl_check) and OCSP over POST and GET."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from engine import jobs
from engine.cli import pki_crl, pki_root_crl
from engine.jobs import build_scheduler
from tests.engine.test_reminders import issue_certificate
from tests.pki.hostile_builders import owner_key


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)


def write_certificates(api: Any, app: Any, client: Any, tmp_path: Path) -> str:
    issue_certificate(api)
    pemohon = api("pemohon")
    case_id = pemohon.get("/tasks").get_json()["mine"][0]["case_id"]
    serial = pemohon.get(f"/cases/{case_id}").get_json()["certificates"][0]["serial"]
    leaf, issuing, root = pemohon.get(f"/certificates/{serial}").get_data(as_text=True).split("-----END CERTIFICATE-----\n")[:3]
    end = "-----END CERTIFICATE-----\n"
    (tmp_path / "leaf.pem").write_text(leaf + end)
    (tmp_path / "issuing.pem").write_text(issuing + end)
    (tmp_path / "root.pem").write_text(root + end)
    (tmp_path / "chain.pem").write_text(issuing + end + root + end)
    return serial


def crl_pem(client: Any, path: str) -> str:
    return x509.load_der_x509_crl(client.get(path).get_data()).public_bytes(serialization.Encoding.PEM).decode()


def test_crl_check_passes_then_reports_the_revocation(api: Any, app: Any, client: Any, tmp_path: Path) -> None:
    serial = write_certificates(api, app, client, tmp_path)

    def verify() -> subprocess.CompletedProcess[str]:
        (tmp_path / "crls.pem").write_text(crl_pem(client, "/pki/crl") + crl_pem(client, "/pki/root-crl"))
        return openssl("verify", "-crl_check_all", "-CRLfile", "crls.pem", "-CAfile", "chain.pem", "leaf.pem", cwd=tmp_path)

    assert verify().returncode == 0
    app.extensions["sertel.psre"].revoke(serial, "keyCompromise", "test/revoke")
    result = verify()
    assert result.returncode != 0 and "certificate revoked" in result.stdout + result.stderr


def test_ocsp_over_get_and_post_answers_openssl(api: Any, app: Any, client: Any, tmp_path: Path) -> None:
    serial = write_certificates(api, app, client, tmp_path)
    made = openssl("ocsp", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-no_nonce", "-reqout", "req.der", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    request = (tmp_path / "req.der").read_bytes()

    def check(response: bytes) -> str:
        (tmp_path / "resp.der").write_bytes(response)
        result = openssl("ocsp", "-respin", "resp.der", "-issuer", "issuing.pem", "-cert", "leaf.pem", "-CAfile", "chain.pem", "-no_nonce", cwd=tmp_path)
        return result.stdout + result.stderr

    posted = client.post("/pki/ocsp", data=request, content_type="application/ocsp-request")
    assert "Response verify OK" in check(posted.get_data()) and "leaf.pem: good" in check(posted.get_data())
    app.extensions["sertel.psre"].revoke(serial, "affiliationChanged", "test/revoke")
    fetched = client.get("/pki/ocsp/" + quote(base64.b64encode(request).decode(), safe=""))
    assert fetched.headers["Content-Type"] == "application/ocsp-response"
    assert "leaf.pem: revoked" in check(fetched.get_data())


def crl_number(der: bytes) -> int:
    return x509.load_der_x509_crl(der).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_crl_gets_are_served_from_storage_with_cache_headers(app: Any, client: Any) -> None:
    for path in ("/pki/crl", "/pki/root-crl"):
        first, second = client.get(path), client.get(path)
        assert first.status_code == 200 and first.get_data() == second.get_data()
        crl = x509.load_der_x509_crl(first.get_data())
        assert crl_number(second.get_data()) == crl_number(first.get_data())
        assert first.last_modified == crl.last_update_utc
        assert first.expires == crl.next_update_utc
        assert first.cache_control.public and 0 <= first.cache_control.max_age <= 366 * 86400


def test_revocation_publishes_the_next_crl_and_gets_do_not(api: Any, app: Any, client: Any, tmp_path: Path) -> None:
    serial = write_certificates(api, app, client, tmp_path)
    before = client.get("/pki/crl").get_data()
    app.extensions["sertel.psre"].revoke(serial, "keyCompromise", "test/revoke-crl")
    after = client.get("/pki/crl").get_data()
    assert crl_number(after) == crl_number(before) + 1
    assert x509.load_der_x509_crl(after).get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    assert client.get("/pki/crl").get_data() == after


def test_crl_commands_and_the_scheduler_job_publish_new_crls(app: Any, client: Any) -> None:
    before, root_before = client.get("/pki/crl").get_data(), client.get("/pki/root-crl").get_data()
    result = app.test_cli_runner().invoke(pki_crl)
    assert result.exit_code == 0, result.output
    assert crl_number(client.get("/pki/crl").get_data()) == crl_number(before) + 1
    build_scheduler(app, 30, blocking=False)  # binds the jobs to this app
    jobs.publish_crl()
    assert crl_number(client.get("/pki/crl").get_data()) == crl_number(before) + 2
    assert client.get("/pki/root-crl").get_data() == root_before
    result = app.test_cli_runner().invoke(pki_root_crl)
    assert result.exit_code == 0, result.output
    root = x509.load_der_x509_crl(client.get("/pki/root-crl").get_data())
    assert crl_number(root.public_bytes(serialization.Encoding.DER)) == crl_number(root_before) + 1
    assert (root.next_update_utc - root.last_update_utc).days == app.config["SERTEL"]["ROOT_CRL_VALIDITY_DAYS"]


def test_ocsp_answers_several_certificates_including_the_psre_service_certificates(
    api: Any, app: Any, client: Any, tmp_path: Path
) -> None:
    serial = write_certificates(api, app, client, tmp_path)
    psre = app.extensions["sertel.psre"]
    (tmp_path / "tsa.pem").write_text(client.get("/pki/tsa.pem").get_data(as_text=True))
    (tmp_path / "seal.pem").write_text(psre.ra_seal_certificate_pem())
    certs = ["-cert", "leaf.pem", "-cert", "tsa.pem", "-cert", "seal.pem"]

    def ask() -> tuple[Any, str]:
        assert openssl("ocsp", "-issuer", "issuing.pem", *certs, "-reqout", "req.der", cwd=tmp_path).returncode == 0
        answer = client.post("/pki/ocsp", data=(tmp_path / "req.der").read_bytes(), content_type="application/ocsp-request")
        (tmp_path / "resp.der").write_bytes(answer.get_data())
        # With -cert, openssl builds a new request (new nonce): the nonce is checked against req.der separately.
        nonce = openssl("ocsp", "-reqin", "req.der", "-respin", "resp.der", "-CAfile", "chain.pem", cwd=tmp_path)
        assert "Response verify OK" in nonce.stderr and "nonce" not in (nonce.stdout + nonce.stderr).lower()
        checked = openssl("ocsp", "-respin", "resp.der", "-issuer", "issuing.pem", *certs, "-CAfile", "chain.pem", "-no_nonce", cwd=tmp_path)
        return answer, checked.stdout + checked.stderr

    answer, output = ask()
    assert answer.status_code == 200 and "Response verify OK" in output
    assert "leaf.pem: good" in output and "tsa.pem: good" in output and "seal.pem: good" in output
    single = next(ocsp.load_der_ocsp_response(answer.get_data()).responses)
    assert answer.expires == single.next_update_utc and answer.last_modified is not None
    assert answer.cache_control.public and answer.cache_control.max_age > 0
    psre.revoke(serial, "keyCompromise", "test/revoke-ocsp")
    _, output = ask()
    assert "leaf.pem: revoked" in output and "tsa.pem: good" in output and "seal.pem: good" in output


def tsa_reply(client: Any, tmp_path: Path, *query_options: str) -> str:
    (tmp_path / "data.txt").write_text("dokumen")
    made = openssl("ts", "-query", "-data", "data.txt", "-sha256", *query_options, "-out", "req.tsq", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    answer = client.post("/pki/tsa", data=(tmp_path / "req.tsq").read_bytes(), content_type="application/timestamp-query")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/timestamp-reply"
    (tmp_path / "resp.tsr").write_bytes(answer.get_data())
    assert "Status: Granted." in openssl("ts", "-reply", "-in", "resp.tsr", "-text", cwd=tmp_path).stdout
    assert openssl("ts", "-reply", "-in", "resp.tsr", "-token_out", "-out", "token.der", cwd=tmp_path).returncode == 0
    return openssl("pkcs7", "-inform", "DER", "-in", "token.der", "-print_certs", cwd=tmp_path).stdout


def test_tsa_puts_certificates_in_the_token_only_when_cert_req_is_set(client: Any, tmp_path: Path) -> None:
    assert "BEGIN CERTIFICATE" in tsa_reply(client, tmp_path, "-cert")
    assert "BEGIN CERTIFICATE" not in tsa_reply(client, tmp_path)


def test_tsa_rejects_a_malformed_request_with_bad_data_format(client: Any, tmp_path: Path) -> None:
    tsa_reply(client, tmp_path, "-cert")
    truncated = (tmp_path / "req.tsq").read_bytes()[:-7]
    for body in (b"bukan permintaan", truncated, b""):
        answer = client.post("/pki/tsa", data=body, content_type="application/timestamp-query")
        assert answer.status_code == 200
        (tmp_path / "bad.tsr").write_bytes(answer.get_data())
        text = openssl("ts", "-reply", "-in", "bad.tsr", "-text", cwd=tmp_path).stdout
        assert "Status: Rejected." in text and "Failure info: the data submitted has the wrong format" in text


def test_ca_issuers_urls_serve_the_ca_certificates(api: Any, app: Any, client: Any, tmp_path: Path) -> None:
    write_certificates(api, app, client, tmp_path)
    leaf = x509.load_pem_x509_certificate((tmp_path / "leaf.pem").read_bytes())
    issuing = x509.load_pem_x509_certificate((tmp_path / "issuing.pem").read_bytes())
    root = x509.load_pem_x509_certificate((tmp_path / "root.pem").read_bytes())
    for child, parent in ((leaf, issuing), (issuing, root)):
        access = child.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        url = next(a.access_location.value for a in access if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS)
        served = client.get(urlsplit(url).path)
        assert served.headers["Content-Type"] == "application/pkix-cert"
        assert x509.load_der_x509_certificate(served.get_data()) == parent


def test_after_rollover_each_generation_url_serves_its_own_ca_and_ocsp_answers_for_the_old_one(
    app: Any, client: Any, tmp_path: Path
) -> None:
    psre = app.extensions["sertel.psre"]
    old = owner_key(psre, "old")
    kept = owner_key(psre, "kept")
    old_ca = x509.load_pem_x509_certificates(psre.ca_chain_pem().encode())[0]
    new_ca = psre.rollover_issuing_ca()
    new = owner_key(psre, "new")
    psre.revoke(format(old.certificate.serial_number, "x"), "keyCompromise", "test/revoke-old")

    def crl_of(certificate: x509.Certificate) -> x509.CertificateRevocationList:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        response = client.get(urlsplit(points[0].full_name[0].value).path)
        assert response.status_code == 200 and response.headers["Cache-Control"].startswith("public")
        return x509.load_der_x509_crl(response.get_data())

    def issuer_url_of(certificate: x509.Certificate) -> x509.Certificate:
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        url = next(a.access_location.value for a in access if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS)
        return x509.load_der_x509_certificate(client.get(urlsplit(url).path).get_data())

    def ocsp_of(certificate: x509.Certificate, issuer: x509.Certificate) -> ocsp.OCSPResponse:
        request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
        body = request.public_bytes(serialization.Encoding.DER)
        answer = client.post("/pki/ocsp", data=body, content_type="application/ocsp-request")
        return ocsp.load_der_ocsp_response(answer.get_data())

    # By CRL: the old certificates' URL serves the retired CA's CRL, signed with its key, naming the revocation.
    old_crl = crl_of(old.certificate)
    assert old_crl.issuer == old_ca.subject and old_crl.is_signature_valid(old_ca.public_key())
    assert old_crl.get_revoked_certificate_by_serial_number(old.certificate.serial_number) is not None
    assert old_crl.get_revoked_certificate_by_serial_number(kept.certificate.serial_number) is None
    new_crl = crl_of(new.certificate)
    assert new_crl.issuer == new_ca.subject and new_crl.is_signature_valid(new_ca.public_key())
    assert issuer_url_of(old.certificate) == old_ca and issuer_url_of(new.certificate) == new_ca
    # By OCSP: one responder URL, the CA named in the request answers.
    assert ocsp_of(old.certificate, old_ca).certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert ocsp_of(kept.certificate, old_ca).certificate_status == ocsp.OCSPCertStatus.GOOD
    assert ocsp_of(new.certificate, new_ca).certificate_status == ocsp.OCSPCertStatus.GOOD
    # openssl agrees, with the chain of the old generation and the CRLs fetched from the URLs.
    (tmp_path / "chain.pem").write_text(
        old_ca.public_bytes(serialization.Encoding.PEM).decode() + psre.root_certificate_pem()
    )
    (tmp_path / "leaf.pem").write_bytes(old.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "crls.pem").write_text(crl_pem(client, "/pki/crl") + crl_pem(client, "/pki/root-crl"))
    result = openssl("verify", "-crl_check_all", "-CRLfile", "crls.pem", "-CAfile", "chain.pem", "leaf.pem", cwd=tmp_path)
    assert result.returncode != 0 and "certificate revoked" in result.stdout + result.stderr
    assert client.get("/pki/crl-g3").status_code == 404
