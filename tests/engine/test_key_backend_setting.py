"""Tests of SERTEL_KEY_BACKEND: the PSrE's own keys on a PKCS#11 token or as KEK-wrapped software keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from engine.app import create_app
from engine.config import ConfigError
from engine.services import setup
from pki.errors import UnsupportedKey
from pki.key_backend import Pkcs11Keys, SoftwareKeys


def _settings(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {"ENV": "testing", "INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "sqlite://", **overrides}


def test_software_keys_are_the_default(tmp_path: Path) -> None:
    assert isinstance(create_app(_settings(tmp_path)).extensions["sertel.psre"].keys, SoftwareKeys)


def test_the_pkcs11_setting_puts_the_ca_keys_on_the_token(tmp_path: Path, softhsm_token: dict[str, str]) -> None:
    app = create_app(
        _settings(
            tmp_path,
            KEY_BACKEND="pkcs11",
            PKCS11_MODULE=softhsm_token["module"],
            PKCS11_TOKEN_LABEL=softhsm_token["label"],
            PKCS11_PIN=softhsm_token["pin"],
        )
    )
    psre = app.extensions["sertel.psre"]
    assert isinstance(psre.keys, Pkcs11Keys)
    with app.app_context():
        setup.initialise_psre()
    with pytest.raises(UnsupportedKey):
        psre._ca().private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    assert psre.crl_der()  # signed on the token


def test_pkcs11_without_module_token_or_pin_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SERTEL_PKCS11"):
        create_app(_settings(tmp_path, KEY_BACKEND="pkcs11", PKCS11_MODULE="/usr/lib/softhsm/libsofthsm2.so"))
    with pytest.raises(ConfigError, match="SERTEL_KEY_BACKEND"):
        create_app(_settings(tmp_path, KEY_BACKEND="hsm"))
