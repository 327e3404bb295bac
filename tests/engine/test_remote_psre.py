"""The RA talking to a remote PSrE over HTTP (SERTEL_PSRE=http): SOP 088.9 end to end over a real socket."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any, Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from cryptography import x509
from flask import Flask

from engine.config import instance_secrets
from pki.embedded import EmbeddedPSrE
from pki.http_client import HttpPSrE
from pki.http_server import PsreWsgiApp
from pki.psre import SubjectInfo
from pki.validation import validate_pdf
from tests.conftest import Api, build_app
from tests.sops.builders import APPROVE, csr_pem
from tests.sops.test_issuance_ams import only_task, recommend, start_and_register, verify


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture
def remote_psre(tmp_path: Path, psre_template: Path) -> Iterator[tuple[str, EmbeddedPSrE]]:
    """An EmbeddedPSrE served over HTTP on 127.0.0.1, as a remote PSrE would be."""
    state = tmp_path / "remote-psre"
    shutil.copytree(psre_template, state)
    psre = EmbeddedPSrE(state, [instance_secrets(psre_template.parent)["KEK_KEYS"]], "http://127.0.0.1/pki", scrypt_n=1024)
    server = make_server("127.0.0.1", 0, PsreWsgiApp(psre, "ra-kota", "rahasia-ra"), handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", psre
    server.shutdown()


@pytest.fixture
def remote_app(tmp_path: Path, psre_template: Path, remote_psre: tuple[str, EmbeddedPSrE]) -> Iterator[Flask]:
    url, _psre = remote_psre
    application = build_app(tmp_path / "ra", psre_template, PSRE="http", PSRE_URL=url, PSRE_USERNAME="ra-kota", PSRE_PASSWORD="rahasia-ra")
    yield application


def test_http_adapter_is_chosen_by_the_setting(remote_app: Flask) -> None:
    assert isinstance(remote_app.extensions["sertel.psre"], HttpPSrE)


def test_issuance_runs_against_the_remote_psre(remote_app: Flask, remote_psre: tuple[str, EmbeddedPSrE]) -> None:
    client = remote_app.test_client()
    api = lambda username: Api(client, username)  # noqa: E731 - same shape as the api fixture
    pemohon, case_id = start_and_register(api)
    recommend(api, case_id)
    assert verify(api, case_id, APPROVE).status_code == 200
    activation = only_task(pemohon, case_id, "activation")
    csr, _key = csr_pem()
    response = pemohon.post(f"/tasks/{activation['id']}/complete", json={"accept_obligations": True, "csr_pem": csr})
    assert response.status_code == 200, response.get_json()
    serial = pemohon.get(f"/cases/{case_id}").get_json()["certificates"][0]["serial"]
    _url, remote = remote_psre
    assert remote.certificate_status(serial).status == "good"
    leaf = x509.load_pem_x509_certificates(pemohon.get(f"/certificates/{serial}").get_data())[0]
    assert format(leaf.serial_number, "x") == serial.lstrip("0")


@pytest.fixture
def sealing_app(tmp_path: Path, psre_template: Path, remote_psre: tuple[str, EmbeddedPSrE]) -> Iterator[Flask]:
    """An RA on the remote PSrE with its own eSign account there for sealing."""
    url, remote = remote_psre
    subject = SubjectInfo(name="Otoritas Pendaftaran Kota Pekalongan", nik="3375000000000001", email="op@pekalongankota.go.id",
                          agency="Dinas Komunikasi dan Informatika", position="Segel Otoritas Pendaftaran")
    subject_id = remote.register_subject(subject, "ra-seal/register")
    remote.issue_with_server_key(subject_id, "SegelRA2026", "ra-seal/issue")
    yield build_app(tmp_path / "ra", psre_template, PSRE="http", PSRE_URL=url, PSRE_USERNAME="ra-kota",
                    PSRE_PASSWORD="rahasia-ra", RA_SEAL_SUBJECT=subject_id, RA_SEAL_PASSPHRASE="SegelRA2026")


def test_with_a_remote_psre_the_ra_seals_through_its_own_esign_account(sealing_app: Flask, remote_psre: tuple[str, EmbeddedPSrE]) -> None:
    client = sealing_app.test_client()
    api = lambda username: Api(client, username)  # noqa: E731 - same shape as the api fixture
    pemohon, case_id = start_and_register(api)
    form = [d for d in pemohon.get(f"/cases/{case_id}").get_json()["documents"] if d["kind"] == "form"][0]
    pdf = pemohon.get(f"/documents/{form['id']}").data
    _url, remote = remote_psre
    report = validate_pdf(pdf, remote.root_certificate_pem(), remote)
    assert report.verdict == "Sah", report.to_dict()
    assert report.signatures[0].signer_name == "Otoritas Pendaftaran Kota Pekalongan"
