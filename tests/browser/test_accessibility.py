"""WCAG 2.1 AA in the browser (issue 14): axe-core on every page a full SOP 088.9 run passes through, per role.

A whole 088.9 issuance in Debian's chromium (pemohon, atasan, verifikator, pemohon again), with axe-core
(tests/browser/axe.py: rule sets wcag2a, wcag2aa, wcag21aa) run on each page the people see on the way: login,
inboxes, the start and every task form (also after a failed submit), the case page while running and done,
Sertifikat Saya and the pages of the header, and the admin's pages. Every violation on every page is
reported at once at the end.

Also: the registration form done with the keyboard only (Tab, Space, typing) ends on the error summary after
a failed submit; screenshots at 200% zoom of Sertifikat Saya and the case page go to tests/artifacts/.
"""
from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser import axe
from tests.browser.test_issuance_ui import PROCESS_START, Session, fill_registration, live_server  # noqa: F401
from tests.sops.builders import PDF, PNG

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


class Audit:
    """axe on each page visited; the findings of all pages are kept and reported together."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.checked: list[str] = []
        self.found: dict[str, str] = {}

    def __call__(self, name: str) -> None:
        found = axe.violations(self.page)
        self.checked.append(name)
        if found:
            self.found[f"{name} ({urllib.parse.urlsplit(self.page.url).path})"] = axe.describe(found)

    def visit(self, s: Session, path: str, name: str) -> None:
        response = s.page.goto(s.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self(name)

    def report(self) -> str:
        return "\n".join(f"--- {name}\n{text}" for name, text in self.found.items())


HEADER_PAGES = {  # the header's links, per role (what each person can reach in a run)
    "pemohon": ("/sertifikat", "/tanda-tangan", "/validasi", "/data-saya"),
    "atasan": ("/validasi", "/data-saya"),
    "verifikator": ("/kasus", "/admin/dasbor", "/atas-nama"),
    "admin": ("/admin/surel", "/admin/retensi", "/admin/pemisahan-tugas", "/admin/rekonsiliasi", "/audit/verifikasi",
              "/audit/kasus",
              "/admin/dasbor",
              "/kasus", "/admin/orang", "/admin/orang/pemohon", "/admin/selisih-data-asn", "/admin/proses",
              "/admin/proses/issuance_ams/versi"),
}


def test_every_page_of_an_issuance_passes_axe_for_each_role(page: Any, live_server: str, tmp_path: Path) -> None:  # noqa: F811
    s = Session(page, live_server, tmp_path)
    audit = Audit(page)

    page.goto(live_server + "/masuk")
    audit("login")

    # --- Pemohon: inbox, start, a failed submit, the registration, the case page ----------------------
    s.login("pemohon")
    audit("pemohon: inbox")
    s.submit(PROCESS_START)
    case_id = page.get_attribute("main a[href^='/kasus/']", "href").rsplit("/", 1)[1]
    audit("pemohon: registration form")
    fill_registration(page, tick_statement=False, upload=False)
    assert s.submit().status == 422
    audit("pemohon: registration form with errors")
    fill_registration(page, tick_statement=True, upload=True)
    s.submit()
    assert s.path() == f"/kasus/{case_id}"
    audit("pemohon: case page (running)")
    s.logout()

    # --- Atasan: inbox, the recommendation (a failed submit first), the case ----------------------------
    s.login("atasan")
    audit("atasan: inbox")
    s.open_from_inbox(case_id)
    audit("atasan: recommendation form")
    assert s.submit().status == 422
    audit("atasan: recommendation form with errors")
    page.check("input[name=decision][value=approve]")
    s.submit()
    assert s.path() == f"/kasus/{case_id}"
    audit("atasan: case page")
    for path in HEADER_PAGES["atasan"]:
        audit.visit(s, path, f"atasan: {path}")
    s.logout()

    # --- Verifikator: inbox, claim, verification, the case, the worklists -------------------------------
    s.login("verifikator")
    audit("verifikator: inbox")
    s.claim_from_inbox(case_id)
    audit("verifikator: verification form")
    assert s.submit().status == 422
    audit("verifikator: verification form with errors")
    for name in ("checked_identity", "checked_asn", "checked_recommendation"):
        page.check(f"input[name={name}]")
    page.check("input[name=decision][value=approve]")
    s.submit()
    assert s.path() == f"/kasus/{case_id}"
    audit("verifikator: case page")
    for path in HEADER_PAGES["verifikator"]:
        audit.visit(s, path, f"verifikator: {path}")
    s.logout()

    # --- Pemohon: activation (key pair in the browser), delivery, the case done, Sertifikat Saya --------
    s.login("pemohon")
    s.open_from_inbox(case_id)
    audit("pemohon: activation form")
    assert s.submit().status == 422
    audit("pemohon: activation form with errors")
    page.check("input[name=accept_obligations]")
    page.fill("#key-password", "Sandi-Kunci-2026")
    page.fill("#key-password-confirm", "Sandi-Kunci-2026")
    page.click("#generate-csr")
    page.wait_for_function("document.getElementById('csr-status').getAttribute('data-state') === 'done'")
    with page.expect_download():
        page.click("#download-key")
    page.check("#key-saved")
    page.wait_for_function("document.getElementById('csr_pem').value.includes('END CERTIFICATE REQUEST')")
    audit("pemohon: activation form, key made")
    s.submit()
    assert s.path().startswith("/tugas/"), page.text_content("main")
    audit("pemohon: delivery form")
    page.check("input[name=received]")
    s.submit()
    assert s.path() == f"/kasus/{case_id}"
    assert "Selesai" in page.text_content("#case-status")
    audit("pemohon: case page (done)")
    assert page.locator("#replay-link").count() == 0  # the replay is for RA staff: no link to a refusal
    for path in HEADER_PAGES["pemohon"]:
        audit.visit(s, path, f"pemohon: {path}")
    s.logout()

    # --- Admin: the header's pages ---------------------------------------------------------------------
    s.login("admin")
    audit("admin: inbox")
    audit.visit(s, f"/kasus/{case_id}", "admin: case page")
    for path in HEADER_PAGES["admin"]:
        audit.visit(s, path, f"admin: {path}")
    audit.visit(s, "/admin/proses/issuance_ams", "admin: modeler")
    page.locator(".djs-container").first.wait_for()
    audit("admin: modeler (drawn)")
    audit.visit(s, f"/kasus/{case_id}/putar-ulang", "admin: replay")
    page.locator("#replay-app[data-ready='1']").wait_for()
    audit("admin: replay (drawn)")
    s.logout()

    assert not audit.found, f"{len(audit.found)} of {len(audit.checked)} pages fail axe:\n{audit.report()}"
    assert len(audit.checked) >= 35
    assert s.errors == []


# --- Keyboard only ----------------------------------------------------------------------------------------

FOCUSED = "() => { const e = document.activeElement; return e ? (e.id || e.getAttribute('name') || e.tagName) : null; }"


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab until the focus is on `selector` (fails when it is not among the next `limit` tab stops)."""
    for _ in range(limit):
        if page.evaluate("(sel) => document.activeElement && document.activeElement.matches(sel)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached with Tab; focus on {page.evaluate(FOCUSED)}")


