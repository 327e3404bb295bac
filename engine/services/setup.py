"""Setting up an installation: schema (Alembic migrations), CA, demo data, and the ASN roster import."""

from __future__ import annotations

import csv
import io
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import select

from engine.config import ROOT
from engine.models import Agency, RosterEntry, User, db
from engine.services import accounts, audit, people
from engine.services.demo_certificates import ensure_esign_certificate
from engine.services.errors import Invalid
from engine.services.runtime_context import psre

AGENCIES: list[tuple[str, str]] = [
    ("setda", "Sekretariat Daerah"),
    ("diskominfo", "Dinas Komunikasi dan Informatika"),
    ("dinperinaker", "Dinas Perindustrian dan Tenaga Kerja"),
    ("dlh", "Dinas Lingkungan Hidup"),
    ("dindukcapil", "Dinas Kependudukan dan Pencatatan Sipil"),
    ("bkpsdm", "Badan Kepegawaian dan Pengembangan Sumber Daya Manusia"),
    ("bpkad", "Badan Pengelolaan Keuangan dan Aset Daerah"),
    ("bapperida", "Badan Perencanaan Pembangunan, Riset dan Inovasi Daerah"),
    ("disdik", "Dinas Pendidikan"),
    ("dinkes", "Dinas Kesehatan"),
    ("dpupr", "Dinas Pekerjaan Umum dan Penataan Ruang"),
    ("dishub", "Dinas Perhubungan"),
    ("dpmptsp", "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu"),
    ("rsud-bendan", "RSUD Bendan"),
    ("kec-pekalongan-barat", "Kecamatan Pekalongan Barat"),
    ("kec-pekalongan-timur", "Kecamatan Pekalongan Timur"),
    ("kec-pekalongan-utara", "Kecamatan Pekalongan Utara"),
    ("kec-pekalongan-selatan", "Kecamatan Pekalongan Selatan"),
]

DEMO_PASSWORD = "demo-sertel-2026"
# (username, full name, roles, agency, NIP, NIK, position, roster status); people are fictional.
DEMO_PEOPLE: list[tuple[str, str, list[str], str, str, str, str, str]] = [
    (
        "pemohon",
        "Budi Santoso",
        ["Pemohon"],
        "diskominfo",
        "199007152015031001",
        "3375011507900001",
        "Pranata Komputer Ahli Pertama",
        "aktif",
    ),
    (
        "pemohon2",
        "Siti Aminah",
        ["Pemohon"],
        "dinkes",
        "199203222017012002",
        "3375026203920002",
        "Analis Kesehatan",
        "aktif",
    ),
    (
        "atasan",
        "Dr. Agus Prasetyo, M.Kom.",
        ["Atasan", "Pemohon"],
        "diskominfo",
        "197501102000031003",
        "3375011001750003",
        "Kepala Dinas Komunikasi dan Informatika",
        "aktif",
    ),
    (
        "atasan2",
        "dr. Rina Wulandari",
        ["Atasan", "Pemohon"],
        "dinkes",
        "197804152003122004",
        "3375035504780004",
        "Kepala Dinas Kesehatan",
        "aktif",
    ),
    (
        "verifikator",
        "Dewi Lestari",
        ["Verifikator", "Pemohon"],
        "diskominfo",
        "198811302012012005",
        "3375047011880005",
        "Sandiman Ahli Muda",
        "aktif",
    ),
    (
        "verifikator2",
        "Rahmat Hidayat",
        ["Verifikator", "Pemohon"],
        "diskominfo",
        "199004212014031009",
        "3375022104900009",
        "Sandiman Ahli Pertama",
        "aktif",
    ),
    (
        # The heads' superior: recommends an agency head's own application (engine/services/duties.py).
        "sekda",
        "Drs. Bambang Wijaya, M.Si.",
        ["Atasan", "Pemohon"],
        "setda",
        "196808171994031008",
        "3375031708680008",
        "Sekretaris Daerah",
        "aktif",
    ),
    ("admin", "Admin Diskominfo", ["Admin"], "diskominfo", "", "", "Pengelola Sistem", ""),
    ("auditor", "Auditor Inspektorat", ["Auditor"], "setda", "", "", "Auditor", ""),
]
# Owners who are not ASN (the seed names the Mayor, the Deputy Mayor and "pihak lain"): no NIP, no roster row.
# (username, full name, category, agency, NIK, position)
DEMO_NON_ASN: list[tuple[str, str, str, str, str, str]] = [
    ("walikota", "H. Ahmad Fadhil", "wali_kota", "setda", "3375010503700008", "Wali Kota Pekalongan"),
]
# Roster-only people: one who has left, to exercise leaver checks.
DEMO_ROSTER_EXTRA: list[tuple[str, str, str, str, str, str]] = [
    ("198501012010011006", "3375010101850006", "Hendra Gunawan", "dishub", "Kepala Seksi", "keluar"),
    ("199512122020122007", "3375015212950007", "Ayu Kartika", "bpkad", "Analis Keuangan", "aktif"),
]


MIGRATIONS_DIR = ROOT / "migrations"
# A database made by db.create_all() before migrations existed has no alembic_version table: the newest of
# these tables it has tells the revision its schema is (newest first), so upgrading starts from there.
PRE_ALEMBIC_REVISIONS: list[tuple[str, str]] = [("process_drafts", "0002"), ("users", "0001")]


