"""Structure checks of Indonesian identifiers (NIK, NIP) and official e-mail addresses; pure functions.

The rules implemented here, and where they come from:

NIK (Nomor Induk Kependudukan), UU 23/2006 jo. UU 24/2013 on population administration, as every
Dukcapil office publishes it: 16 digits =
  province (2, a code of the Kemendagri list: 11–19, 21, 31–36, 51–53, 61–65, 71–76, 81–82, 91–96)
  + regency/city (2, 01–99; cities are 71–99) + district (2, 01–99) where the NIK was first registered
  + birth date DDMMYY, women's day + 40 (so 41–71) + sequence (4, from 0001).
  The date must exist; a NIK carries no century, so the latest century not in the future is taken.
  People registered outside Kota Pekalongan (33 75) keep their code: no prefix is required.

NIP PNS, Peraturan Kepala BKN 43/2007 (nomor identitas PNS): 18 digits =
  birth date YYYYMMDD (a real date, not before 1900, not in the future)
  + TMT CPNS YYYYMM (first appointment as CPNS: month 01–12, on or after the 18th birthday — the minimum
    age of PP 11/2017 art. 23 — and not in the future)
  + gender (1 = male, 2 = female) + sequence (3, from 001).

NI PPPK (Nomor Induk PPPK, PP 49/2018; BKN's published structure): 18 digits =
  birth date YYYYMMDD + year of first appointment as PPPK (4) + the PPPK field (2) + gender (1 or 2)
  + sequence (3). BKN describes the 2-digit field as the count of work agreements; on every number it
  has issued the field begins with 2 (all seen so far are "21"), which never occurs in a PNS number
  because it would be a month 20–29. So: digit 13 == "2" and digit 14 in 1–9 marks a PPPK number
  (the 13–14 field reads 21–29). The year is 2019 or later (the first PPPK appointments under
  PP 49/2018), at least 18 years after the birth year, and not in the future.

A number with 01–12 in digits 13–14 is read as PNS, one with 21–29 as PPPK; anything else fits neither
shape and is refused (never "accepted as PPPK"). Each message names the part that is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Literal

Gender = Literal["L", "P"]  # Laki-laki / Perempuan, as on the KTP

NIK_LENGTH = 16
NIP_LENGTH = 18
# Province codes of the Kemendagri list (incl. the Papua provinces formed in 2022).
PROVINCE_CODES = frozenset(
    [*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77), 81, 82, *range(91, 97)]
)
# A NIK adds 40 to the day of birth for women.
WOMEN_DAY_OFFSET = 40
EARLIEST_BIRTH_YEAR = 1900
# Nobody is appointed CPNS or PPPK before their 18th birthday (PP 11/2017 art. 23; PP 49/2018 art. 16).
MIN_APPOINTMENT_AGE = 18
# The first PPPK appointments under PP 49/2018 were made in 2019.
PPPK_FIRST_YEAR = 2019
# Digit 13 of a NI PPPK (the first digit of its 2-digit PPPK field).
PPPK_MARKER = "2"

MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip


@dataclass(frozen=True)
class NipValidation:
    """Outcome of `validate_nip`: the kind of number, blocking problems and notes for the verifikator."""

    kind: Literal["PNS", "PPPK"] | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether the number may be submitted."""
        return not self.problems


def normalize_number(value: str) -> str:
    """Return the identifier without whitespace: NIPs are often grouped ("19850101 201001 1 001")."""
    return "".join(str(value).split())


def _parse_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_fault(year: int | None, month: int, day: int) -> str | None:
    """Say what is wrong with a day/month(/year), or None when such a date exists."""
    if not 1 <= month <= 12:
        return f"bulan {month:02d} tidak ada"
    if day < 1:
        return f"tanggal {day:02d} tidak ada"
    check_year = year if year is not None else 2000  # a leap year: 29 Februari may exist
    if _parse_date(check_year, month, day) is None:
        where = f"{MONTHS[month - 1]} {year}" if year is not None else MONTHS[month - 1]
        return f"tanggal {day} tidak ada pada bulan {where}"
    return None


def _shape_problems(label: str, value: str, length: int) -> list[str]:
    """Say what keeps `value` from being `length` digits: the characters that are not digits, the length."""
    problems: list[str] = []
    wrong = [(i + 1, ch) for i, ch in enumerate(value) if not ch.isdigit()]
    if wrong:
        shown = ", ".join(f"'{ch}' pada posisi ke-{pos}" for pos, ch in wrong[:3])
        more = f" dan {len(wrong) - 3} lainnya" if len(wrong) > 3 else ""
        problems.append(f"{label} hanya boleh berisi angka; bukan angka: {shown}{more}.")
    if len(value) != length:
        problems.append(f"{label} harus {length} digit; yang tertulis {len(value)} karakter.")
    return problems


