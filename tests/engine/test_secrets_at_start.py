"""Tests of what the app demands and says at start: secrets and KEKs outside development, scrypt cost, demo."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from engine.app import create_app
from engine.cli import demo
from engine.config import DEFAULTS, ConfigError, load_settings

REAL_SECRETS = {"SECRET_KEY": "s" * 48, "KEK_KEYS": Fernet.generate_key().decode()}


def _production(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {"ENV": "production", "INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "sqlite://", **REAL_SECRETS, **overrides}


def test_production_refuses_to_start_without_its_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SERTEL_SECRET_KEY"):
        create_app(_production(tmp_path, SECRET_KEY=""))


def test_production_refuses_to_start_without_its_keks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SERTEL_KEK_KEYS"):
        create_app(_production(tmp_path, KEK_KEYS=""))


def test_default_esign_scrypt_cost_meets_owasp() -> None:
    assert DEFAULTS["ESIGN_SCRYPT_N"] >= 2**17


def test_a_cheap_esign_scrypt_cost_is_refused_outside_testing(tmp_path: Path) -> None:
    for env in ("production", "development"):
        with pytest.raises(ConfigError, match="SERTEL_ESIGN_SCRYPT_N"):
            load_settings(_production(tmp_path, ENV=env, ESIGN_SCRYPT_N=2**15))
    assert load_settings(_production(tmp_path, ENV="testing", ESIGN_SCRYPT_N=1024))["ESIGN_SCRYPT_N"] == 1024


def test_demo_refuses_to_run_in_production(tmp_path: Path) -> None:
    app = create_app(_production(tmp_path))
    result = app.test_cli_runner().invoke(demo)
    assert result.exit_code != 0
    assert "produksi" in result.output
    assert not (tmp_path / "psre").exists()  # refused before any key or demo account was made


def test_development_mode_says_loudly_that_it_generated_its_keys(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.app"):
        create_app({"ENV": "development", "INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "sqlite://"})
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("dibuat acak" in message and "dev-secrets.json" in message for message in warnings), warnings


def test_production_with_its_own_secrets_does_not_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.app"):
        create_app(_production(tmp_path))
    assert not [r for r in caplog.records if "MODE PENGEMBANGAN" in r.getMessage()]
