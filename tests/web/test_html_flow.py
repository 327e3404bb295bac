"""SOP 088.9 through the HTML UI (Flask test client): login, inbox, webforms, case page, downloads.

Every user is a separate test client with its own session cookie. Each state-changing POST carries the
CSRF token scraped from a page of that session, as a browser would send it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from cryptography import x509
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.services.setup import DEMO_PASSWORD
from tests.sops.builders import PNG, RECOMMEND, csr_pem, registration

APPROVE_FORM = {"decision": "approve", "checked_identity": "true", "checked_asn": "true", "checked_recommendation": "true"}


# --------------------------------------------------------------------------- helpers


def html_of(response: TestResponse) -> Any:
    return lxml.html.fromstring(response.get_data(as_text=True))


def csrf_of(response: TestResponse) -> str:
    tokens = html_of(response).xpath("//input[@name='csrf_token']/@value")
    assert tokens, "no csrf_token input on the page"
    return str(tokens[0])


def location(response: TestResponse) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.get_data(as_text=True)[:500])
    return response.headers["Location"]


def task_id_of(url: str) -> int:
    match = re.fullmatch(r"/tugas/(\d+)", url)
    assert match, url
    return int(match.group(1))


class WebUser:
    """One person in a browser: a test client with its own session, logged in through /masuk."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.username = username
        response = self.client.post("/masuk", data={
            "csrf_token": csrf_of(self.client.get("/masuk")), "username": username, "password": DEMO_PASSWORD,
        })
        assert location(response) == "/", response.get_data(as_text=True)[:500]
        self._csrf: str | None = None  # logging in clears the session; the next page brings a new token

    @property
    def csrf(self) -> str:
        if self._csrf is None:
            self._csrf = csrf_of(self.client.get("/"))
        return self._csrf

    def get(self, path: str) -> TestResponse:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, Any] | None = None, multipart: bool = False) -> TestResponse:
        body = {"csrf_token": self.csrf, **(data or {})}
        if multipart:
            return self.client.post(path, data=body, content_type="multipart/form-data")
        return self.client.post(path, data=body)

    def inbox_rows(self, case_id: int) -> list[dict[str, Any]]:
        """The task rows of a case in the inbox: label, 'open' link or 'claim' form action."""
        page = self.get("/")
        assert page.status_code == 200
        rows = []
        for tr in html_of(page).xpath("//table//tr[td]"):
            if not tr.xpath(f".//a[@href='/kasus/{case_id}']"):
                continue
            claim = tr.xpath(".//form[contains(@action, '/klaim')]/@action")
            opened = tr.xpath(".//a[contains(@class, 'button')]/@href")
            if claim or opened:
                rows.append({"label": tr.xpath("string(td[@data-label='Langkah'])").strip(), "claim": claim[0] if claim else None,
                             "open": opened[0] if opened else None})
        return rows


def start_case(pemohon: WebUser) -> tuple[int, int]:
    """Start an issuance from the inbox button; answer (case id, registration task id)."""
    inbox = html_of(pemohon.get("/"))
    assert inbox.xpath("//form[@action='/proses/issuance_ams/mulai']"), "no start button for issuance_ams"
    task_id = task_id_of(location(pemohon.post("/proses/issuance_ams/mulai")))
    page = pemohon.get(f"/tugas/{task_id}")
    assert page.status_code == 200
    case_link = html_of(page).xpath("//a[starts-with(@href, '/kasus/')]/@href")[0]
    return int(case_link.rsplit("/", 1)[1]), task_id


def register(pemohon: WebUser, task_id: int, **overrides: Any) -> TestResponse:
    return pemohon.post(f"/tugas/{task_id}", registration(**overrides), multipart=True)


def recommend(app: Flask, case_id: int) -> WebUser:
    """The agency head opens the recommendation from the inbox (no claim: it is their agency's) and recommends."""
    atasan = WebUser(app, "atasan")
    rows = atasan.inbox_rows(case_id)
    assert len(rows) == 1 and rows[0]["open"] and not rows[0]["claim"], rows
    task_id = task_id_of(rows[0]["open"])
    page = atasan.get(f"/tugas/{task_id}")
    assert page.status_code == 200
    assert "Budi Santoso" in page.get_data(as_text=True)  # the applicant's data is shown to the head
    assert location(atasan.post(f"/tugas/{task_id}", RECOMMEND)) == f"/kasus/{case_id}"
    return atasan