def _eighteenth_birthday(born: date) -> date:
    """The day a person born on `born` turns 18 (29 Februari births turn 18 on 1 Maret)."""
    return _parse_date(born.year + MIN_APPOINTMENT_AGE, born.month, born.day) or date(
        born.year + MIN_APPOINTMENT_AGE, 3, 1
    )


def _nik_date_parts(nik: str) -> tuple[int, int, int, Gender]:
    """Return (day, month, two-digit year, gender) from a 16-digit NIK, without checking the date."""
    day = int(nik[6:8])
    gender: Gender = "L"
    if day > WOMEN_DAY_OFFSET:
        day -= WOMEN_DAY_OFFSET
        gender = "P"
    return day, int(nik[8:10]), int(nik[10:12]), gender


def _resolve_century(day: int, month: int, yy: int, today: date) -> date | None:
    """Return the latest date with these DD/MM/YY that is not in the future (a NIK has no century)."""
    for century in (2000, 1900):
        candidate = _parse_date(century + yy, month, day)
        if candidate is not None and candidate <= today:
            return candidate
    return None


def _nik_date_problem(value: str, today: date) -> str | None:
    """Say what is wrong with the birth date part (digits 7–12) of a 16-digit NIK, or None."""
    raw_day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    part = value[6:12]
    if raw_day == 0 or 31 < raw_day <= WOMEN_DAY_OFFSET or raw_day > WOMEN_DAY_OFFSET + 31:
        return (
            f"Tanggal lahir pada NIK ({part}) tidak valid: digit ke-7–8 ({value[6:8]}) harus 01–31 "
            f"(laki-laki) atau 41–71 (perempuan, tanggal + 40)."
        )
    day = raw_day - WOMEN_DAY_OFFSET if raw_day > WOMEN_DAY_OFFSET else raw_day
    fault = _date_fault(None, month, day)
    if fault is not None:
        return f"Tanggal lahir pada NIK ({part}) tidak valid: {fault}."
    if _resolve_century(day, month, yy, today) is None:
        return f"Tanggal lahir pada NIK ({part}) tidak valid: tanggal {day} {MONTHS[month - 1]} tidak ada pada tahun {yy:02d}."
    return None


def validate_nik(nik: str, today: date | None = None) -> list[str]:
    """Return every structural problem of a NIK, each naming the part that is wrong (empty when well formed)."""
    value = normalize_number(nik)
    if not value:
        return ["NIK wajib diisi."]
    shape = _shape_problems("NIK", value, NIK_LENGTH)
    if shape:
        return shape
    problems: list[str] = []
    if int(value[:2]) not in PROVINCE_CODES:
        problems.append(f"Kode provinsi pada NIK ({value[:2]}, digit ke-1–2) tidak dikenal.")
    if value[2:4] == "00":
        problems.append("Kode kabupaten/kota pada NIK (digit ke-3–4) tidak boleh 00.")
    if value[4:6] == "00":
        problems.append("Kode kecamatan pada NIK (digit ke-5–6) tidak boleh 00.")
    date_problem = _nik_date_problem(value, today or date.today())
    if date_problem:
        problems.append(date_problem)
    if value[12:] == "0000":
        problems.append("Nomor urut pada NIK (digit ke-13–16) tidak boleh 0000; nomor urut dimulai dari 0001.")
    return problems


def nik_birth_date(nik: str, today: date | None = None) -> tuple[date, Gender]:
    """Return the birth date and gender encoded in a NIK; raise ValueError if it has none."""
    value = normalize_number(nik)
    if not value.isdigit() or len(value) != NIK_LENGTH:
        raise ValueError("NIK harus 16 digit angka.")
    day, month, yy, gender = _nik_date_parts(value)
    born = _resolve_century(day, month, yy, today or date.today())
    if born is None:
        raise ValueError(f"Tanggal lahir pada NIK ({value[6:12]}) tidak valid.")
    return born, gender


