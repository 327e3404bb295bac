"""The replay page in a real browser: an 088.9 case with a return loop, slider from first to last step."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import AuditEvent, db
from tests.browser.test_modeler import live_server, login  # noqa: F401  (live_server is a fixture)
from tests.engine.test_replay import returned_then_delivered


def marked(page: Any, element: str, marker: str) -> bool:
    """Whether the viewer has put a marker class on a diagram element."""
    return page.locator(f".djs-element[data-element-id='{element}'].{marker}").count() == 1


def slide_to(page: Any, index: int) -> None:
    page.locator("#replay-slider").fill(str(index))
    page.locator(f"#replay-steps li.selected[data-index='{index}']").wait_for()


def test_auditor_slides_through_a_returned_case_and_sees_the_path_and_waiting_tasks(
    browser: Any,
    live_server: str,  # noqa: F811
    app: Flask,
    api: Any,
) -> None:
    # In another thread: Playwright's event loop runs in this one, and the form PDFs' signing uses asyncio.run.
    with ThreadPoolExecutor(1) as worker:
        case_id = worker.submit(returned_then_delivered, api).result()
    with app.app_context():
        kinds = [
            (e.seq, e.kind, e.task_name)
            for e in db.session.execute(
                select(AuditEvent).where(AuditEvent.instance_id == case_id).order_by(AuditEvent.seq)
            ).scalars()
        ]
    registrations = [
        i for i, (_seq, kind, task) in enumerate(kinds) if kind == "task_completed" and task == "registration_form"
    ]
    assert len(registrations) == 2
    context = browser.new_context()  # the app's real CSP is enforced
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        login(page, live_server, "auditor")
        page.goto(f"{live_server}/kasus/{case_id}")
        page.click("#replay-link")
        page.locator("#replay-app[data-ready='1']").wait_for()
        page.locator(".djs-element[data-element-id='registration_form']").wait_for()
        assert page.locator("#replay-steps li").count() == len(kinds)
        assert page.locator("#replay-slider").get_attribute("max") == str(len(kinds) - 1)
        # A step of the list is chosen with the keyboard too (a button in each item).
        page.locator("#replay-steps li[data-index='2'] button").focus()
        page.keyboard.press("Enter")
        page.locator("#replay-steps li.selected[data-index='2'] button[aria-current='step']").wait_for()

        # First step: the case is started, nothing is done yet.
        slide_to(page, 0)
        assert page.locator(".replay-done").count() == 0
        assert "Permohonan dibuat" in page.locator("#replay-detail").inner_text()

        # The first registration is sent: it is done and selected; the detail names who sent it and as what.
        slide_to(page, registrations[0])
        assert marked(page, "registration_form", "replay-done") and marked(page, "registration_form", "replay-current")
        assert not marked(page, "verify", "replay-done")
        detail = page.locator("#replay-detail").inner_text()
        assert (
            "Formulir yang dikirim oleh" in detail and "pemohon" in detail and "Pemohon" in detail and "WIB" in detail
        )

        # Just before the resubmission: the verification (a call activity) is done, the return notice was
        # sent, and the registration form waits again (the loop).
        slide_to(page, registrations[1] - 1)
        assert marked(page, "verify", "replay-done") and marked(page, "notify_returned", "replay-done")
        assert marked(page, "registration_form", "replay-active")
        assert not marked(page, "activation", "replay-done")

        # The verifikator's decision happened in the shared verification process: its own diagram opens below.
        verifications = [
            i for i, (_seq, kind, task) in enumerate(kinds) if kind == "task_completed" and task == "verification"
        ]
        slide_to(page, verifications[0])
        page.locator("#replay-app[data-called='common_verification']").wait_for()
        page.locator("#replay-called .djs-element[data-element-id='verification'].replay-current").wait_for()
        assert marked(page, "verify", "replay-active")  # the call activity is running on the main diagram
        # Clicking a call activity drills into its process: the first delivery step is selected.
        page.click("#replay-diagram .djs-element[data-element-id='deliver']")
        page.locator("#replay-app[data-called='common_delivery']").wait_for()
        assert "Penyerahan sertifikat" in page.locator("#replay-called-title").inner_text()

        # Last step: delivered and archived, nothing waits.
        slide_to(page, len(kinds) - 1)
        assert marked(page, "end_delivered", "replay-done") and marked(page, "activation", "replay-done")
        assert page.locator("#replay-diagram .replay-active").count() == 0
        assert page.locator("#replay-called .replay-active").count() == 0

        page.click("#replay-check")
        page.locator("#replay-check-result.ok").wait_for()
        assert f"Kasus #{case_id}: cocok" in page.locator("#replay-check-result").inner_text()
        assert not [p for p in problems if "Content Security Policy" in p or "Uncaught" in p], problems
    finally:
        context.close()