def alembic_config() -> Config:
    """The Alembic configuration of migrations/; its env.py migrates the current app's database."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def schema_revision() -> str | None:
    """The database's migration revision (None: empty, or made before migrations and not yet upgraded)."""
    with db.engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def head_revision() -> str | None:
    """The newest revision in migrations/versions."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_schema(revision: str = "head") -> None:
    """Migrate the database to `revision`; a database made by create_all is stamped first (see above)."""
    config = alembic_config()
    db.session.remove()  # no session may hold a transaction (SQLite would lock the migration out)
    with db.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        stamp = next((rev for table, rev in PRE_ALEMBIC_REVISIONS if table in tables), None)
        if stamp is not None:
            command.stamp(config, stamp)
    command.upgrade(config, revision)


def create_schema() -> None:
    """Bring the schema to the newest migration (an empty database is created by them), and the fixed roles."""
    upgrade_schema()
    accounts.ensure_roles()
    db.session.commit()


def initialise_psre() -> bool:
    """Create the embedded PSrE's CA hierarchy if absent; True when created now (a remote PSrE has its own)."""
    adapter = psre()
    return bool(adapter.initialise()) if hasattr(adapter, "initialise") else False


def load_agencies() -> None:
    """Insert the city's agencies that are missing."""
    known = set(db.session.execute(select(Agency.code)).scalars())
    for code, name in AGENCIES:
        if code not in known:
            db.session.add(Agency(code=code, name=name))
    db.session.commit()


def load_demo() -> list[tuple[str, str, list[str]]]:
    """Load agencies, one user per role and a roster (idempotent); return the demo logins."""
    load_agencies()
    agencies = {a.code: a for a in db.session.execute(select(Agency)).scalars()}
    for username, name, roles, agency, nip, nik, position, status in DEMO_PEOPLE:
        if db.session.execute(select(User).where(User.username == username)).scalar_one_or_none() is None:
            email = f"{username}@pekalongankota.go.id"
            accounts.create_user(
                username, DEMO_PASSWORD, name, email, roles, agency, nip or None, nik or None, "demo", position=position
            )
        if nip and db.session.get(RosterEntry, nip) is None:
            db.session.add(
                RosterEntry(
                    nip=nip, nik=nik, full_name=name, agency_id=agencies[agency].id, position=position, status=status
                )
            )
    for username, name, category, agency, nik, position in DEMO_NON_ASN:
        if db.session.execute(select(User).where(User.username == username)).scalar_one_or_none() is None:
            email = f"{username}@pekalongankota.go.id"
            accounts.create_user(
                username, DEMO_PASSWORD, name, email, ["Pemohon"], agency, None, nik, "demo", category, position
            )
    for nip, nik, name, agency, position, status in DEMO_ROSTER_EXTRA:
        if db.session.get(RosterEntry, nip) is None:
            db.session.add(
                RosterEntry(
                    nip=nip, nik=nik, full_name=name, agency_id=agencies[agency].id, position=position, status=status
                )
            )
    db.session.commit()
    # Verifikators act only with a certificate of their own (duty rule verifier_holds_certificate).
    for username, _name, roles, _agency, _nip, _nik, position, _status in DEMO_PEOPLE:
        if "Verifikator" in roles:
            user = db.session.execute(select(User).where(User.username == username)).scalar_one()
            ensure_esign_certificate(user, position)
    db.session.commit()
    logins = [(u, DEMO_PASSWORD, roles) for u, _n, roles, *_rest in DEMO_PEOPLE]
    return logins + [(u, DEMO_PASSWORD, ["Pemohon"]) for u, *_rest in DEMO_NON_ASN]


ROSTER_COLUMNS = ("nip", "nik", "full_name", "agency_code", "position", "status")


def import_roster(text: str, actor: str) -> dict[str, Any]:
    """Import a roster CSV (columns: nip,nik,full_name,agency_code,position,status); all or nothing."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise Invalid(f"Kolom wajib tidak ada: {', '.join(missing)}")
    agencies = {a.code: a for a in db.session.execute(select(Agency)).scalars()}
    errors: list[str] = []
    rows: list[dict[str, str]] = []
    for number, row in enumerate(reader, start=2):
        nip = (row.get("nip") or "").strip()
        if len(nip) != 18 or not nip.isdigit():
            errors.append(f"baris {number}: NIP harus 18 digit")
        if (row.get("agency_code") or "").strip() not in agencies:
            errors.append(f"baris {number}: Perangkat Daerah '{row.get('agency_code')}' tidak dikenal")
        if (row.get("status") or "aktif").strip() not in ("aktif", "keluar"):
            errors.append(f"baris {number}: status harus 'aktif' atau 'keluar'")
        rows.append({k: (row.get(k) or "").strip() for k in ROSTER_COLUMNS})
    if errors:
        raise Invalid("Impor daftar ASN dibatalkan.", {"csv": errors})
    created = updated = 0
    for row in rows:
        entry = db.session.get(RosterEntry, row["nip"])
        if entry is None:
            entry = RosterEntry(nip=row["nip"])
            db.session.add(entry)
            created += 1
        else:
            updated += 1
        entry.nik = row["nik"] or None
        entry.full_name = row["full_name"]
        entry.agency_id = agencies[row["agency_code"]].id
        entry.position = row["position"]
        entry.status = row["status"] or "aktif"
    persons = people.persons_from_roster([db.session.get_one(RosterEntry, row["nip"]) for row in rows], actor)
    audit.append(
        "system", "roster_imported", actor, {"created": created, "updated": updated, "persons_created": persons}
    )
    db.session.commit()
    return {"created": created, "updated": updated}