def _nip_birth_problem(nip: str, today: date) -> tuple[date | None, str | None]:
    """(birth date, None) from digits 1–8 of a NIP, or (None, what is wrong with them)."""
    year, month, day = int(nip[0:4]), int(nip[4:6]), int(nip[6:8])
    fault = _date_fault(year, month, day)
    if fault is not None:
        return None, f"Tanggal lahir pada NIP ({nip[0:8]}, digit ke-1–8, format TTTTBBHH) tidak valid: {fault}."
    born = date(year, month, day)
    if year < EARLIEST_BIRTH_YEAR:
        return None, f"Tanggal lahir pada NIP ({nip[0:8]}) tidak valid: tahun {year} sebelum {EARLIEST_BIRTH_YEAR}."
    if born > today:
        return None, f"Tanggal lahir pada NIP ({nip[0:8]}) tidak valid: tanggal itu belum terjadi."
    return born, None


def _pns_appointment_problem(nip: str, born: date | None, today: date) -> str | None:
    """What is wrong with the TMT CPNS (digits 9–14, YYYYMM) of a PNS NIP, or None."""
    year, month = int(nip[8:12]), int(nip[12:14])
    appointed = date(year, month, 1)
    shown = f"{nip[8:14]}, {MONTHS[month - 1]} {year}"
    if appointed > today:
        return f"TMT CPNS pada NIP ({shown}) tidak valid: belum terjadi."
    if born is not None and appointed < _eighteenth_birthday(born):
        age = year - born.year - ((month, 1) < (born.month, born.day))
        return (
            f"TMT CPNS pada NIP ({shown}) tidak valid: pemilik baru berusia {max(age, 0)} tahun "
            f"(lahir {born:%d-%m-%Y}); pengangkatan paling cepat pada usia {MIN_APPOINTMENT_AGE} tahun."
        )
    return None


def _pppk_appointment_problem(nip: str, born: date | None, today: date) -> str | None:
    """What is wrong with the year of first appointment (digits 9–12) of a NI PPPK, or None."""
    year = int(nip[8:12])
    if year < PPPK_FIRST_YEAR:
        return (
            f"Tahun pengangkatan PPPK pada NIP ({year}, digit ke-9–12) tidak valid: "
            f"PPPK baru diangkat sejak {PPPK_FIRST_YEAR}."
        )
    if year > today.year:
        return f"Tahun pengangkatan PPPK pada NIP ({year}) tidak valid: belum terjadi."
    if born is not None and year < born.year + MIN_APPOINTMENT_AGE:
        return (
            f"Tahun pengangkatan PPPK pada NIP ({year}) tidak valid: pemilik (lahir {born:%d-%m-%Y}) "
            f"belum berusia {MIN_APPOINTMENT_AGE} tahun pada tahun itu."
        )
    return None


def _nip_kind(nip: str) -> Literal["PNS", "PPPK"] | None:
    """Which shape digits 13–14 give the number: a month (PNS), the PPPK field 21–29, or neither."""
    field_13_14 = int(nip[12:14])
    if 1 <= field_13_14 <= 12:
        return "PNS"
    if nip[12] == PPPK_MARKER and nip[13] != "0":
        return "PPPK"
    return None


def validate_nip(nip: str, today: date | None = None) -> NipValidation:
    """Check a NIP against the PNS or the PPPK structure (see the module docstring); list every fault."""
    value = normalize_number(nip)
    if not value:
        return NipValidation(kind=None, problems=["NIP wajib diisi."])
    shape = _shape_problems("NIP", value, NIP_LENGTH)
    if shape:
        return NipValidation(kind=None, problems=shape)
    today = today or date.today()
    born, birth_problem = _nip_birth_problem(value, today)
    problems = [birth_problem] if birth_problem else []
    kind = _nip_kind(value)
    if kind == "PNS":
        appointment_problem = _pns_appointment_problem(value, born, today)
    elif kind == "PPPK":
        appointment_problem = _pppk_appointment_problem(value, born, today)
    else:
        appointment_problem = (
            f"Digit ke-13–14 NIP ({value[12:14]}) bukan bulan TMT CPNS (01–12, NIP PNS) dan bukan "
            f"penanda Nomor Induk PPPK (21–29); nomor ini tidak sesuai pola NIP PNS maupun PPPK."
        )
    if appointment_problem:
        problems.append(appointment_problem)
    if value[14] not in "12":
        problems.append(
            f"Kode jenis kelamin pada NIP (digit ke-15) adalah {value[14]}; harus 1 (laki-laki) atau 2 (perempuan)."
        )
    if value[15:] == "000":
        problems.append("Nomor urut pada NIP (digit ke-16–18) tidak boleh 000; nomor urut dimulai dari 001.")
    if problems:
        return NipValidation(kind=None, problems=problems)
    if kind == "PPPK":
        return NipValidation(
            kind="PPPK", notes=[f"Nomor Induk PPPK: diangkat pertama sebagai PPPK pada tahun {value[8:12]}."]
        )
    month = int(value[12:14])
    return NipValidation(kind="PNS", notes=[f"NIP PNS: TMT CPNS {MONTHS[month - 1]} {value[8:12]}."])


