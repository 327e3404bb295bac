"""SOP 088.9 end to end in a real browser (Debian chromium via playwright) against the real app.

The app (tests/conftest.py `app`: temp database, demo people, deployed diagrams) is served by werkzeug on
127.0.0.1 with a random port; http://127.0.0.1 is a secure context, so WebCrypto works there. The
applicant's key pair is generated in the browser by csr.js; the test checks that the issued certificate
carries the public half of the downloaded private key and that the private key never left the browser.
"""
from __future__ import annotations

import threading
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.serving import make_server

from tests.sops.builders import PDF, PNG, RECOMMEND

PROCESS_START = "form[action='/proses/issuance_ams/mulai'] button"


@pytest.fixture
def live_server(app: Any, vendor_bundle: Path) -> Iterator[str]:
    """Serve the app on 127.0.0.1:<random port>; answer its base URL."""
    server = make_server("127.0.0.1", 0, app)  # one thread: SQLite connections stay in the server thread
    thread = threading.Thread(target=server.serve_forever, name="sertel-live", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Session:
    """Drive one page as different people in turn, recording every request the browser sends."""

    def __init__(self, page: Any, base: str, shots: Path) -> None:
        self.page, self.base, self.shots = page, base, shots
        self.sent: list[tuple[str, str, bytes]] = []
        self.errors: list[str] = []
        page.context.on("request", lambda r: self.sent.append((r.method, r.url, r.post_data_buffer or b"")))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def submit(self, selector: str = "#submit") -> Any:
        with self.page.expect_navigation() as nav:
            self.page.click(selector)
        return nav.value

    def login(self, username: str) -> None:
        self.page.goto(self.base + "/")
        assert urllib.parse.urlsplit(self.page.url).path == "/masuk"  # anonymous: sent to the login page
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", "demo-sertel-2026")
        self.submit("main form button[type=submit]")
        assert urllib.parse.urlsplit(self.page.url).path == "/", self.page.content()[:2000]

    def logout(self) -> None:
        self.submit("header form button")
        assert urllib.parse.urlsplit(self.page.url).path == "/masuk"

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    def path(self) -> str:
        return urllib.parse.urlsplit(self.page.url).path

    def claim_from_inbox(self, case_id: str) -> None:
        row = self.page.locator("tr", has=self.page.locator(f"a[href='/kasus/{case_id}']")).filter(
            has=self.page.locator("form[action$='/klaim']"))
        assert row.count() == 1
        self.submit(f"tr:has(a[href='/kasus/{case_id}']) form[action$='/klaim'] button")
        assert self.path().startswith("/tugas/")

    def open_from_inbox(self, case_id: str) -> None:
        self.submit(f"tr:has(a[href='/kasus/{case_id}']) a.button")
        assert self.path().startswith("/tugas/")


def fill_registration(page: Any, tick_statement: bool, upload: bool) -> None:
    # Identity comes from the person record: shown read-only, the applicant only declares the phone.
    for field, value in (("#full_name", "Budi Santoso"), ("#nik", "3375011507900001"), ("#nip", "199007152015031001"),
                         ("#email", "pemohon@pekalongankota.go.id")):
        assert page.input_value(field) == value
        assert page.get_attribute(field, "readonly") is not None
    page.fill("#phone", "0812-3456-7890")
    if upload:
        page.set_input_files("#ktp_scan", {"name": "ktp.png", "mimeType": "image/png", "buffer": PNG})
        page.set_input_files("#asn_proof", {"name": "sk-cpns.pdf", "mimeType": "application/pdf", "buffer": PDF})
    if tick_statement:
        page.check("input[name=statement_true]")


def test_issuance_in_the_browser_key_stays_local_and_certificate_matches(page: Any, live_server: str, tmp_path: Path) -> None:
    s = Session(page, live_server, tmp_path)

    # --- Pemohon: start, a failed submit (kept input and uploads), then a good one -----------------------
    s.login("pemohon")
    s.shot("inbox-pemohon")
    s.submit(PROCESS_START)
    assert s.path().startswith("/tugas/")
    case_id = page.get_attribute("main a[href^='/kasus/']", "href").rsplit("/", 1)[1]
    fill_registration(page, tick_statement=False, upload=True)
    response = s.submit()
    assert response.status == 422
    assert "Anda harus menyatakan bahwa data yang diberikan benar." in page.text_content("main")
    assert page.input_value("#phone") == "0812-3456-7890"
    s.shot("registration-errors")
    # A refused submit stores no upload: the form asks for the files again.
    assert page.locator("input[type=hidden][name=ktp_scan]").count() == 0
    assert "pilih berkas ini lagi" in page.text_content("main")
    fill_registration(page, tick_statement=True, upload=True)
    s.submit()
    assert s.path() == f"/kasus/{case_id}", page.text_content("main")
    assert page.locator("a[href^='/dokumen/']").count() == 3  # two uploads and the sealed registration PDF
    s.logout()

    # --- Atasan: open (no claim: the task is their agency's) and recommend ---------------------------
    s.login("atasan")
    s.open_from_inbox(case_id)
    page.check("input[name=decision][value=approve]")
    for field in ("head_name", "head_nip", "head_position"):  # the logged-in head's own record, read-only
        assert page.input_value(f"#{field}") == RECOMMEND[field]
    s.submit()
    assert s.path() == f"/kasus/{case_id}"
    s.logout()

    # --- Verifikator: claim, read the automated checks, tick, approve -----------------------------------
    s.login("verifikator")
    s.shot("inbox-verifikator")
    s.claim_from_inbox(case_id)
    checks = page.locator("#automated-checks li")
    assert checks.count() >= 3
    assert page.locator("#automated-checks li.fail").count() == 0
    s.shot("verification")
    for name in ("checked_identity", "checked_asn", "checked_recommendation"):
        page.check(f"input[name={name}]")
    page.check("input[name=decision][value=approve]")
    s.submit()
    assert s.path() == f"/kasus/{case_id}"
    assert page.locator(f"svg.bpmn-diagram g.active[data-element-id='activation']").count() == 1
    s.logout()

    # --- Pemohon: activation with a key pair made in the browser -------------------------------------
    s.login("pemohon")
    s.open_from_inbox(case_id)
    page.check("input[name=accept_obligations]")
    page.fill("#key-password", "Sandi-Kunci-2026")
    page.fill("#key-password-confirm", "Sandi-Kunci-2026")
    page.click("#generate-csr")
    page.wait_for_function("document.getElementById('csr-status').getAttribute('data-state') === 'done'")
    with page.expect_download() as key_download:
        page.click("#download-key")
    key_file = tmp_path / "kunci.pem"
    key_download.value.save_as(key_file)
    key_pem = key_file.read_bytes()
    private_key = serialization.load_pem_private_key(key_pem, password=b"Sandi-Kunci-2026")
    page.check("#key-saved")  # the CSR enters the form once the key is confirmed saved
    page.wait_for_function("document.getElementById('csr_pem').value.includes('-----END CERTIFICATE REQUEST-----')")
    s.shot("activation")
    s.submit()
    assert s.path().startswith("/tugas/"), page.text_content("main")  # the delivery task

    # --- Delivery: download the certificate, check it against the key, confirm receipt ----------------
    with page.expect_download() as cert_download:
        page.click("#download-certificate")
    cert_file = tmp_path / "sertifikat.pem"
    cert_download.value.save_as(cert_file)
    leaf, *chain = x509.load_pem_x509_certificates(cert_file.read_bytes())
    assert leaf.public_key().public_numbers() == private_key.public_key().public_numbers()
    assert len(chain) == 2
    chain[0].verify_directly_issued_by(chain[1])
    leaf.verify_directly_issued_by(chain[0])
    s.shot("delivery")
    page.check("input[name=received]")
    s.submit()
    assert s.path() == f"/kasus/{case_id}"
    assert "Selesai" in page.text_content("#case-status")
    assert page.locator("svg.bpmn-diagram g.active").count() == 0
    assert page.locator("svg.bpmn-diagram g.done[data-element-id='end_delivered']").count() == 1
    case_png = s.shot("case")
    page.locator("svg.bpmn-diagram").screenshot(path=str(tmp_path / "case-diagram.png"))
    assert case_png.stat().st_size > 10_000

    # --- The private key never left the browser -----------------------------------------------------
    key_lines = key_pem.decode("ascii").strip().splitlines()
    body_lines = key_lines[1:-1]
    network = [(m, u, b) for m, u, b in s.sent if urllib.parse.urlsplit(u).scheme in ("http", "https")]
    posts = [(u, b) for m, u, b in network if m == "POST"]
    assert len(posts) >= 10  # logins, logouts, start, submits, claims: the recording works
    assert any(b"CERTIFICATE+REQUEST" in b or b"CERTIFICATE REQUEST" in b for _u, b in posts)
    for method, url, body in network:
        assert url.startswith(live_server), url
        raw = body.decode("latin-1")
        for text in (raw, urllib.parse.unquote_plus(raw)):  # multipart as sent, urlencoded decoded
            assert "PRIVATE KEY" not in text, (method, url)
            for line in body_lines:
                assert line not in text, (method, url)
    assert s.errors == []
