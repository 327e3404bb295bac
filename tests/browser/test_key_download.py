"""The applicant's private key cannot be lost between generation and issuance (088.9 activation, real app).

The key pair is made in the browser (csr.js); the key is downloaded encrypted under a password the applicant
chooses; a refused submit (obligations not ticked) still offers the same key, and the certificate finally
issued carries the public half of the key that decrypts with that password.
"""
from __future__ import annotations

import threading
import urllib.parse
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.browser.test_issuance_ui import Session, live_server  # noqa: F401  (live_server is a fixture)
from tests.sops.builders import APPROVE
from tests.sops.test_issuance_ams import only_task, recommend, start_and_register, verify

PASSWORD = "Sandi-Kunci-2026"


def case_at_activation(api: Any) -> tuple[int, int]:
    """A 088.9 case of 'pemohon' registered, recommended and approved: answer (case id, activation task id).

    Driven over the API in a thread of its own: Playwright's sync API keeps an asyncio loop running in this
    thread, and sealing PDFs (pyHanko) runs its own loop.
    """
    result: list[tuple[int, int]] = []

    def drive() -> None:
        pemohon, case_id = start_and_register(api)
        assert recommend(api, case_id).status_code == 200
        assert verify(api, case_id, APPROVE).status_code == 200
        result.append((case_id, only_task(pemohon, case_id, "activation")["id"]))

    thread = threading.Thread(target=drive)
    thread.start()
    thread.join(timeout=120)
    assert result, "the case did not reach activation"
    return result[0]


def make_key(page: Any, password: str = PASSWORD) -> None:
    page.fill("#key-password", password)
    page.fill("#key-password-confirm", password)
    page.click("#generate-csr")
    page.wait_for_function("document.getElementById('csr-status').getAttribute('data-state') === 'done'")


def download_key(page: Any, path: Path) -> bytes:
    with page.expect_download() as download:
        page.click("#download-key")
    download.value.save_as(path)
    return path.read_bytes()


def test_a_refused_activation_still_offers_the_encrypted_key(page: Any, live_server: str, api: Any, tmp_path: Path) -> None:  # noqa: F811
    _case_id, task_id = case_at_activation(api)
    s = Session(page, live_server, tmp_path)
    s.login("pemohon")
    page.goto(f"{live_server}/tugas/{task_id}")

    make_key(page)
    first = download_key(page, tmp_path / "kunci-1.pem")
    page.check("#key-saved")
    page.wait_for_function("document.getElementById('csr_pem').value.includes('END CERTIFICATE REQUEST')")
    csr = x509.load_pem_x509_csr(page.input_value("#csr_pem").encode("ascii"))

    # Obligations not ticked: the server refuses, the page comes back with the message...
    response = s.submit()
    assert response.status == 422
    assert "Anda harus menyetujui kewajiban pemilik sertifikat." in page.text_content("main")
    # ...and still offers the very same key, already confirmed as saved, with its CSR in the form.
    page.wait_for_function("!!document.getElementById('download-key')")
    again = download_key(page, tmp_path / "kunci-2.pem")
    assert again == first
    assert page.is_checked("#key-saved")
    assert x509.load_pem_x509_csr(page.input_value("#csr_pem").encode("ascii")).public_key() == csr.public_key()

    # The downloaded key is encrypted PKCS#8 and opens with the chosen password only.
    assert again.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    private_key = serialization.load_pem_private_key(again, password=PASSWORD.encode())
    assert private_key.public_key().public_numbers() == csr.public_key().public_numbers()  # type: ignore[union-attr]

    page.check("input[name=accept_obligations]")
    s.submit()
    assert s.path().startswith("/tugas/"), page.text_content("main")  # the delivery task
    # The delivery page offers the same key again, next to the certificate.
    with page.expect_download() as kept:
        page.click("#download-kept-key")
    kept.value.save_as(tmp_path / "kunci-3.pem")
    assert (tmp_path / "kunci-3.pem").read_bytes() == first
    with page.expect_download() as cert_download:
        page.click("#download-certificate")
    cert_file = tmp_path / "sertifikat.pem"
    cert_download.value.save_as(cert_file)
    leaf = x509.load_pem_x509_certificates(cert_file.read_bytes())[0]
    assert leaf.public_key().public_numbers() == private_key.public_key().public_numbers()  # type: ignore[union-attr]

    # Neither the key nor its password ever went to the server.
    key_lines = again.decode("ascii").strip().splitlines()[1:-1]
    for method, url, body in s.sent:
        raw = body.decode("latin-1")
        for text in (raw, urllib.parse.unquote_plus(raw)):
            assert "PRIVATE KEY" not in text and PASSWORD not in text, (method, url)
            assert not any(line in text for line in key_lines), (method, url)
    assert s.errors == []


def test_the_request_is_not_sent_before_the_key_is_saved(page: Any, live_server: str, api: Any, tmp_path: Path) -> None:  # noqa: F811
    _case_id, task_id = case_at_activation(api)
    s = Session(page, live_server, tmp_path)
    s.login("pemohon")
    page.goto(f"{live_server}/tugas/{task_id}")
    make_key(page)
    page.check("input[name=accept_obligations]")
    posts_before = sum(1 for m, _u, _b in s.sent if m == "POST")
    page.click("#submit")
    assert page.get_attribute("#csr-status", "data-state") == "error"
    assert "sebelum mengirim" in page.text_content("#csr-status")
    assert sum(1 for m, _u, _b in s.sent if m == "POST") == posts_before
    assert s.path() == f"/tugas/{task_id}"
    assert page.is_disabled("#key-saved")  # confirming needs the download first
