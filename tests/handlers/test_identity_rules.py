"""Table-driven NIK and NIP rules: each row is a number and the exact message (or none) it must give."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.identity import nik_nip_agreement, validate_nik, validate_nip

TODAY = date(2025, 6, 1)

NIK_DIGITS = "NIK hanya boleh berisi angka; bukan angka: "
NIK_DAY = "harus 01–31 (laki-laki) atau 41–71 (perempuan, tanggal + 40)."

# (NIK, the problems validate_nik must report, exactly)
NIK_CASES: list[tuple[str, list[str]]] = [
    # well formed: Kota Pekalongan, elsewhere, men and women, both centuries, leap day, edges of the ranges
    ("3375010101900001", []),
    ("3375014101900002", []),
    ("3201010101900001", []),
    ("1101012512850003", []),
    ("9471016712990001", []),
    ("9601013112000001", []),
    ("3375037112000009", []),
    ("3375042902000001", []),
    ("3375046902920001", []),
    ("3375011506059999", []),
    ("3375010101250001", []),
    ("3375010108250001", []),
    ("2171011212880001", []),
    ("5171010707770077", []),
    ("6571011003010001", []),
    ("8271012012120012", []),
    (" 3375 0101 0190 0001 ", []),
    ("3375015512680002", []),
    # empty, wrong length, letters (each fault named)
    ("", ["NIK wajib diisi."]),
    ("337501010190001", ["NIK harus 16 digit; yang tertulis 15 karakter."]),
    ("33750101019000012", ["NIK harus 16 digit; yang tertulis 17 karakter."]),
    ("33750101019O0001", [NIK_DIGITS + "'O' pada posisi ke-12."]),
    ("3375A1010190000", [NIK_DIGITS + "'A' pada posisi ke-5.", "NIK harus 16 digit; yang tertulis 15 karakter."]),
    ("ABCDEFGHIJKLMNOP", [NIK_DIGITS + "'A' pada posisi ke-1, 'B' pada posisi ke-2, 'C' pada posisi ke-3 dan 13 lainnya."]),
    ("3375-0101-0190-01", [NIK_DIGITS + "'-' pada posisi ke-5, '-' pada posisi ke-10, '-' pada posisi ke-15.",
                           "NIK harus 16 digit; yang tertulis 17 karakter."]),
    # region codes
    ("1075010101900001", ["Kode provinsi pada NIK (10, digit ke-1–2) tidak dikenal."]),
    ("2075010101900001", ["Kode provinsi pada NIK (20, digit ke-1–2) tidak dikenal."]),
    ("3775010101900001", ["Kode provinsi pada NIK (37, digit ke-1–2) tidak dikenal."]),
    ("9775010101900001", ["Kode provinsi pada NIK (97, digit ke-1–2) tidak dikenal."]),
    ("0075010101900001", ["Kode provinsi pada NIK (00, digit ke-1–2) tidak dikenal."]),
    ("3300010101900001", ["Kode kabupaten/kota pada NIK (digit ke-3–4) tidak boleh 00."]),
    ("3375000101900001", ["Kode kecamatan pada NIK (digit ke-5–6) tidak boleh 00."]),
    # birth dates
    ("3375010001900001", [f"Tanggal lahir pada NIK (000190) tidak valid: digit ke-7–8 (00) {NIK_DAY}"]),
    ("3375013201900001", [f"Tanggal lahir pada NIK (320190) tidak valid: digit ke-7–8 (32) {NIK_DAY}"]),
    ("3375014001900001", [f"Tanggal lahir pada NIK (400190) tidak valid: digit ke-7–8 (40) {NIK_DAY}"]),
    ("3375017201900001", [f"Tanggal lahir pada NIK (720190) tidak valid: digit ke-7–8 (72) {NIK_DAY}"]),
    ("3375019901900001", [f"Tanggal lahir pada NIK (990190) tidak valid: digit ke-7–8 (99) {NIK_DAY}"]),
    ("3375010113900001", ["Tanggal lahir pada NIK (011390) tidak valid: bulan 13 tidak ada."]),
    ("3375010100900001", ["Tanggal lahir pada NIK (010090) tidak valid: bulan 00 tidak ada."]),
    ("3375013102900001", ["Tanggal lahir pada NIK (310290) tidak valid: tanggal 31 tidak ada pada bulan Februari."]),
    ("3375017102900001", ["Tanggal lahir pada NIK (710290) tidak valid: tanggal 31 tidak ada pada bulan Februari."]),
    ("3375013104900001", ["Tanggal lahir pada NIK (310490) tidak valid: tanggal 31 tidak ada pada bulan April."]),
    ("3375012902900001", ["Tanggal lahir pada NIK (290290) tidak valid: tanggal 29 Februari tidak ada pada tahun 90."]),
    # sequence, and several faults at once
    ("3375010101900000", ["Nomor urut pada NIK (digit ke-13–16) tidak boleh 0000; nomor urut dimulai dari 0001."]),
    ("1000003201900000", [
        "Kode provinsi pada NIK (10, digit ke-1–2) tidak dikenal.",
        "Kode kabupaten/kota pada NIK (digit ke-3–4) tidak boleh 00.",
        "Kode kecamatan pada NIK (digit ke-5–6) tidak boleh 00.",
        f"Tanggal lahir pada NIK (320190) tidak valid: digit ke-7–8 (32) {NIK_DAY}",
        "Nomor urut pada NIK (digit ke-13–16) tidak boleh 0000; nomor urut dimulai dari 0001.",
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("nik", "problems"), NIK_CASES)
def test_nik_rule(nik: str, problems: list[str]) -> None:
    assert validate_nik(nik, today=TODAY) == problems


NIP_GENDER = "Kode jenis kelamin pada NIP (digit ke-15) adalah {}; harus 1 (laki-laki) atau 2 (perempuan)."
NIP_NEITHER = (
    "Digit ke-13–14 NIP ({}) bukan bulan TMT CPNS (01–12, NIP PNS) dan bukan penanda Nomor Induk PPPK (21–29); "
    "nomor ini tidak sesuai pola NIP PNS maupun PPPK."
)
NIP_BIRTH = "Tanggal lahir pada NIP ({}, digit ke-1–8, format TTTTBBHH) tidak valid: {}."
NIP_YOUNG = (
    "TMT CPNS pada NIP ({}) tidak valid: pemilik baru berusia {} tahun (lahir {}); "
    "pengangkatan paling cepat pada usia 18 tahun."
)
NIP_SEQUENCE = "Nomor urut pada NIP (digit ke-16–18) tidak boleh 000; nomor urut dimulai dari 001."

# (NIP, kind or None, the problems validate_nip must report, exactly)
NIP_CASES: list[tuple[str, str | None, list[str]]] = [
    # PNS: TMT month 01–12, on/after the 18th birthday, not in the future, gender 1/2, sequence from 001
    ("199001012015031001", "PNS", []),
    ("199001012015032001", "PNS", []),
    ("199203222017012002", "PNS", []),
    ("197501102000031003", "PNS", []),
    ("196808171994031008", "PNS", []),
    ("198811302012012005", "PNS", []),
    ("197804152003122004", "PNS", []),
    ("200002292018031001", "PNS", []),
    ("199005152008061999", "PNS", []),
    ("199005012008051001", "PNS", []),
    ("199001012025061001", "PNS", []),
    ("19900101 201503 1 001", "PNS", []),
    ("190001012015031001", "PNS", []),
    # PPPK: year ≥ 2019, 18 in that year, not in the future; field 21–29
    ("199001012023211001", "PPPK", []),
    ("198507122023212001", "PPPK", []),
    ("196501012019211001", "PPPK", []),
    ("200512312023211001", "PPPK", []),
    ("199001012024221005", "PPPK", []),
    ("199001012025291001", "PPPK", []),
    # the examples
    ("199203222017013002", None, [NIP_GENDER.format(3)]),
    ("199214222017012002", None, [NIP_BIRTH.format("19921422", "bulan 14 tidak ada")]),
    ("199203222000012002", None, [NIP_YOUNG.format("200001, Januari 2000", 7, "22-03-1992")]),
    # shape
    ("", None, ["NIP wajib diisi."]),
    ("19900101201503100", None, ["NIP harus 18 digit; yang tertulis 17 karakter."]),
    ("1990010120150310011", None, ["NIP harus 18 digit; yang tertulis 19 karakter."]),
    ("19900101201503100A", None, ["NIP hanya boleh berisi angka; bukan angka: 'A' pada posisi ke-18."]),
    ("abc", None, ["NIP hanya boleh berisi angka; bukan angka: 'a' pada posisi ke-1, 'b' pada posisi ke-2, "
                   "'c' pada posisi ke-3.", "NIP harus 18 digit; yang tertulis 3 karakter."]),
    # birth date
    ("199013012015031001", None, [NIP_BIRTH.format("19901301", "bulan 13 tidak ada")]),
    ("199000012015031001", None, [NIP_BIRTH.format("19900001", "bulan 00 tidak ada")]),
    ("199001002015031001", None, [NIP_BIRTH.format("19900100", "tanggal 00 tidak ada")]),
    ("199002302015031001", None, [NIP_BIRTH.format("19900230", "tanggal 30 tidak ada pada bulan Februari 1990")]),
    ("199102292015031001", None, [NIP_BIRTH.format("19910229", "tanggal 29 tidak ada pada bulan Februari 1991")]),
    ("199004312015031001", None, [NIP_BIRTH.format("19900431", "tanggal 31 tidak ada pada bulan April 1990")]),
    ("189912312015031001", None, ["Tanggal lahir pada NIP (18991231) tidak valid: tahun 1899 sebelum 1900."]),
    ("202601012015031001", None, ["Tanggal lahir pada NIP (20260101) tidak valid: tanggal itu belum terjadi."]),
    # PNS appointment
    ("199005152008051001", None, [NIP_YOUNG.format("200805, Mei 2008", 17, "15-05-1990")]),
    ("199001012000031001", None, [NIP_YOUNG.format("200003, Maret 2000", 10, "01-01-1990")]),
    ("199001012025071001", None, ["TMT CPNS pada NIP (202507, Juli 2025) tidak valid: belum terjadi."]),
    ("199001012030011001", None, ["TMT CPNS pada NIP (203001, Januari 2030) tidak valid: belum terjadi."]),
    # digits 13–14 neither a month nor the PPPK field
    ("199001012015001001", None, [NIP_NEITHER.format("00")]),
    ("199001012015131001", None, [NIP_NEITHER.format("13")]),
    ("199001012015201001", None, [NIP_NEITHER.format("20")]),
    ("199001012015311001", None, [NIP_NEITHER.format("31")]),
    ("199001012015991001", None, [NIP_NEITHER.format("99")]),
    # PPPK appointment
    ("199001012018211001", None, ["Tahun pengangkatan PPPK pada NIP (2018, digit ke-9–12) tidak valid: "
                                  "PPPK baru diangkat sejak 2019."]),
    ("199001012026211001", None, ["Tahun pengangkatan PPPK pada NIP (2026) tidak valid: belum terjadi."]),
    ("200701012024211001", None, ["Tahun pengangkatan PPPK pada NIP (2024) tidak valid: pemilik (lahir 01-01-2007) "
                                  "belum berusia 18 tahun pada tahun itu."]),
    ("199001012023213001", None, [NIP_GENDER.format(3)]),
    # gender, sequence and several faults at once
    ("199001012015030001", None, [NIP_GENDER.format(0)]),
    ("199001012015039001", None, [NIP_GENDER.format(9)]),
    ("199001012015031000", None, [NIP_SEQUENCE]),
    ("199013012015133000", None, [NIP_BIRTH.format("19901301", "bulan 13 tidak ada"), NIP_NEITHER.format("13"),
                                  NIP_GENDER.format(3), NIP_SEQUENCE]),
]  # fmt: skip


@pytest.mark.parametrize(("nip", "kind", "problems"), NIP_CASES)
def test_nip_rule(nip: str, kind: str | None, problems: list[str]) -> None:
    result = validate_nip(nip, today=TODAY)
    assert (result.kind, result.problems) == (kind, problems)
    assert result.ok is (not problems)


def test_tables_are_large_and_mixed() -> None:
    for cases in (NIK_CASES, [(n, p) for n, _, p in NIP_CASES]):
        assert len(cases) >= 40
        assert sum(1 for _, p in cases if p) >= 20 and sum(1 for _, p in cases if not p) >= 15


def test_no_number_of_the_wrong_shape_is_accepted_as_pppk() -> None:
    for nip, kind, problems in NIP_CASES:
        if problems:
            assert validate_nip(nip, today=TODAY).notes == [], nip
    assert validate_nip("199001012023211001", today=TODAY).notes == [
        "Nomor Induk PPPK: diangkat pertama sebagai PPPK pada tahun 2023."
    ]


@pytest.mark.parametrize("nip", ["199214222017012002", "199203222017013002", "199203222000012002"])
def test_agreement_is_never_reported_for_an_invalid_nip(nip: str) -> None:
    warnings = nik_nip_agreement("3375026203920002", nip, today=TODAY)
    assert warnings == ["Tidak dapat dibandingkan: NIK atau NIP tidak valid (lihat pemeriksaan strukturnya)."]


def test_agreement_of_valid_numbers() -> None:
    assert nik_nip_agreement("3375026203920002", "199203222017012002", today=TODAY) == []
    assert nik_nip_agreement("3375016203920002", "199203222017011002", today=TODAY) == [
        "Jenis kelamin pada NIK (perempuan) berbeda dengan jenis kelamin pada NIP (laki-laki)."
    ]
