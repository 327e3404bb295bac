"""The verifikator's inbox in a real browser (Debian chromium): overdue filter, NIK search, fast track first.

Screenshots of the inbox at 1280 px and 390 px are kept in tests/artifacts/ (git-ignored) for review.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from engine.models.base import utcnow
from tests.browser.test_issuance_ui import Session, live_server  # noqa: F401 - the live_server fixture
from tests.sops.test_renewal_rekey import issued_certificate
from tests.sops.test_revocation import CHRONOLOGY, start_revocation, statement, submit
from tests.web.test_query_counts import add_cases
from tests.web.test_worklist import set_due

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SITI_NIK = "3375026203920002"


def in_own_thread(work: Callable[[], Any]) -> Any:
    """Run `work` outside playwright's thread: its event loop would stop pyHanko's asyncio.run() (PDF seals)."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=300)
    if failure:
        raise failure[0]
    return result[0]


def prepare(app: Flask, api: Any) -> tuple[int, list[int], list[int]]:
    """A fast track (key compromise) filed after older tasks: waiting, overdue, and Siti's overdue one."""
    serial, _key, issuance_case = issued_certificate(api)
    waiting = add_cases(app, issuance_case, 3, "Verifikator")
    overdue = add_cases(app, issuance_case, 2, "Verifikator")
    siti = add_cases(app, issuance_case, 1, "Verifikator", applicant="pemohon2")
    set_due(app, overdue + siti, utcnow() - timedelta(hours=2))
    set_due(app, waiting, utcnow() + timedelta(days=2))
    pemohon = api("pemohon")
    fast = start_revocation(pemohon, serial)
    body = statement(certificate_serial=serial, reason="keyCompromise", chronology=CHRONOLOGY)
    assert submit(pemohon, fast, "statement", body).status_code == 200
    return fast, overdue, siti


# The elements that stick out to the right of the screen (outside a box that scrolls them), for the message.
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-scroll, .diagram'))
  .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def cases_shown(page: Any, section: str) -> list[str]:
    links = page.locator(f"#{section} tbody tr td[data-label='Permohonan'] a")
    return [links.nth(i).inner_text().lstrip("#") for i in range(links.count())]


def test_verifikator_filters_overdue_searches_by_nik_and_completes_the_fast_track_first(
    app: Flask, api: Any, page: Any, browser: Any, live_server: str  # noqa: F811
) -> None:
    fast, overdue, siti = in_own_thread(lambda: prepare(app, api))

    ARTIFACTS.mkdir(exist_ok=True)
    # A phone first (the fast track is still open): rows are cards, the fast track is the first card, the
    # filters work, nothing scrolls sideways, "Keluar" stays reachable.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    try:
        small = phone.new_page()
        p = Session(small, live_server, ARTIFACTS)
        p.login("verifikator")
        too_wide = small.evaluate(WIDER_THAN_SCREEN)
        assert small.evaluate("document.documentElement.scrollWidth") <= 390, too_wide
        assert small.locator("header form button", has_text="Keluar").is_visible()
        card = small.locator("#tugas-klaim tbody tr").first
        assert card.is_visible() and "urgent" in (card.get_attribute("class") or "")
        assert cases_shown(small, "tugas-klaim")[0] == str(fast)
        p.shot("inbox-390")
        small.select_option("select[name=sla]", "terlambat")
        small.fill("input[name=q]", SITI_NIK)
        p.submit("form.filters button[type=submit]")
        assert cases_shown(small, "tugas-klaim") == [str(siti[0])]
        assert small.evaluate("document.documentElement.scrollWidth") <= 390, small.evaluate(WIDER_THAN_SCREEN)
        claim = small.locator("#tugas-klaim form[action$='/klaim'] button").first
        box = claim.bounding_box()
        assert claim.is_visible() and box is not None and box["x"] + box["width"] <= 390
    finally:
        phone.close()

    page.set_viewport_size({"width": 1280, "height": 900})
    s = Session(page, live_server, ARTIFACTS)
    s.login("verifikator")

    # The fast track is first, marked, though every other task waited longer.
    first = page.locator("#tugas-klaim tbody tr").first
    assert "urgent" in (first.get_attribute("class") or "")
    assert "Jalur cepat" in first.inner_text()
    assert cases_shown(page, "tugas-klaim")[0] == str(fast)
    s.shot("inbox-1280")

    # Overdue only.
    page.select_option("select[name=sla]", "terlambat")
    s.submit("form.filters button[type=submit]")
    assert "sla=terlambat" in page.url
    assert set(cases_shown(page, "tugas-klaim")) == {str(c) for c in overdue + siti}
    assert page.locator("#tugas-klaim tbody tr.overdue").count() == len(overdue + siti)

    # Search by NIK (the overdue filter kept): only Siti's case.
    page.fill("input[name=q]", SITI_NIK)
    s.submit("form.filters button[type=submit]")
    assert cases_shown(page, "tugas-klaim") == [str(siti[0])]
    assert "Siti Aminah" in page.locator("#tugas-klaim tbody tr").first.inner_text()

    # Back to everything: claim and complete the fast track first.
    s.submit("form.filters a")  # "Hapus saringan"
    s.claim_from_inbox(str(fast))
    page.check("input[name=checked_identity]")
    page.check("input[name=decision][value=approve]")
    s.submit()
    assert s.path() == f"/kasus/{fast}", page.text_content("main")
    assert "Selesai" in page.text_content("#case-status")
    assert not s.errors

    assert (ARTIFACTS / "inbox-1280.png").stat().st_size > 0 and (ARTIFACTS / "inbox-390.png").stat().st_size > 0