def claim_verification(app: Flask, case_id: int) -> tuple[WebUser, int, TestResponse]:
    verifikator = WebUser(app, "verifikator")
    rows = verifikator.inbox_rows(case_id)
    assert len(rows) == 1 and rows[0]["claim"], rows
    task_id = task_id_of(location(verifikator.post(rows[0]["claim"])))
    page = verifikator.get(f"/tugas/{task_id}")
    assert page.status_code == 200
    return verifikator, task_id, page


# Steps of the diagram by their label (ids may change when a step becomes a call activity).
REGISTRATION = "Isi formulir pendaftaran dan unggah dokumen"
RECOMMENDATION = "Beri rekomendasi permohonan"
CHECKS = "Pemeriksaan otomatis NIK, NIP, data ASN dan e-mail"
VERIFICATION = "Verifikasi identitas, status ASN dan rekomendasi"
ACTIVATION = "Aktivasi: setujui kewajiban dan kirim CSR"
DELIVERY = "Unduh sertifikat dan konfirmasi penerimaan"
START = "Permohonan diajukan"
END_DELIVERED = "Sertifikat diserahkan dan diarsipkan"


def diagram_states(page: TestResponse) -> dict[str, str]:
    """step label -> 'done' / 'active' / '' from the case page's inline SVG (shapes, not flows or lanes)."""
    doc = html_of(page)
    svg = doc.xpath("//svg[contains(@class, 'bpmn-diagram')]")
    assert len(svg) == 1, "no diagram SVG on the case page"
    states = {}
    for g in svg[0].xpath(".//g[@data-element-id]"):
        classes = (g.get("class") or "").split()
        if classes and classes[0] in ("bpmn-flow", "bpmn-lane", "bpmn-participant"):
            continue
        label = " ".join(g.text_content().split())
        states[label] = "active" if "active" in classes else "done" if "done" in classes else ""
    return states


def open_task_of(pemohon: WebUser, case_id: int) -> int:
    rows = pemohon.inbox_rows(case_id)
    assert len(rows) == 1 and rows[0]["open"], rows
    return task_id_of(rows[0]["open"])


# --------------------------------------------------------------------------- tests


