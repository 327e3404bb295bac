"""Printable PDF of the four official forms (A4, the city's letterhead, the data, the date, the signer).

Pure rendering: no engine import. The operator in handlers/form_documents.py builds the rows from a
case's data and signs the result (owner's eSign key or the RA seal). The signing step adds a visible
stamp at the bottom-left of the last page (pki/signing.py: 36 pt margin, 260 x 78 pt), so the body
never enters the bottom STAMP_ZONE_MM of any page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FORM_TITLES: dict[str, str] = {
    "registration": "FORMULIR PENDAFTARAN SERTIFIKAT ELEKTRONIK UNTUK INDIVIDU",
    "recommendation": "FORMULIR REKOMENDASI PERMOHONAN PENERBITAN SERTIFIKAT ELEKTRONIK UNTUK INDIVIDU",
    "revocation_statement": "FORMULIR PERNYATAAN PENCABUTAN SERTIFIKAT ELEKTRONIK",
    "forgotten_passphrase": "FORMULIR PERNYATAAN LUPA PASSPHRASE",
}
LETTERHEAD_GOVERNMENT = "PEMERINTAH KOTA PEKALONGAN"
LETTERHEAD_AGENCY = "DINAS KOMUNIKASI DAN INFORMATIKA"
# Demo address of the Dinas: replace with the official address line before production use.
LETTERHEAD_ADDRESS = "Jl. Mataram No. 1 Pekalongan"
PLACE = "Pekalongan"
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
WIB = timezone(timedelta(hours=7), "WIB")  # Western Indonesia Time has no daylight saving

# Geometry (mm). The stamp of pki/signing.py reaches 36 + 78 = 114 pt (40.2 mm) from the bottom edge.
STAMP_ZONE_MM = 48
MARGIN_MM = 20
LABEL_WIDTH_MM = 58
TITLE_MAX_PT, TITLE_MIN_PT = 12.0, 8.5

# Characters NFKD does not reduce to latin-1 but that have an obvious plain spelling.
_SPELLINGS = {
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u20ac": "EUR",
}


def latin1(text: object) -> str:
    """Return `text` spelled with latin-1 characters only (core PDF fonts): never raises.

    Latin-1 characters stay; others are decomposed (NFKD) and their accents dropped; what still is not
    latin-1 becomes '?'. Control characters other than newline become spaces.
    """
    out: list[str] = []
    for ch in str(text if text is not None else ""):
        if ch == "\n" or (ch >= " " and ord(ch) < 256 and not 0x7F <= ord(ch) < 0xA0):
            out.append(ch)
            continue
        if ch in _SPELLINGS:
            out.append(_SPELLINGS[ch])
            continue
        if unicodedata.category(ch).startswith("C") or ch in "\t\r\u2028\u2029":
            out.append(" ")
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(plain if plain and all(c >= " " and ord(c) < 256 for c in plain) else "?")
    return "".join(out)


def indonesian_date(day: date) -> str:
    """28 November 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def today_wib() -> date:
    """Today's date in Pekalongan (WIB)."""
    return datetime.now(UTC).astimezone(WIB).date()


def place_date_line(day: date | None = None, place: str = PLACE) -> str:
    """'Pekalongan, 28 November 2026' (today in WIB unless `day` is given)."""
    return f"{place}, {indonesian_date(day or today_wib())}"


