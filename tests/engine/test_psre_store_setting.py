"""SERTEL_PSRE_DATABASE_URL chooses where the embedded PSrE keeps its state."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet

from engine.app import make_psre
from engine.config import load_settings


def _settings(tmp_path: Path, **overrides: str) -> dict[str, object]:
    return load_settings(
        {"ENV": "testing", "INSTANCE_DIR": str(tmp_path), "KEK_KEYS": Fernet.generate_key().decode(), **overrides}
    )


def test_the_default_store_is_the_sqlite_file_in_the_instance(tmp_path: Path) -> None:
    psre = make_psre(_settings(tmp_path))
    assert not psre.store.is_postgres
    assert psre.store.path == tmp_path / "psre" / "psre.sqlite3"
    assert psre.keystore.store is psre.store


def test_a_postgresql_url_puts_the_store_and_its_key_table_there(tmp_path: Path) -> None:
    url = "postgresql+psycopg://sertel@db.internal:5432/sertel?schema=psre"
    psre = make_psre(_settings(tmp_path, PSRE_DATABASE_URL=url))
    assert psre.store.is_postgres and psre.keystore.store is psre.store
    assert psre.store.database_url == url
    assert not (tmp_path / "psre").exists()  # nothing opened yet, and nothing on the local disk
