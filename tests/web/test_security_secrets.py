"""Development mode has no built-in secrets: each instance generates its own and keeps them (mode 0600)."""

from __future__ import annotations

import stat
from pathlib import Path

import engine.config
from engine.app import create_app
from engine.config import DEV_SECRETS_FILE, load_settings


def _dev(tmp_path: Path) -> dict[str, str]:
    return {"ENV": "development", "INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "sqlite://"}


def test_no_public_secret_constants_in_the_source() -> None:
    assert not hasattr(engine.config, "DEV_SECRET")
    assert not hasattr(engine.config, "DEV_KEK")


def test_each_development_instance_generates_and_keeps_its_own_secrets(tmp_path: Path) -> None:
    first = load_settings(_dev(tmp_path / "a"))
    again = load_settings(_dev(tmp_path / "a"))
    other = load_settings(_dev(tmp_path / "b"))
    assert (first["SECRET_KEY"], first["KEK_KEYS"]) == (again["SECRET_KEY"], again["KEK_KEYS"])
    assert first["SECRET_KEY"] != other["SECRET_KEY"] and first["KEK_KEYS"] != other["KEK_KEYS"]
    assert len(first["SECRET_KEY"]) >= 48
    mode = stat.S_IMODE((tmp_path / "a" / DEV_SECRETS_FILE).stat().st_mode)
    assert mode == 0o600


def test_given_secrets_are_used_and_nothing_is_generated(tmp_path: Path) -> None:
    settings = load_settings({**_dev(tmp_path), "SECRET_KEY": "x" * 40, "KEK_KEYS": "k"})
    assert settings["SECRET_KEY"] == "x" * 40
    assert not (tmp_path / DEV_SECRETS_FILE).exists()


def test_the_app_signs_sessions_with_the_instance_secret(tmp_path: Path) -> None:
    app = create_app(_dev(tmp_path))
    assert app.config["SECRET_KEY"] == load_settings(_dev(tmp_path))["SECRET_KEY"]
