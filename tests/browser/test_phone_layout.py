"""The pages people use every day at 1280 px and on a 390 px phone (Debian chromium).

Nothing scrolls the page sideways at 390 px (document.documentElement.scrollWidth <= innerWidth) on the inbox,
a case page, Sertifikat Saya and a task form; "Keluar" and each page's actions stay on the screen; the case
diagram starts at its drawn size, fits its box on request, and zooms and pans. Screenshots of the inbox and a case page at both widths are kept in
tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.browser.test_inbox_ui import ARTIFACTS, WIDER_THAN_SCREEN, in_own_thread
from tests.browser.test_issuance_ui import Session, live_server  # noqa: F401 - the live_server fixture
from tests.sops.test_renewal_rekey import issued_certificate
from tests.web.test_query_counts import add_cases

WIDTHS = (1280, 390)


def prepare(app: Flask, api: Any) -> tuple[int, int]:
    """A finished issuance (certificate, documents, long timeline), tasks in the inbox, Siti's running case."""
    _serial, _key, issued = issued_certificate(api)
    add_cases(app, issued, 3, "Verifikator")
    started = api("pemohon2").post("/cases", json={"process_key": "issuance_ams"})
    assert started.status_code == 201, started.get_json()
    return issued, started.get_json()["tasks"][0]["id"]


def fits(page: Any, what: str) -> None:
    """The page does not scroll sideways; "Keluar" is visible and on the screen."""
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, (what, scroll_width, page.evaluate(WIDER_THAN_SCREEN))
    on_screen(page, page.locator("header form button", has_text="Keluar"), what)
    # Rows shown as cards fit their box (a box that scrolls would hide their right edge).
    cut = page.evaluate(
        "() => [...document.querySelectorAll('table.worklist tbody tr')]"
        ".filter(r => r.getBoundingClientRect().right > r.closest('table').parentElement.getBoundingClientRect().right + 1)"
        ".length"
    )
    assert cut == 0, (what, cut)


def on_screen(page: Any, locator: Any, what: str) -> None:
    """The element is visible and wholly inside the screen's width."""
    assert locator.first.is_visible(), what
    box = locator.first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= page.evaluate("window.innerWidth") + 1, (
        what,
        box,
    )


def test_every_day_pages_fit_1280_and_390_and_the_case_diagram_zooms(
    app: Flask,
    api: Any,
    browser: Any,
    live_server: str,  # noqa: F811
) -> None:
    issued, registration_task = in_own_thread(lambda: prepare(app, api))
    ARTIFACTS.mkdir(exist_ok=True)
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 844}, bypass_csp=True)
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            s = Session(page, live_server, ARTIFACTS)

            s.login("verifikator")
            fits(page, f"inbox {width}")
            on_screen(page, page.locator("#tugas-klaim form[action$='/klaim'] button"), f"Klaim {width}")
            on_screen(page, page.locator("form.filters button[type=submit]"), f"Terapkan {width}")
            s.shot(f"inbox-{width}")

            page.goto(f"{live_server}/kasus/{issued}")
            fits(page, f"case page {width}")
            diagram_zooms_and_pans(page, width)
            s.shot(f"case-{width}")
            s.logout()

            s.login("pemohon")
            page.goto(f"{live_server}/sertifikat")
            fits(page, f"Sertifikat Saya {width}")
            s.logout()

            s.login("pemohon2")
            page.goto(f"{live_server}/tugas/{registration_task}")
            fits(page, f"task form {width}")
            on_screen(page, page.locator("main form button[type=submit]").last, f"submit {width}")
            assert not s.errors, s.errors
        finally:
            context.close()
    for name in ("inbox-1280", "inbox-390", "case-1280", "case-390"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 0


def diagram_zooms_and_pans(page: Any, width: int) -> None:
    box = page.locator("#case-diagram")
    page.wait_for_selector("#case-diagram[data-zoom]")  # diagram.js has run
    # It starts at the drawn size, labels readable (or fitted, if the box is wider than the drawing).
    assert box.get_attribute("data-zoom") == "100" or box.evaluate("b => b.scrollWidth <= b.clientWidth + 1")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Fitted to the width: the whole diagram in the box, no scrolling inside it either.
    page.click("button[aria-label='Sesuaikan diagram dengan lebar layar']")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth + 1")
    fitted = int(box.get_attribute("data-zoom"))
    page.click("button[aria-label='Perbesar diagram']")
    assert int(box.get_attribute("data-zoom")) > fitted
    page.click("button[aria-label='Tampilkan diagram pada ukuran asli (label terbaca)']")
    assert box.get_attribute("data-zoom") == "100"
    # At the drawn size a task's label is as large as drawn (11 px), and the box, not the page, scrolls.
    label_size = page.evaluate(
        "() => document.querySelector('#case-diagram .bpmn-label').getBoundingClientRect().height"
    )
    assert label_size > 20, label_size
    if width < 1000:
        assert box.evaluate("b => b.scrollWidth > b.clientWidth")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # Pan by dragging with the mouse.
        area = box.bounding_box()
        before = box.evaluate("b => b.scrollLeft")
        page.mouse.move(area["x"] + area["width"] - 20, area["y"] + 60)
        page.mouse.down()
        page.mouse.move(area["x"] + 20, area["y"] + 60, steps=5)
        page.mouse.up()
        assert box.evaluate("b => b.scrollLeft") > before
    page.click("button[aria-label='Sesuaikan diagram dengan lebar layar']")
    assert box.get_attribute("data-zoom") == str(fitted)
    assert "selebar layar" in page.inner_text(".diagram-tools [role=status]")


def test_the_diagram_zooms_under_the_apps_real_csp(app: Flask, api: Any, browser: Any, live_server: str) -> None:  # noqa: F811
    issued, _task = in_own_thread(lambda: prepare(app, api))
    context = browser.new_context(viewport={"width": 390, "height": 844})  # the policy the app sends is enforced
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda exc: violations.append(str(exc)))
        s = Session(page, live_server, ARTIFACTS)
        s.login("verifikator")
        page.goto(f"{live_server}/kasus/{issued}")
        page.wait_for_selector("#case-diagram[data-zoom]")
        page.click("button[aria-label='Tampilkan diagram pada ukuran asli (label terbaca)']")
        assert page.get_attribute("#case-diagram", "data-zoom") == "100"
        assert page.locator("#case-diagram").evaluate("b => b.scrollWidth > b.clientWidth")
        assert not violations, violations
    finally:
        context.close()