class _FormPdf(FPDF):
    """An A4 page with the case reference and page number in the footer of every page."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("helvetica", "", 7.5)
        self.set_text_color(90, 90, 90)
        self.cell(0, 4, latin1(self.footer_text), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"Halaman {self.page_no()} dari {{nb}}", align="R")
        self.set_text_color(0, 0, 0)


def _letterhead(pdf: FPDF) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(width, 7, LETTERHEAD_GOVERNMENT, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "B", 13)
    pdf.cell(width, 7, LETTERHEAD_AGENCY, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 10)
    pdf.cell(width, 5, LETTERHEAD_ADDRESS, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    y = pdf.get_y() + 2
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
    pdf.set_line_width(0.2)
    pdf.line(pdf.l_margin, y + 1.2, pdf.w - pdf.r_margin, y + 1.2)
    pdf.set_y(y + 6)


def _title(pdf: FPDF, title: str, subtitle: str) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    size = TITLE_MAX_PT
    pdf.set_font("helvetica", "B", size)
    while pdf.get_string_width(title) > width and size > TITLE_MIN_PT:
        size -= 0.5
        pdf.set_font("helvetica", "B", size)
    pdf.multi_cell(width, 6, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if subtitle:
        pdf.set_font("helvetica", "", 9.5)
        pdf.cell(width, 5, subtitle, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


# A table row never grows beyond this many lines of its value: a longer text (a 3,500-character note)
# continues in further rows labelled "(lanjutan)", which the table breaks across pages.
MAX_LINES_PER_ROW = 24


def _split_long_rows(pdf: FPDF, rows: Sequence[tuple[str, str | None]], width: float) -> list[tuple[str, str | None]]:
    """The rows with every value too long for one page split into continuation rows of whole lines."""
    value_width = width - LABEL_WIDTH_MM - 2 * 1.5 - 1
    out: list[tuple[str, str | None]] = []
    for label, value in rows:
        text = latin1(value) if value is not None else None
        if text is None or len(text) < 400:
            out.append((label, value))
            continue
        wrapped = pdf.multi_cell(value_width, 5.5, text, dry_run=True, output="LINES")
        lines = [str(line) for line in wrapped] if isinstance(wrapped, list) else [text]
        for start in range(0, len(lines), MAX_LINES_PER_ROW):
            chunk = "\n".join(line.rstrip() for line in lines[start : start + MAX_LINES_PER_ROW])
            out.append((label if start == 0 else f"{label} (lanjutan)", chunk))
    return out


def _table(pdf: FPDF, rows: Sequence[tuple[str, str | None]]) -> None:
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("helvetica", "", 10)
    rows = _split_long_rows(pdf, rows, width)
    pdf.set_draw_color(120, 120, 120)
    with pdf.table(
        col_widths=(LABEL_WIDTH_MM, width - LABEL_WIDTH_MM),
        first_row_as_headings=False,
        line_height=5.5,
        padding=1.5,
        text_align=("LEFT", "LEFT"),
        v_align="TOP",
    ) as table:
        for label, value in rows:
            row = table.row()
            if value is None:  # a section heading spanning both columns
                pdf.set_font("helvetica", "B", 10)
                row.cell(latin1(label), colspan=2, style=None)
                pdf.set_font("helvetica", "", 10)
                continue
            row.cell(latin1(label))
            row.cell(latin1(value) if str(value).strip() else "-")
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(5)


def _statement(pdf: FPDF, statement: str) -> None:
    if not statement:
        return
    pdf.set_font("helvetica", "", 10)
    # multi_cell breaks a long statement across pages by itself (auto page break).
    pdf.multi_cell(0, 5.2, latin1(statement), align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)


# What the line under the signer's role says: true only of the signature actually applied to the PDF.
SIGNED_MARK = "(ditandatangani secara elektronik)"
SEALED_MARK = "(tidak ditandatangani sendiri; disegel secara elektronik oleh Otoritas Pendaftaran)"
RA_SEALED_MARK = "(disegel secara elektronik)"
UNSIGNED_MARK = "(tidak ditandatangani secara elektronik)"


def _signature_block(
    pdf: FPDF, place_date: str, signer_role: str, signer_name: str, signer_id: str, mark: str = SIGNED_MARK
) -> None:
    block_height = 5.5 * 3 + 22 + 5.5 * 2
    if pdf.get_y() + block_height > pdf.page_break_trigger:
        pdf.add_page()
    x = pdf.w / 2 + 5
    width = pdf.w - pdf.r_margin - x
    pdf.set_font("helvetica", "", 10)
    for text in (place_date, f"{signer_role}," if signer_role else ""):
        pdf.set_x(x)
        pdf.multi_cell(width, 5.5, latin1(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "I", 8)
    pdf.set_x(x)
    pdf.multi_cell(width, 4.5, latin1(mark), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(14)
    pdf.set_font("helvetica", "BU", 10)
    pdf.set_x(x)
    pdf.multi_cell(width, 5.5, latin1(signer_name), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if signer_id:
        pdf.set_font("helvetica", "", 10)
        pdf.set_x(x)
        pdf.multi_cell(width, 5.5, latin1(signer_id), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_form_pdf(
    kind: str,
    fields: Sequence[tuple[str, str | None]],
    *,
    statement: str,
    signer_name: str,
    signer_role: str,
    case_id: int | str,
    place_date: str | None = None,
    title: str | None = None,
    subtitle: str = "",
    signer_id: str = "",
    reference: str = "",
    signature_mark: str = SIGNED_MARK,
) -> bytes:
    """Render one of the four forms as an unsigned A4 PDF and return its bytes.

    `kind`: registration | recommendation | revocation_statement | forgotten_passphrase (chooses the
    official title unless `title` is given). `fields`: (label, value) rows of the data table, in order;
    a row whose value is None is a section heading. `statement`: the declaration printed under the
    table. `place_date` defaults to 'Pekalongan, <today in WIB>'. `signer_id` is printed under the
    signer's name (e.g. 'NIP 1990…'); `reference` (e.g. 'SOP 088.9') goes into the footer with the
    case number. `signature_mark` is the line under the signer's role: SIGNED_MARK only when the signer
    signs the PDF with their own key, SEALED_MARK (or RA_SEALED_MARK for the RA itself) when the RA seals it,
    UNSIGNED_MARK otherwise. Every text is made latin-1 safe, so no name makes rendering fail.
    """
    if title is None:
        if kind not in FORM_TITLES:
            raise ValueError(f"unknown form kind {kind!r}")
        title = FORM_TITLES[kind]
    footer = f"Sertel - Otoritas Pendaftaran Kota Pekalongan | Nomor kasus: {case_id}"
    if reference:
        footer += f" | {reference}"
    pdf = _FormPdf(footer)
    pdf.set_title(latin1(title))
    pdf.set_author(latin1(f"{LETTERHEAD_AGENCY.title()} Kota Pekalongan"))
    pdf.set_subject(latin1(f"{title} - nomor kasus {case_id}"))
    pdf.set_creator("Sertel")
    pdf.set_margins(MARGIN_MM, 15, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=STAMP_ZONE_MM)
    pdf.alias_nb_pages()
    pdf.add_page()
    _letterhead(pdf)
    _title(pdf, latin1(title), latin1(subtitle or f"Nomor kasus: {case_id}"))
    _table(pdf, fields)
    _statement(pdf, statement)
    _signature_block(pdf, latin1(place_date or place_date_line()), signer_role, signer_name, signer_id, signature_mark)
    return bytes(pdf.output())
