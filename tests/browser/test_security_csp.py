"""The pages work under the app's real Content-Security-Policy (no inline script or style, no eval)."""

from __future__ import annotations

from typing import Any

from tests.browser.test_modeler import live_server, login  # noqa: F401  (live_server is a fixture)

KEY = "issuance_ams"


def test_modeler_and_forms_render_under_the_csp_without_violations(browser: Any, live_server: str) -> None:  # noqa: F811
    context = browser.new_context()  # no bypass_csp: the policy the app sends is enforced
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda exc: violations.append(str(exc)))
        login(page, live_server, "admin")
        page.goto(f"{live_server}/admin/proses/{KEY}")
        page.locator(".djs-container").first.wait_for()
        page.goto(f"{live_server}/admin/proses/{KEY}/versi")
        page.locator("#versions-table").wait_for()
        page.goto(f"{live_server}/admin/orang")
        page.wait_for_load_state("networkidle")
        assert page.locator("link[href$='modeler.css']").count() == 0
        assert not violations, violations
    finally:
        context.close()
