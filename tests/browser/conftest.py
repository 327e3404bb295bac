"""Fixtures for browser tests (headless Debian chromium driven by playwright).

* Chromium comes from Debian (``scripts/setup-system.sh``), never from
  ``playwright install``: tests are skipped only when /usr/bin/chromium is absent.
* The vendor bundles (``engine/web/static/vendor/``) are built on demand with
  ``scripts/build-frontend.sh``.
* ``static_server`` serves ``engine/web/static`` under ``/static/`` plus test pages
  registered by the test, on 127.0.0.1 with a random port, and records POST bodies.
"""
from __future__ import annotations

import http.server
import os
import posixpath
import shutil
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = REPO_ROOT / "engine" / "web" / "static"
VENDOR_FILES = ("reflect-metadata.js", "x509.js")
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def vendor_bundle() -> Path:
    """Make sure the @peculiar/x509 browser bundle is in static/vendor/."""
    vendor = STATIC_DIR / "vendor"
    if not all((vendor / name).is_file() for name in VENDOR_FILES):
        if shutil.which("npm") is None:
            pytest.fail("npm is required to build the frontend vendor bundle (scripts/build-frontend.sh)")
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "build-frontend.sh")], check=True, timeout=300)
    missing = [name for name in VENDOR_FILES if not (vendor / name).is_file()]
    assert not missing, f"scripts/build-frontend.sh did not produce {missing}"
    return vendor


# Module scope: Playwright's sync API keeps an asyncio loop running while it is open, and pyHanko's
# asyncio.run() in later test modules would fail inside it.
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not found: run scripts/setup-system.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser):
    # The tests evaluate strings in the page (wait_for_function, evaluate), which the app's CSP (script-src
    # 'self', no eval) forbids; tests/browser/test_security_csp.py checks the pages under the real policy.
    ctx = browser.new_context(accept_downloads=True, bypass_csp=True)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


class _StaticServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, handler):
        super().__init__(addr, handler)
        self.pages: dict[str, str] = {}
        self.posts: list[tuple[str, bytes]] = []

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def add_page(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.base_url + path


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _StaticServer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(STATIC_DIR), **kwargs)

    def log_message(self, format, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in self.server.pages:
            return self._send(200, self.server.pages[path].encode("utf-8"))
        if path.startswith("/static/"):
            return super().do_GET()
        return self._send(404, b"not found", "text/plain")

    def do_HEAD(self):
        return self._send(405, b"", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.posts.append((self.path, self.rfile.read(length)))
        return self._send(200, b"<!doctype html><p>diterima</p>")

    def translate_path(self, path):
        # mount engine/web/static at /static/
        path = urllib.parse.urlsplit(path).path
        if path.startswith("/static/"):
            path = path[len("/static"):]
        return super().translate_path(posixpath.normpath(path))


@pytest.fixture
def static_server(vendor_bundle):
    server = _StaticServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="static-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
