"""static/js/forms.js in Debian's chromium: a submit clicked twice while the server is slow sends one request."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

FORMS_JS = Path(__file__).resolve().parents[2] / "engine" / "web" / "static" / "js" / "forms.js"
FORM_PAGE = b"""<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<script src="/static/js/forms.js" defer></script></head>
<body>
<form method="post" action="/kirim">
  <input name="catatan" value="lengkap">
  <button type="submit" name="decision" value="approve">Setujui</button>
</form>
</body></html>"""


class SlowServer(http.server.ThreadingHTTPServer):
    """Serves the form and forms.js; holds every POST until `release` is set, recording it on arrival."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SlowHandler)
        self.posts: list[bytes] = []
        self.first_post = threading.Event()
        self.release = threading.Event()
        self.pages: dict[str, bytes] = {}  # more test pages by path

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class SlowHandler(http.server.BaseHTTPRequestHandler):
    server: SlowServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/static/js/forms.js" and FORMS_JS.is_file():
            self._send(FORMS_JS.read_bytes(), "text/javascript")
        elif self.path == "/formulir":
            self._send(FORM_PAGE, "text/html; charset=utf-8")
        elif self.path in self.server.pages:
            self._send(self.server.pages[self.path], "text/html; charset=utf-8")
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        self.server.posts.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.server.first_post.set()
        self.server.release.wait(60)
        # The browser may have given up on this request (a later submit replaced it).
        with contextlib.suppress(OSError):
            self._send(b"<!doctype html><p>diterima</p>", "text/html; charset=utf-8")


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_submit_clicked_again_while_the_server_is_slow_sends_one_request(page, slow_server) -> None:
    page.goto(f"{slow_server.base_url}/formulir")
    page.wait_for_load_state("load")
    box = page.locator("button[name=decision]").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    # Plain mouse input: while a form navigation is pending the page cannot be queried, only clicked.
    page.mouse.click(x, y)
    assert slow_server.first_post.wait(30)  # the first request is at the server, which is slow to answer
    page.mouse.click(x, y)  # the impatient second click
    slow_server.release.set()
    page.wait_for_selector("text=diterima")

    # Whichever submit the shown page answers, every request sent before it has been recorded by now.
    assert len(slow_server.posts) == 1, slow_server.posts
    # The button is disabled only after the submit event, so its name=value still goes with the form.
    assert parse_qs(slow_server.posts[0].decode()) == {"catatan": ["lengkap"], "decision": ["approve"]}


BUSY_PAGE = b"""<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<script src="/static/js/forms.js" defer></script></head>
<body>
<iframe name="hasil" title="hasil"></iframe>
<form method="post" action="/kirim" target="hasil">
  <input name="catatan" value="lengkap">
  <button type="submit" name="decision" value="approve">Setujui</button>
  <button type="submit" name="decision" value="reject">Tolak</button>
</form>
</body></html>"""


def test_the_button_that_sent_the_form_shows_progress_while_the_server_works(page, slow_server) -> None:
    # The answer goes to a frame, so the page itself stays readable while the request is held.
    slow_server.pages["/sibuk"] = BUSY_PAGE
    page.goto(f"{slow_server.base_url}/sibuk")
    page.wait_for_load_state("load")
    page.click("button[value=reject]")
    assert slow_server.first_post.wait(30)
    page.wait_for_selector("button[value=reject].busy")
    assert page.inner_text("button[value=reject]") == "Sedang diproses…"
    assert page.is_disabled("button[value=reject]") and page.is_disabled("button[value=approve]")
    assert page.inner_text("button[value=approve]") == "Setujui"  # only the sender says so
    assert page.get_attribute("form", "aria-busy") == "true"
    page.click("button[value=approve]", force=True)  # disabled: nothing is sent
    slow_server.release.set()
    page.frame_locator("iframe").locator("text=diterima").wait_for()
    assert len(slow_server.posts) == 1 and parse_qs(slow_server.posts[0].decode())["decision"] == ["reject"]