def nip_birth_date(nip: str) -> tuple[date, Gender | None]:
    """Return the birth date (first 8 digits) and gender (15th digit) of a NIP; raise ValueError if none.

    PNS and PPPK numbers both start with the birth date; the gender is None when the digit is not 1/2.
    """
    value = normalize_number(nip)
    if not value.isdigit() or len(value) != NIP_LENGTH:
        raise ValueError("NIP harus 18 digit angka.")
    born = _parse_date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    if born is None:
        raise ValueError(f"Tanggal lahir pada NIP ({value[0:8]}) tidak valid.")
    gender: Gender | None = {"1": "L", "2": "P"}.get(value[14])  # type: ignore[assignment]
    return born, gender


def nik_nip_agreement(nik: str, nip: str, today: date | None = None) -> list[str]:
    """Return warnings when the NIK and NIP disagree on birth date or gender (never a rejection).

    A NIK is never corrected even when its date is wrong, so the verifikator decides. Only DD/MM/YY are
    compared because a NIK carries no century. When either number is invalid nothing can be compared, and
    the warning says so: an agreement is never reported for a number that does not parse.
    """
    if validate_nik(nik, today) or not validate_nip(nip, today).ok:
        return ["Tidak dapat dibandingkan: NIK atau NIP tidak valid (lihat pemeriksaan strukturnya)."]
    nik_day, nik_month, nik_yy, nik_gender = _nik_date_parts(normalize_number(nik))
    nip_born, nip_gender = nip_birth_date(nip)
    warnings: list[str] = []
    if (nik_day, nik_month, nik_yy) != (nip_born.day, nip_born.month, nip_born.year % 100):
        warnings.append(
            f"Tanggal lahir pada NIK ({nik_day:02d}-{nik_month:02d}-{nik_yy:02d}) berbeda dengan "
            f"tanggal lahir pada NIP ({nip_born:%d-%m-%y})."
        )
    if nip_gender is not None and nip_gender != nik_gender:
        warnings.append(
            f"Jenis kelamin pada NIK ({_gender_word(nik_gender)}) berbeda dengan "
            f"jenis kelamin pada NIP ({_gender_word(nip_gender)})."
        )
    return warnings


def _gender_word(gender: Gender) -> str:
    return "laki-laki" if gender == "L" else "perempuan"


def email_on_official_domain(email: str, domain: str) -> bool:
    """Return whether the address is on the official domain or one of its subdomains (case-insensitive)."""
    local, at, host = str(email).strip().rpartition("@")
    if not at or not local or not host:
        return False
    host = host.lower().rstrip(".")
    wanted = domain.strip().lower().lstrip("@").rstrip(".")
    return bool(wanted) and (host == wanted or host.endswith("." + wanted))


# Name similarity above which two spellings count as the same person (typos, missing letters).
NAME_SIMILARITY = 0.85


def name_tokens(name: str) -> list[str]:
    """Return the lower-case words of a name without academic titles and abbreviations.

    Titles after the name follow a comma ("Budi Santoso, S.T., M.Kom."); titles and abbreviations before
    it carry a dot ("Dr.", "H.", "Moh."). Dropping both leaves the words a roster and a form share.
    """
    head = str(name).split(",", 1)[0]
    words = [word for word in head.lower().split() if word]
    kept = [word for word in words if "." not in word]
    cleaned = ["".join(ch for ch in word if ch.isalnum()) for word in (kept or words)]
    return [word for word in cleaned if word]


def names_match_loosely(first: str, second: str) -> bool:
    """Return whether two spellings plausibly name the same person (titles, order, small typos ignored)."""
    a, b = name_tokens(first), name_tokens(second)
    if not a or not b:
        return False
    if set(a) <= set(b) or set(b) <= set(a):
        return True
    ratio = SequenceMatcher(None, " ".join(sorted(a)), " ".join(sorted(b))).ratio()
    return ratio >= NAME_SIMILARITY
