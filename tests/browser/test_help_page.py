"""/bantuan in a real browser under the app's CSP: each SOP's diagram shows in the read-only bpmn-js viewer."""

from __future__ import annotations

from typing import Any

from tests.browser.test_modeler import live_server, login  # noqa: F401  (live_server is a fixture)


def test_every_sop_diagram_renders_read_only_under_the_csp(browser: Any, live_server: str) -> None:  # noqa: F811
    context = browser.new_context()  # the app's real CSP is enforced
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        login(page, live_server, "pemohon")
        page.goto(f"{live_server}/bantuan")
        boxes = page.locator(".help-diagram")
        assert boxes.count() == 6
        for index in range(6):
            box = boxes.nth(index)
            box.scroll_into_view_if_needed()
            box.locator(".djs-element").first.wait_for()
            assert box.get_attribute("data-loaded") in ("1", "loading")
        page.locator(".help-diagram[data-loaded='1']").nth(5).wait_for()
        # Read-only: a viewer has no palette or context pad to edit with.
        assert page.locator(".djs-palette").count() == 0
        assert page.locator(".help-diagram[data-loaded='error']").count() == 0
        # (the browser's own favicon request answers 404: not the page's doing)
        assert not [p for p in problems if "Content Security Policy" in p or "Uncaught" in p], problems
    finally:
        context.close()
