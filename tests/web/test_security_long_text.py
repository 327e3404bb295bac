"""Long text never breaks a form PDF: a 3,500-character note wraps and continues on further pages."""

from __future__ import annotations

import subprocess
from pathlib import Path

from flask import Flask

from handlers.form_pdf import render_form_pdf
from tests.sops.builders import RECOMMEND
from tests.web.test_html_flow import WebUser, location, register, start_case, task_id_of

NOTE = ("Kepala dinas menyetujui dengan catatan panjang tentang tugas dan fungsi pemohon. " * 50)[:3500]


def _text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_long_note_wraps_onto_further_pages_and_all_of_it_is_printed(tmp_path: Path) -> None:
    unbroken = "x" * 3500  # no space to break at
    pdf = render_form_pdf(
        "recommendation",
        [("Nama", "Budi"), ("Catatan", NOTE), ("Tanpa spasi", unbroken), ("Terakhir", "selesai")],
        statement="Saya menyatakan. " * 200,
        signer_name="Dr. Agus",
        signer_role="Kepala Dinas",
        case_id=7,
    )
    text = _text_of(pdf, tmp_path)
    assert "Halaman 2 dari" in text
    assert "Catatan (lanjutan)" in text or NOTE.replace(" ", "") in text.replace(" ", "").replace("\n", "")
    assert text.replace("\n", "").count("x" * 40) >= 3500 // 40 - 5  # nothing was cut off
    assert "selesai" in text and "Dr. Agus" in text


def test_the_atasan_can_submit_a_3500_character_note(app: Flask) -> None:
    pemohon = WebUser(app, "pemohon")
    case_id, task_id = start_case(pemohon)
    assert register(pemohon, task_id).status_code in (302, 303)
    atasan = WebUser(app, "atasan")
    rows = atasan.inbox_rows(case_id)
    head_task = task_id_of(rows[0]["open"])
    response = atasan.post(f"/tugas/{head_task}", {**RECOMMEND, "notes": NOTE})
    assert location(response) == f"/kasus/{case_id}"