def space_opens_the_chooser(page: Any, file: dict[str, Any]) -> None:
    """Space on the focused file field opens the chooser (the system's dialog), which gets the file.

    On a loaded machine chromium now and then drops the chooser a key press asks for (Playwright's own
    suite knows the flake); the key is pressed again, up to three times, so a lost dialog is not a failure
    of the page. A field that never opens one still fails."""
    for attempt in range(3):
        try:
            with page.expect_file_chooser(timeout=7_000) as chooser:
                page.keyboard.press("Space")
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            continue
        chooser.value.set_files(file)
        return


def choose_file_with_keyboard(page: Any, selector: str, file: dict[str, Any]) -> None:
    """Tab to a file field and open it with Space."""
    tab_to(page, selector)
    space_opens_the_chooser(page, file)


def test_registration_form_with_the_keyboard_only_lands_on_the_error_summary(page: Any, live_server: str) -> None:  # noqa: F811
    page.goto(live_server + "/masuk")
    tab_to(page, "input[name=username]")
    page.keyboard.type("pemohon")
    page.keyboard.press("Tab")
    page.keyboard.type("demo-sertel-2026")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # The first tab stop of every page is the skip link, visible while focused; it moves the focus to <main>.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    assert page.locator("a.skip-link").bounding_box()["y"] >= 0
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    tab_to(page, PROCESS_START)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/tugas/" in page.url

    # Skip the header, then the fields in order: phone, the two uploads (Space opens the chooser), no statement.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    tab_to(page, "#phone", limit=12)  # the read-only identity fields are passed on the way
    page.keyboard.type("0812-3456-7890")
    choose_file_with_keyboard(page, "#ktp_scan", {"name": "ktp.png", "mimeType": "image/png", "buffer": PNG})
    choose_file_with_keyboard(page, "#asn_proof", {"name": "sk.pdf", "mimeType": "application/pdf", "buffer": PDF})
    tab_to(page, "#submit", limit=6)  # past the statement, left unticked
    with page.expect_navigation() as nav:
        page.keyboard.press("Enter")
    assert nav.value.status == 422

    # Focus on the error summary, which names the problem and links to the field; the title says so too.
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'form-errors'")
    assert page.title().startswith("Ada kesalahan: ")
    assert "Anda harus menyatakan bahwa data yang diberikan benar." in page.inner_text("#form-errors")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#ktp_scan"  # uploads: choose again
    for _ in range(2):
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('href')") == "#statement_true"
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED) == "statement_true"
    page.keyboard.press("Space")
    assert page.is_checked("#statement_true")
    # The files again (a refused form stores none), then Enter on the submit button: the case page.
    page.keyboard.press("Shift+Tab")
    space_opens_the_chooser(page, {"name": "sk.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.keyboard.press("Shift+Tab")
    space_opens_the_chooser(page, {"name": "ktp.png", "mimeType": "image/png", "buffer": PNG})
    tab_to(page, "#submit", limit=8)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urllib.parse.urlsplit(page.url).path.startswith("/kasus/"), page.inner_text("main")[:500]


def test_a_file_over_the_limit_is_refused_in_the_page_with_its_message_tied_to_the_field(
    page: Any, live_server: str  # noqa: F811
) -> None:
    s = Session(page, live_server, ARTIFACTS)
    s.login("pemohon")
    s.submit(PROCESS_START)
    limit = int(page.get_attribute("#ktp_scan", "data-max-bytes"))
    page.set_input_files("#ktp_scan", {"name": "besar.png", "mimeType": "image/png", "buffer": b"\0" * (limit + 1)})
    assert page.get_attribute("#ktp_scan", "aria-invalid") == "true"
    assert page.get_attribute("#ktp_scan", "aria-describedby") == "ktp_scan-size-error"
    assert "Berkas terlalu besar" in page.inner_text("#ktp_scan-size-error")
    page.set_input_files("#ktp_scan", {"name": "ktp.png", "mimeType": "image/png", "buffer": PNG})
    assert page.locator("#ktp_scan-size-error").count() == 0
    assert page.get_attribute("#ktp_scan", "aria-invalid") is None
    assert page.get_attribute("#ktp_scan", "aria-describedby") is None


# --- Zoom: 200% and 400% (WCAG 1.4.10 reflow) -------------------------------------------------------------

# Elements sticking out to the right of the screen, outside a box that scrolls them (the diagram's).
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth && !e.closest('.diagram-scroll, .table-scroll'))
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def zoomed(browser: Any, base: str, username: str, zoom: int) -> tuple[Any, Any]:
    """A context as a 1280 px wide screen at `zoom` percent: 1280*100/zoom CSS px wide, drawn at zoom/100 scale."""
    context = browser.new_context(viewport={"width": 1280 * 100 // zoom, "height": 800 * 100 // zoom},
                                  device_scale_factor=zoom / 100, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    Session(page, base, ARTIFACTS).login(username)
    return context, page


def assert_reflows(page: Any, what: str) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, (what, page.evaluate(WIDER_THAN_SCREEN))


def test_certificates_case_and_outbox_reflow_at_200_and_400_percent(
    app: Any, api: Any, browser: Any, live_server: str  # noqa: F811
) -> None:
    from tests.browser.test_inbox_ui import in_own_thread
    from tests.sops.test_renewal_rekey import issued_certificate

    serial, _key, case_id = in_own_thread(lambda: issued_certificate(api))
    ARTIFACTS.mkdir(exist_ok=True)
    for zoom in (200, 400):
        context, page = zoomed(browser, live_server, "pemohon", zoom)
        try:
            page.goto(f"{live_server}/sertifikat")
            assert_reflows(page, f"Sertifikat Saya at {zoom}%")
            serial_box = page.locator("#my-certificates code.serial").bounding_box()
            assert serial_box["x"] + serial_box["width"] <= page.evaluate("window.innerWidth")
            for button in page.locator("#my-certificates button").all():  # renewal, revocation: reachable
                box = button.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.evaluate("window.innerWidth")
            assert serial in page.inner_text("#my-certificates")
            page.screenshot(path=str(ARTIFACTS / f"sertifikat-saya-{zoom}.png"), full_page=True)
            page.goto(f"{live_server}/kasus/{case_id}")
            assert_reflows(page, f"case page at {zoom}%")
            page.screenshot(path=str(ARTIFACTS / f"kasus-{zoom}.png"), full_page=True)
            page.locator(".diagram-scroll").screenshot(path=str(ARTIFACTS / f"kasus-diagram-{zoom}.png"))
        finally:
            context.close()
        context, page = zoomed(browser, live_server, "admin", zoom)
        try:
            page.goto(f"{live_server}/admin/surel")
            assert page.locator("#outbox tbody tr").count() >= 1
            assert_reflows(page, f"outbox at {zoom}%")
        finally:
            context.close()
    # Every other page of each role reflows at 400% too (data tables may scroll inside their own box).
    problems: list[str] = []
    for username in ("pemohon", "atasan", "verifikator", "admin"):
        context, page = zoomed(browser, live_server, username, 400)
        try:
            for path in ("/", "/data-saya", "/validasi", f"/kasus/{case_id}", *HEADER_PAGES.get(username, ())):
                if page.goto(live_server + path).status != 200:
                    continue
                width = page.evaluate("window.innerWidth")
                scroll_width = page.evaluate("document.documentElement.scrollWidth")
                if scroll_width > width + 1:  # (a pixel of rounding)
                    problems.append(f"{username} {path}: {scroll_width} px {page.evaluate(WIDER_THAN_SCREEN)}")
        finally:
            context.close()
    assert not problems, "\n".join(problems)
    for name in ("sertifikat-saya-200", "kasus-200"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000


def test_the_forms_of_the_certificate_sops_pass_axe_blank_and_refused(
    app: Any, api: Any, page: Any, live_server: str  # noqa: F811
) -> None:
    """From Sertifikat Saya each SOP an owner starts for a certificate (renew, revoke, change data): its first form,
    as opened and after an empty submit (focus on the error summary); the expiry reminder's renewal page."""
    from tests.browser.test_inbox_ui import in_own_thread
    from tests.sops.test_renewal_rekey import issued_certificate

    serial, _key, _case_id = in_own_thread(lambda: issued_certificate(api))
    s = Session(page, live_server, ARTIFACTS)
    audit = Audit(page)
    s.login("pemohon")
    audit.visit(s, f"/sertifikat/{serial}/perbarui", "renewal confirmation")
    page.goto(f"{live_server}/sertifikat")
    labels = [b.inner_text().strip() for b in page.locator("#my-certificates button").all()]
    assert len(labels) >= 3, labels
    for index, label in enumerate(labels):
        page.goto(f"{live_server}/sertifikat")
        s.submit(f"#my-certificates form >> nth={index}")
        assert s.path().startswith("/tugas/"), (label, s.path())
        audit(f"{label}: form")
        assert s.submit().status == 422, label  # nothing filled in
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'form-errors'")
        audit(f"{label}: form with errors")
    assert not audit.found, f"{len(audit.found)} of {len(audit.checked)} pages fail axe:\n{audit.report()}"
    assert len(audit.checked) == 1 + 2 * len(labels)
    assert s.errors == []


# --- Every task form of every SOP -------------------------------------------------------------------------


def flat_errors(errors: Any) -> dict[str, list[str]]:
    """marshmallow's errors of a form as the templates take them: field -> messages (nested ones flattened)."""
    flat: dict[str, list[str]] = {}
    for name, value in (errors or {}).items():
        if isinstance(value, list):
            flat[str(name)] = [str(m) for m in value if isinstance(m, str)] or ["Wajib diisi."]
        elif isinstance(value, dict):
            flat[str(name)] = [m for ms in flat_errors(value).values() for m in ms]
    return flat


@pytest.fixture
def task_forms(app: Any) -> list[tuple[str, str]]:
    """Whenever a task is completed over the API during a test, its webform as its person would see it, blank and
    with the messages of an empty submit: [(name, HTML)]. (The SOP tests drive the API; the forms are the same.)"""
    from flask import g, request

    from engine import registry
    from engine.services import cases, queries
    from engine.services.errors import ServiceError
    from engine.web import tasks

    forms: list[tuple[str, str]] = []

    def render_form() -> None:
        if request.method != "POST" or request.endpoint != "api.complete" or g.get("user") is None:
            return
        task_id = int((request.view_args or {})["task_id"])
        try:
            task, _data = queries.task_for_form(task_id, g.user)
            inputs, previous = cases.task_form(task)
            values = {**queries.case_view(task.instance_id, g.user).applicant, **previous,
                      **cases.bound_values(task, g.user)}
            schema = registry.form_for(task.form_key)
            errors = flat_errors(schema().validate({})) if schema else {}
            blank = tasks.render_task(task, inputs, values, {})[0]
            refused = tasks.render_task(task, inputs, values, errors, 422)[0]
        except ServiceError:
            return
        name = f"{task.form_key} #{task_id} ({g.user.username})"
        forms.append((name, blank))
        if errors:
            forms.append((f"{name} with errors", refused))

    app.before_request_funcs.setdefault(None, []).append(render_form)
    return forms


# 088.9 is walked in the browser above; these are the other SOPs (their runs include an 088.9 or 088.14 first).
SOP_RUNS = ("issuance_esign", "renewal_rekey", "revocation", "data_change", "passphrase_lock")


@pytest.mark.parametrize("sop", SOP_RUNS)
def test_every_task_form_of_each_sop_passes_axe(
    sop: str, app: Any, api: Any, page: Any, static_server: Any, task_forms: list[tuple[str, str]]
) -> None:
    from tests.browser.test_inbox_ui import in_own_thread
    from tests.web.test_no_raw_codes import RUNS, _run

    in_own_thread(lambda: _run(RUNS[sop], api, app, app.test_client()))
    assert task_forms, f"{sop}: no task was completed over the API"
    audit = Audit(page)
    for index, (name, html) in enumerate(task_forms):
        page.goto(static_server.add_page(f"/form-{index}", html))
        if "with errors" in name:
            page.wait_for_function("() => document.activeElement && document.activeElement.id === 'form-errors'")
        audit(name)
    assert not audit.found, f"{len(audit.found)} of {len(audit.checked)} forms fail axe:\n{audit.report()}"
    assert any(name.endswith("with errors") for name in audit.checked)
