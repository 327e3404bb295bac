"""After issuance, the owner builds a PKCS#12 (.p12) in the browser on "Sertifikat Saya" (p12.js, real app).

The key file saved at activation (encrypted PKCS#8 under the activation password) is loaded from disk, the
certificate and its chain come from the app, and the .p12 is protected by a new password the person chooses.
The test opens the .p12 with `cryptography` and checks the key belongs to the certificate; neither the key
nor either password ever reaches the server.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.browser.test_issuance_ui import Session, live_server  # noqa: F401  (live_server is a fixture)
from tests.browser.test_key_download import PASSWORD, case_at_activation, download_key, make_key

P12_PASSWORD = "Sandi-P12-Baru-2026"


def issued_with_saved_key(page: Any, live_server: str, api: Any, tmp_path: Path) -> tuple[Session, Path]:  # noqa: F811
    """Activate a 088.9 case in the browser with a key made there: answer the session and the saved key file."""
    _case_id, task_id = case_at_activation(api)
    s = Session(page, live_server, tmp_path)
    s.login("pemohon")
    page.goto(f"{live_server}/tugas/{task_id}")
    make_key(page)
    key_file = tmp_path / "kunci-privat.p8.pem"
    download_key(page, key_file)
    page.check("#key-saved")
    page.check("input[name=accept_obligations]")
    s.submit()
    assert s.path().startswith("/tugas/"), page.text_content("main")  # the delivery task: issued
    return s, key_file


def fill_p12_form(page: Any, key_file: Path, key_password: str, password: str = P12_PASSWORD) -> None:
    page.set_input_files("#p12-key-file", str(key_file))
    page.fill("#p12-key-password", key_password)
    page.fill("#p12-password", password)
    page.fill("#p12-password-confirm", password)
    page.click("#make-p12")
    # A selector wait, not a script: the page runs under the app's real CSP (no eval).
    page.wait_for_selector("#p12-status[data-state='done'], #p12-status[data-state='error']", timeout=60_000)


def test_the_owner_builds_a_p12_from_the_saved_key_and_the_issued_certificate(
    page: Any,
    live_server: str,  # noqa: F811
    api: Any,
    tmp_path: Path,
) -> None:
    activation, key_file = issued_with_saved_key(page, live_server, api, tmp_path)
    # The .p12 is built under the Content-Security-Policy the app sends (the fixture's context bypasses it).
    context = page.context.browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        s = Session(page, live_server, tmp_path)
        s.login("pemohon")
        build_and_check_p12(page, s, live_server, key_file, tmp_path)
        assert not violations, violations
    finally:
        context.close()
    assert not [m for m, _u, body in activation.sent if P12_PASSWORD.encode() in body]


def build_and_check_p12(page: Any, s: Session, live_server: str, key_file: Path, tmp_path: Path) -> None:  # noqa: F811
    page.goto(f"{live_server}/sertifikat")
    assert page.locator("#p12").is_visible()

    # A wrong key-file password is refused with a message, and no .p12 is offered.
    fill_p12_form(page, key_file, "bukan-sandinya")
    assert page.get_attribute("#p12-status", "data-state") == "error"
    assert "Kata sandi berkas kunci privat salah" in page.text_content("#p12-status")
    assert page.locator("#download-p12:visible").count() == 0

    # A key file of another key (here written by OpenSSL through `cryptography`) is refused: not this certificate's.
    other = tmp_path / "kunci-lain.pem"
    other.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    fill_p12_form(page, other, PASSWORD)
    assert page.get_attribute("#p12-status", "data-state") == "error"
    assert "bukan pasangan sertifikat" in page.text_content("#p12-status")

    # A too short new password is refused before anything is done.
    page.set_input_files("#p12-key-file", str(key_file))
    page.fill("#p12-key-password", PASSWORD)
    page.fill("#p12-password", "pendek")
    page.fill("#p12-password-confirm", "pendek")
    page.click("#make-p12")
    assert "minimal 8 karakter" in page.text_content("#p12-status")

    fill_p12_form(page, key_file, PASSWORD)
    assert page.get_attribute("#p12-status", "data-state") == "done", page.text_content("#p12-status")
    with page.expect_download() as download:
        page.click("#download-p12")
    assert download.value.suggested_filename.endswith(".p12")
    p12_file = tmp_path / download.value.suggested_filename
    download.value.save_as(p12_file)
    data = p12_file.read_bytes()

    key, cert, chain = pkcs12.load_key_and_certificates(data, P12_PASSWORD.encode())
    assert key is not None and cert is not None
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]
    serial = download.value.suggested_filename.removeprefix("sertifikat-").removesuffix(".p12")
    served = x509.load_pem_x509_certificates(page.request.get(f"{live_server}/sertifikat/{serial}.pem").body())
    assert cert == served[0]
    assert chain == served[1:] and chain  # the chain travels with the certificate
    named = pkcs12.load_pkcs12(data, P12_PASSWORD.encode())
    assert named.key is not None and named.cert is not None and named.cert.friendly_name  # the key has its certificate
    # Only the new password opens it.
    for wrong in (PASSWORD, "salah-sama-sekali"):
        try:
            pkcs12.load_key_and_certificates(data, wrong.encode())
        except ValueError:
            continue
        raise AssertionError(f"the .p12 opened with {wrong!r}")

    # Neither the key nor any password ever went to the server.
    key_lines = key_file.read_text("ascii").strip().splitlines()[1:-1]
    for method, url, body in s.sent:
        raw = body.decode("latin-1")
        for text in (raw, urllib.parse.unquote_plus(raw)):
            assert "PRIVATE KEY" not in text and PASSWORD not in text and P12_PASSWORD not in text, (method, url)
            assert not any(line in text for line in key_lines), (method, url)
    assert s.errors == []
