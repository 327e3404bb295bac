"""Structure checks of Indonesian identifiers (NIK, NIP) and official e-mail addresses; pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Literal

Gender = Literal["L", "P"]  # Laki-laki / Perempuan, as on the KTP

NIK_LENGTH = 16
NIP_LENGTH = 18
# Province codes run from 11 (Aceh) to the Papua provinces in the 90s; anything outside is a typo.
PROVINCE_MIN, PROVINCE_MAX = 11, 94
# A NIK adds 40 to the day of birth for women.
WOMEN_DAY_OFFSET = 40
EARLIEST_BIRTH_YEAR = 1900
# Nobody becomes a civil servant (CPNS) before this age; earlier appointments mean a mistyped NIP.
MIN_APPOINTMENT_AGE = 15

PPPK_NOTE = (
    "NIP tidak sesuai pola NIP PNS (tanggal lahir, TMT CPNS, jenis kelamin, nomor urut); diterima sebagai nomor PPPK."
)


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
        if candidate is None:
            return None
        if candidate <= today:
            return candidate
    return None


def validate_nik(nik: str, today: date | None = None) -> list[str]:
    """Return the structural problems of a NIK (empty when it is well formed)."""
    value = normalize_number(nik)
    if not value:
        return ["NIK wajib diisi."]
    if not value.isdigit() or len(value) != NIK_LENGTH:
        return [f"NIK harus terdiri dari {NIK_LENGTH} angka (tertulis {len(value)} karakter)."]
    problems: list[str] = []
    province = int(value[:2])
    if not PROVINCE_MIN <= province <= PROVINCE_MAX:
        problems.append(f"Kode provinsi pada NIK ({value[:2]}) tidak dikenal.")
    day, month, yy, _ = _nik_date_parts(value)
    if _resolve_century(day, month, yy, today or date.today()) is None:
        problems.append(
            f"Tanggal lahir pada NIK ({value[6:12]}) tidak valid; format DDMMYY, tanggal ditambah 40 untuk perempuan."
        )
    return problems


def nik_birth_date(nik: str, today: date | None = None) -> tuple[date, Gender]:
    """Return the birth date and gender encoded in a NIK; raise ValueError if it has none."""
    value = normalize_number(nik)
    if not value.isdigit() or len(value) != NIK_LENGTH:
        raise ValueError("NIK harus terdiri dari 16 angka.")
    day, month, yy, gender = _nik_date_parts(value)
    born = _resolve_century(day, month, yy, today or date.today())
    if born is None:
        raise ValueError(f"Tanggal lahir pada NIK ({value[6:12]}) tidak valid.")
    return born, gender


def _pns_problems(nip: str, today: date) -> list[str]:
    """Return why an 18-digit number is not a PNS NIP (empty when it is one)."""
    problems: list[str] = []
    born = _parse_date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    if born is None or born.year < EARLIEST_BIRTH_YEAR or born > today:
        problems.append(f"tanggal lahir {nip[0:8]} tidak valid")
    appointed_year, appointed_month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= appointed_month <= 12 or appointed_year > today.year:
        problems.append(f"TMT CPNS {nip[8:14]} tidak valid")
    elif born is not None and appointed_year < born.year + MIN_APPOINTMENT_AGE:
        problems.append(f"TMT CPNS {nip[8:14]} terlalu dekat dengan tanggal lahir")
    if nip[14] not in "12":
        problems.append(f"kode jenis kelamin {nip[14]} bukan 1 atau 2")
    if nip[15:18] == "000":
        problems.append("nomor urut 000 tidak valid")
    return problems


def validate_nip(nip: str, today: date | None = None) -> NipValidation:
    """Check a NIP: 18 digits, PNS structure if it parses as one, otherwise accepted as PPPK with a note."""
    value = normalize_number(nip)
    if not value:
        return NipValidation(kind=None, problems=["NIP wajib diisi."])
    if not value.isdigit() or len(value) != NIP_LENGTH:
        return NipValidation(
            kind=None,
            problems=[f"NIP harus terdiri dari {NIP_LENGTH} angka (tertulis {len(value)} karakter)."],
        )
    pns_problems = _pns_problems(value, today or date.today())
    if not pns_problems:
        return NipValidation(kind="PNS")
    return NipValidation(kind="PPPK", notes=[f"{PPPK_NOTE} ({'; '.join(pns_problems)})"])


def nip_birth_date(nip: str) -> tuple[date, Gender | None]:
    """Return the birth date (first 8 digits) and gender (15th digit) of a NIP; raise ValueError if none.

    PNS and PPPK numbers both start with the birth date; the gender is None when the digit is not 1/2.
    """
    value = normalize_number(nip)
    if not value.isdigit() or len(value) != NIP_LENGTH:
        raise ValueError("NIP harus terdiri dari 18 angka.")
    born = _parse_date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    if born is None:
        raise ValueError(f"Tanggal lahir pada NIP ({value[0:8]}) tidak valid.")
    gender: Gender | None = {"1": "L", "2": "P"}.get(value[14])  # type: ignore[assignment]
    return born, gender


def nik_nip_agreement(nik: str, nip: str) -> list[str]:
    """Return warnings when the NIK and NIP disagree on birth date or gender (never a rejection).

    A NIK is never corrected even when its date is wrong, so the verifikator decides. Only DD/MM/YY are
    compared because a NIK carries no century.
    """
    try:
        nik_day, nik_month, nik_yy, nik_gender = _nik_date_parts(_checked(nik, NIK_LENGTH))
        nip_born, nip_gender = nip_birth_date(nip)
    except ValueError:
        return []
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


def _checked(value: str, length: int) -> str:
    normalized = normalize_number(value)
    if not normalized.isdigit() or len(normalized) != length:
        raise ValueError("bukan nomor yang lengkap")
    return normalized


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
