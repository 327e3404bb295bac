"""Structure checks of NIK, NIP, names and official e-mail addresses."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.identity import (
    email_on_official_domain,
    names_match_loosely,
    nik_birth_date,
    nik_nip_agreement,
    nip_birth_date,
    validate_nik,
    validate_nip,
)

MAN_NIK = "3375010101900001"  # Kota Pekalongan, born 01-01-1990, male
WOMAN_NIK = "3375014101900002"  # same date, day + 40: female
PNS_NIP = "199001012015031001"  # born 1990-01-01, TMT CPNS 2015-03, male, no. 001
PPPK_NIP = "199001012023211001"  # born 1990-01-01, year 2023, "21" where a PNS has the month
TODAY = date(2025, 6, 1)


def test_well_formed_nik_has_no_problems() -> None:
    assert validate_nik(MAN_NIK) == []
    assert validate_nik(WOMAN_NIK) == []


def test_nik_registered_outside_pekalongan_is_accepted() -> None:
    assert validate_nik("3201010101900001") == []  # Kabupaten Bogor


def test_nik_with_spaces_is_normalized() -> None:
    assert validate_nik(" 3375 0101 0190 0001 ") == []


@pytest.mark.parametrize("nik", ["337501010190001", "33750101019000012", "33750101019O0001", ""])
def test_nik_must_have_sixteen_digits(nik: str) -> None:
    problems = validate_nik(nik)
    assert len(problems) == 1
    assert "NIK" in problems[0]


@pytest.mark.parametrize("nik", ["1075010101900001", "9775010101900001", "0075010101900001"])
def test_nik_with_unknown_province_is_rejected(nik: str) -> None:
    assert validate_nik(nik) == [f"Kode provinsi pada NIK ({nik[:2]}, digit ke-1–2) tidak dikenal."]


@pytest.mark.parametrize("birth", ["310290", "320190", "011390", "000190", "720190", "400190"])
def test_nik_with_impossible_birth_date_is_rejected(birth: str) -> None:
    problems = validate_nik(f"337501{birth}0001")
    assert len(problems) == 1
    assert problems[0].startswith("Tanggal lahir pada NIK")


def test_nik_birth_date_reads_gender_from_the_day() -> None:
    assert nik_birth_date(MAN_NIK) == (date(1990, 1, 1), "L")
    assert nik_birth_date(WOMAN_NIK) == (date(1990, 1, 1), "P")


def test_nik_birth_date_picks_the_latest_century_not_in_the_future() -> None:
    assert nik_birth_date("3375010101050001", today=TODAY) == (date(2005, 1, 1), "L")
    assert nik_birth_date("3375010108250001", today=TODAY) == (date(1925, 8, 1), "L")


def test_nik_birth_date_raises_on_invalid_nik() -> None:
    with pytest.raises(ValueError):
        nik_birth_date("3375013102900001")


def test_pns_nip_is_recognised() -> None:
    result = validate_nip(PNS_NIP, today=TODAY)
    assert result.ok and result.kind == "PNS" and result.notes == ["NIP PNS: TMT CPNS Maret 2015."]


def test_nip_written_in_groups_is_accepted() -> None:
    assert validate_nip("19900101 201503 1 001").kind == "PNS"


def test_pppk_number_is_recognised_by_its_marker() -> None:
    result = validate_nip(PPPK_NIP, today=TODAY)
    assert (result.ok, result.kind) == (True, "PPPK")
    assert result.notes == ["Nomor Induk PPPK: diangkat pertama sebagai PPPK pada tahun 2023."]


@pytest.mark.parametrize("nip", ["199001012015033001", "199013012015031001", "199001012015031000", "199001012000031001"])
def test_eighteen_digits_that_fit_neither_shape_are_refused_not_accepted_as_pppk(nip: str) -> None:
    result = validate_nip(nip, today=TODAY)
    assert not result.ok and result.kind is None and result.notes == []


@pytest.mark.parametrize("nip", ["19900101201503100", "1990010120150310011", "19900101201503100A", ""])
def test_nip_must_have_eighteen_digits(nip: str) -> None:
    result = validate_nip(nip)
    assert not result.ok and result.kind is None
    assert "NIP" in result.problems[0]


def test_nip_birth_date_works_for_pns_and_pppk() -> None:
    assert nip_birth_date(PNS_NIP) == (date(1990, 1, 1), "L")
    assert nip_birth_date("198507122023212001") == (date(1985, 7, 12), "P")


def test_nip_birth_date_raises_without_a_date() -> None:
    with pytest.raises(ValueError):
        nip_birth_date("199013012015031001")


def test_matching_nik_and_nip_give_no_warning() -> None:
    assert nik_nip_agreement(MAN_NIK, PNS_NIP) == []
    assert nik_nip_agreement(WOMAN_NIK, "199001012015032001") == []


def test_birth_date_mismatch_is_a_warning() -> None:
    warnings = nik_nip_agreement(MAN_NIK, "199102032015031001")
    assert warnings == ["Tanggal lahir pada NIK (01-01-90) berbeda dengan tanggal lahir pada NIP (03-02-91)."]


def test_gender_mismatch_is_a_warning() -> None:
    warnings = nik_nip_agreement(WOMAN_NIK, PNS_NIP)
    assert warnings == [
        "Jenis kelamin pada NIK (perempuan) berbeda dengan jenis kelamin pada NIP (laki-laki)."
    ]


def test_agreement_says_it_cannot_compare_when_a_number_cannot_be_read() -> None:
    cannot = ["Tidak dapat dibandingkan: NIK atau NIP tidak valid (lihat pemeriksaan strukturnya)."]
    assert nik_nip_agreement("123", PNS_NIP) == cannot
    assert nik_nip_agreement(MAN_NIK, "abc") == cannot


@pytest.mark.parametrize(
    "email",
    ["budi@pekalongankota.go.id", "Budi@PekalonganKota.go.id", "budi@diskominfo.pekalongankota.go.id"],
)
def test_address_on_official_domain_or_subdomain_is_accepted(email: str) -> None:
    assert email_on_official_domain(email, "pekalongankota.go.id")


@pytest.mark.parametrize(
    "email",
    [
        "budi@gmail.com",
        "budi@evilpekalongankota.go.id",
        "budi@pekalongankota.go.id.example.com",
        "pekalongankota.go.id",
        "@pekalongankota.go.id",
        "",
    ],
)
def test_address_elsewhere_is_refused(email: str) -> None:
    assert not email_on_official_domain(email, "pekalongankota.go.id")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Budi Santoso", "BUDI SANTOSO"),
        ("Dr. Budi Santoso, S.T., M.Kom.", "Budi Santoso"),
        ("Hj. Siti Aminah", "Siti Aminah, S.E."),
        ("Santoso Budi", "Budi Santoso"),
        ("Budi Santosa", "Budi Santoso"),
    ],
)
def test_names_match_loosely_ignores_titles_order_and_typos(first: str, second: str) -> None:
    assert names_match_loosely(first, second)


@pytest.mark.parametrize(("first", "second"), [("Budi Santoso", "Siti Aminah"), ("Budi", ""), ("", "")])
def test_different_names_do_not_match(first: str, second: str) -> None:
    assert not names_match_loosely(first, second)