def test_issuance_through_the_html_ui_ends_with_the_certificate_downloaded(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    form = html_of(pemohon.get(f"/tugas/{task_id}"))
    # Prefilled from the applicant record.
    assert form.xpath("//input[@name='full_name']/@value") == ["Budi Santoso"]
    assert form.xpath("//input[@name='nik']/@value") == ["3375011507900001"]

    assert location(register(pemohon, task_id)) == f"/kasus/{case_id}"
    case_page = pemohon.get(f"/kasus/{case_id}")
    assert case_page.status_code == 200
    states = diagram_states(case_page)
    assert states[RECOMMENDATION] == "active"
    assert states[REGISTRATION] == "done" and states[START] == "done"
    assert states[VERIFICATION] == "" and states[END_DELIVERED] == ""

    recommend(app, case_id)
    verifikator, verification_id, page = claim_verification(app, case_id)
    checks = html_of(page).xpath("//ul[@id='automated-checks']/li")
    assert checks, "no automated checks listed"
    texts = [c.text_content() for c in checks]
    assert any("Struktur NIK" in t for t in texts), texts
    assert not any("Tidak ada hasil pemeriksaan" in t for t in texts)
    assert all(c.get("class") in ("ok", "warn") for c in checks), texts  # the demo applicant is clean
    assert "Merekomendasikan" in page.get_data(as_text=True)
    states = diagram_states(verifikator.get(f"/kasus/{case_id}"))
    assert states[RECOMMENDATION] == "done" and states[CHECKS] == "done"
    assert states[ACTIVATION] == "" and states[END_DELIVERED] == ""
    # (the highlight of the verification step itself: test_current_step_inside_a_call_activity_is_highlighted)
    assert location(verifikator.post(f"/tugas/{verification_id}", APPROVE_FORM)) == f"/kasus/{case_id}"

    states = diagram_states(pemohon.get(f"/kasus/{case_id}"))
    assert states[ACTIVATION] == "active" and states[VERIFICATION] == "done"
    activation_id = open_task_of(pemohon, case_id)
    activation = pemohon.get(f"/tugas/{activation_id}")
    doc = html_of(activation)
    assert doc.xpath("//button[@id='generate-csr']/@data-common-name") == ["Budi Santoso"]
    scripts = doc.xpath("//script/@src")
    assert scripts == ["/static/js/forms.js", "/static/vendor/reflect-metadata.js", "/static/vendor/x509.js", "/static/js/der.js", "/static/js/csr.js"]
    csr, key = csr_pem()
    delivery_url = location(pemohon.post(f"/tugas/{activation_id}", {"accept_obligations": "true", "csr_pem": csr}))
    delivery = pemohon.get(delivery_url)
    assert delivery.status_code == 200
    states = diagram_states(pemohon.get(f"/kasus/{case_id}"))
    assert states[ACTIVATION] == "done" and states[END_DELIVERED] == ""
    link = html_of(delivery).xpath("//a[@id='download-certificate']/@href")
    assert len(link) == 1, delivery.get_data(as_text=True)
    download = pemohon.get(link[0])
    assert download.status_code == 200
    assert download.mimetype == "application/x-pem-file"
    assert "attachment" in download.headers["Content-Disposition"]
    leaf, *chain = x509.load_pem_x509_certificates(download.get_data())
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()
    assert len(chain) == 2
    # Nobody else's certificate: another pemohon is refused, the verifikator may fetch it.
    assert WebUser(app, "pemohon2").get(link[0]).status_code == 403
    assert verifikator.get(link[0]).status_code == 200

    assert location(pemohon.post(delivery_url, {"received": "true"})) == f"/kasus/{case_id}"
    final = pemohon.get(f"/kasus/{case_id}")
    status = html_of(final).xpath("string(//dd[@id='case-status'])")
    assert "Selesai" in status
    states = diagram_states(final)
    assert "active" not in states.values()
    assert states[DELIVERY] == "done" and states[END_DELIVERED] == "done"
    # The certificate link on the case page works too.
    case_links = html_of(final).xpath("//a[starts-with(@href, '/sertifikat/')]/@href")
    assert case_links == link
    assert pemohon.get(f"/tugas/{activation_id}").status_code == 302  # a finished task sends you to the case


def test_failed_registration_rerenders_422_keeping_input_and_storing_no_upload(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    response = register(pemohon, task_id, full_name="Budi Santoso Wibowo", phone="0813-2222-3333", nik="12345",
                        statement_true=None, asn_proof=None)
    assert response.status_code == 422
    doc = html_of(response)
    text = response.get_data(as_text=True)
    # Indonesian messages next to the fields: identity typed into the form is refused, not taken.
    messages = [e.text_content() for e in doc.xpath("//p[@class='field-error']")]
    assert any(m.startswith("NIK tidak dapat diubah di formulir") for m in messages), messages
    assert any(m.startswith("Nama tidak dapat diubah di formulir") for m in messages), messages
    assert "Anda harus menyatakan bahwa data yang diberikan benar." in messages
    assert "Unggah bukti status ASN (SK / kartu pegawai)." in messages
    assert "Periksa kembali isian yang ditandai." in text
    assert doc.xpath("//input[@name='nik']/@aria-invalid") == ["true"]
    # What the applicant declared is still there; identity shows the person record, read-only.
    assert doc.xpath("//input[@name='phone']/@value") == ["0813-2222-3333"]
    assert doc.xpath("//input[@name='full_name']/@value") == ["Budi Santoso"]
    assert doc.xpath("//input[@name='nik']/@value") == ["3375011507900001"]
    assert doc.xpath("//input[@name='nik']/@readonly") == ["readonly"]
    assert doc.xpath("//input[@type='hidden' and @name='agency_code']/@value") == ["diskominfo"]
    assert doc.xpath("//input[@name='statement_true']/@checked") == []
    # Nothing of a refused submit is stored: the good KTP upload is not kept as the case's document, and the
    # form says to choose it again (uploads are stored only with a form that passes).
    assert doc.xpath("//input[@type='hidden' and @name='ktp_scan']") == []
    assert "Berkas ini belum disimpan karena isian lain perlu diperbaiki; pilih berkas ini lagi." in messages
    assert pemohon.get(f"/kasus/{case_id}").get_data(as_text=True).count('href="/dokumen/') == 0

    # Correct the form and upload again.
    fixed = registration(phone="0813-2222-3333")
    assert location(pemohon.post(f"/tugas/{task_id}", fixed, multipart=True)) == f"/kasus/{case_id}"
    case_page = pemohon.get(f"/kasus/{case_id}").get_data(as_text=True)
    # ktp.png once, sk-cpns.pdf and the sealed PDF of the registration form
    assert case_page.count('href="/dokumen/') == 3


def test_post_without_csrf_token_is_refused(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    assert pemohon.csrf
    no_token = pemohon.client.post("/proses/issuance_ams/mulai")
    assert no_token.status_code == 400
    assert "Token CSRF tidak valid; muat ulang halaman." in no_token.get_data(as_text=True)
    wrong = pemohon.client.post("/proses/issuance_ams/mulai", data={"csrf_token": "x" * 43})
    assert wrong.status_code == 400
    assert "Belum ada kasus." in pemohon.get("/").get_data(as_text=True)
    # Logging out is a POST too.
    assert pemohon.client.post("/keluar").status_code == 400
    assert pemohon.get("/").status_code == 200  # still logged in
    assert location(pemohon.post("/keluar")) == "/masuk"
    assert location(pemohon.get("/")).startswith("/masuk")


def test_anonymous_visitor_is_sent_to_the_login_page_and_back(client: FlaskClient) -> None:
    assert location(client.get("/")) == "/masuk?next=/"
    assert location(client.get("/kasus/1")) == "/masuk?next=/kasus/1"
    assert location(client.get("/dokumen/1")) == "/masuk?next=/dokumen/1"
    login = client.get("/masuk")
    assert login.status_code == 200
    assert html_of(login).xpath("//input[@name='username']") and html_of(login).xpath("//input[@type='password']")
    token = csrf_of(login)
    response = client.post("/masuk?next=/kasus/1", data={"csrf_token": token, "username": "pemohon", "password": DEMO_PASSWORD})
    assert location(response) == "/kasus/1"
    # An off-site `next` is ignored.
    client.post("/keluar", data={"csrf_token": csrf_of(client.get("/"))})
    response = client.post("/masuk?next=//evil.example/x", data={"csrf_token": csrf_of(client.get("/masuk")), "username": "pemohon", "password": DEMO_PASSWORD})
    assert location(response) == "/"


def test_wrong_password_shows_an_indonesian_message(client: FlaskClient) -> None:
    token = csrf_of(client.get("/masuk"))
    response = client.post("/masuk", data={"csrf_token": token, "username": "pemohon", "password": "salah-sekali"})
    assert response.status_code == 401
    text = response.get_data(as_text=True)
    assert "Nama pengguna atau kata sandi salah." in text
    doc = html_of(response)
    assert doc.xpath("//input[@name='username']/@value") == ["pemohon"]
    assert doc.xpath("//input[@name='password']/@value") == []  # the password is never echoed
    assert "salah-sekali" not in text
    assert location(client.get("/")).startswith("/masuk")
    # No login without a token either, even with the right password.
    fresh = client.application.test_client()
    assert fresh.post("/masuk", data={"username": "pemohon", "password": DEMO_PASSWORD}).status_code == 400


def test_people_outside_the_case_get_403_on_its_pages_and_documents(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert location(register(pemohon, task_id)) == f"/kasus/{case_id}"
    doc_links = html_of(pemohon.get(f"/kasus/{case_id}")).xpath("//a[starts-with(@href, '/dokumen/')]/@href")
    assert len(doc_links) == 3  # the two uploads and the sealed PDF of the registration form
    own = pemohon.get(doc_links[0])
    assert own.status_code == 200 and own.get_data() == PNG
    assert own.headers["X-Content-Type-Options"] == "nosniff"

    intruder = WebUser(app, "pemohon2")  # Dinas Kesehatan
    for path in (f"/kasus/{case_id}", *doc_links):
        response = intruder.get(path)
        assert response.status_code == 403, path
        assert "Anda tidak berwenang" in response.get_data(as_text=True)
        assert "Budi Santoso" not in response.get_data(as_text=True)
    assert "Belum ada kasus." in intruder.get("/").get_data(as_text=True)

    # The head of another agency sees no task and may not open the recommendation.
    atasan2 = WebUser(app, "atasan2")
    assert atasan2.inbox_rows(case_id) == []
    atasan = WebUser(app, "atasan")
    recommendation_url = next(r["open"] for r in atasan.inbox_rows(case_id))
    assert atasan2.get(recommendation_url).status_code == 403
    assert atasan2.get(f"/kasus/{case_id}").status_code == 403
    assert atasan2.post(recommendation_url, RECOMMEND).status_code == 403
    assert atasan2.post(f"{recommendation_url}/klaim").status_code == 403


def test_pemohon_of_another_agency_gets_403_on_someone_elses_task_page(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    intruder = WebUser(app, "pemohon2")
    assert intruder.get(f"/tugas/{task_id}").status_code == 403
    assert intruder.get(f"/kasus/{case_id}").status_code == 403
    response = intruder.post(f"/tugas/{task_id}", registration(), multipart=True)
    assert response.status_code == 403
    # Nothing was stored on the case by the refused upload.
    assert "Belum ada dokumen." in pemohon.get(f"/kasus/{case_id}").get_data(as_text=True)


def test_returned_application_shows_the_reasons_on_the_prefilled_form(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    register(pemohon, task_id, phone="0813-0000-1111", ktp_scan=(io.BytesIO(PNG), "ktp-buram.png"))
    recommend(app, case_id)
    verifikator, verification_id, _page = claim_verification(app, case_id)
    # Approving without the three checks ticked is refused with field messages.
    response = verifikator.post(f"/tugas/{verification_id}", {"decision": "approve"})
    assert response.status_code == 422
    shown = html_of(response).xpath("//p[@class='field-error']/text()")
    assert shown.count("Wajib dicentang sebelum permohonan disetujui.") == 3  # (and once each in the summary)
    response = verifikator.post(f"/tugas/{verification_id}", {"decision": "return", "reasons": "Pindaian KTP buram."})
    assert location(response) == f"/kasus/{case_id}"

    again = open_task_of(pemohon, case_id)
    assert again != task_id
    page = pemohon.get(f"/tugas/{again}")
    text = page.get_data(as_text=True)
    assert "Permohonan dikembalikan untuk diperbaiki" in text and "Pindaian KTP buram." in text
    doc = html_of(page)
    assert doc.xpath("//input[@name='phone']/@value") == ["0813-0000-1111"]
    assert doc.xpath("//input[@type='hidden' and @name='ktp_scan']/@value")  # earlier upload offered again
    assert "Sudah diunggah: ktp-buram.png" in text
    states = diagram_states(pemohon.get(f"/kasus/{case_id}"))
    assert states[REGISTRATION] == "active"


def test_staff_without_the_pemohon_role_cannot_start_an_application(app: Flask) -> None:
    for username in ("admin", "auditor"):
        user = WebUser(app, username)
        assert not html_of(user.get("/")).xpath("//form[@action='/proses/issuance_ams/mulai']"), username
        assert user.post("/proses/issuance_ams/mulai").status_code == 403, username


# --------------------------------------------------------------------------- formerly known bugs, now fixed



def test_current_step_inside_a_call_activity_is_highlighted(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert location(register(pemohon, task_id)) == f"/kasus/{case_id}"
    recommend(app, case_id)
    verifikator, verification_id, _page = claim_verification(app, case_id)
    assert diagram_states(verifikator.get(f"/kasus/{case_id}"))[VERIFICATION] == "active"
    assert location(verifikator.post(f"/tugas/{verification_id}", APPROVE_FORM)) == f"/kasus/{case_id}"
    activation_id = open_task_of(pemohon, case_id)
    csr, _key = csr_pem()
    delivery_url = location(pemohon.post(f"/tugas/{activation_id}", {"accept_obligations": "true", "csr_pem": csr}))
    assert delivery_url.startswith("/tugas/")
    assert diagram_states(pemohon.get(f"/kasus/{case_id}"))[DELIVERY] == "active"


def test_csrf_refusal_tells_the_user_to_reload_the_page(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    response = pemohon.client.post("/proses/issuance_ams/mulai", data={"csrf_token": "kedaluwarsa"})
    assert response.status_code == 400
    assert "muat ulang halaman" in response.get_data(as_text=True)


def test_inbox_shows_times_in_wib(app: Flask) -> None:
    from datetime import timedelta  # noqa: PLC0415

    from engine.models import HumanTask, db  # noqa: PLC0415 - read the stored UTC time

    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    with app.app_context():
        created = db.session.get(HumanTask, task_id).created_at
    inbox = pemohon.get("/").get_data(as_text=True)
    assert (created + timedelta(hours=7)).strftime("%d-%m-%Y %H:%M") in inbox
