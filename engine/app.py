"""The application factory: settings, database, PSrE adapter, handler discovery and blueprints."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from engine import registry
from engine.config import DEV_SECRETS_FILE, ROOT, ConfigError, generated_secrets, load_settings
from engine.failpoints import CrashAfterPSrE, armed_operations
from engine.models import db
from engine.web import register_web
from pki.embedded import EmbeddedPSrE
from pki.http_client import HttpPSrE
from pki.key_backend import KeyBackend, Pkcs11Keys, SoftwareKeys

logger = logging.getLogger(__name__)
DEV_SECRETS_WARNING = (
    "MODE PENGEMBANGAN: %s dibuat acak untuk instans ini dan disimpan di %s (mode 0600). "
    "Siapa pun yang dapat membaca berkas itu dapat membuka kunci CA dan memalsukan sesi; menghapusnya membuat "
    "kunci yang sudah dibungkus tidak terbaca lagi. Di produksi setel SERTEL_ENV=production, "
    "SERTEL_SECRET_KEY dan SERTEL_KEK_KEYS."
)


def make_key_backend(settings: dict[str, Any], kek_keys: list[str]) -> KeyBackend:
    """Build the store of the PSrE's own keys the settings ask for: software (KEK-wrapped) or PKCS#11."""
    if settings["KEY_BACKEND"] == "pkcs11":
        if not (settings["PKCS11_MODULE"] and settings["PKCS11_TOKEN_LABEL"] and settings["PKCS11_PIN"]):
            raise ConfigError("SERTEL_KEY_BACKEND=pkcs11 needs SERTEL_PKCS11_MODULE, _TOKEN_LABEL and _PIN")
        return Pkcs11Keys(settings["PKCS11_MODULE"], settings["PKCS11_TOKEN_LABEL"], settings["PKCS11_PIN"])
    if settings["KEY_BACKEND"] != "software":
        raise ConfigError(f"SERTEL_KEY_BACKEND must be 'software' or 'pkcs11', not {settings['KEY_BACKEND']!r}")
    return SoftwareKeys(kek_keys)


def make_psre(settings: dict[str, Any]) -> Any:
    """Build the PSrE adapter the settings ask for: the embedded CA, or a remote PSrE over HTTP."""
    if settings["PSRE"] == "http":
        if not settings["PSRE_URL"]:
            raise ConfigError("SERTEL_PSRE_URL must be set when SERTEL_PSRE=http")
        return HttpPSrE(
            settings["PSRE_URL"],
            settings["PSRE_USERNAME"],
            settings["PSRE_PASSWORD"],
            timeout=float(settings["PSRE_TIMEOUT"]),
            retries=int(settings["PSRE_RETRIES"]),
        )
    if settings["PSRE"] != "embedded":
        raise ConfigError(f"SERTEL_PSRE must be 'embedded' or 'http', not {settings['PSRE']!r}")
    kek_keys = [k.strip() for k in settings["KEK_KEYS"].split(",") if k.strip()]
    return EmbeddedPSrE(
        Path(settings["INSTANCE_DIR"]) / "psre",
        kek_keys,
        settings["PKI_BASE_URL"] or settings["BASE_URL"] + "/pki",
        validity_days=int(settings["CERT_VALIDITY_DAYS"]),
        crl_next_update_hours=int(settings["CRL_NEXT_UPDATE_HOURS"]),
        max_attempts=int(settings["ESIGN_MAX_ATTEMPTS"]),
        scrypt_n=int(settings["ESIGN_SCRYPT_N"]),
        min_passphrase_length=int(settings["ESIGN_PASSPHRASE_MIN_LENGTH"]),
        key_backend=make_key_backend(settings, kek_keys),
        policy_oid=settings["CERT_POLICY_OID"],
        database_url=settings["PSRE_DATABASE_URL"] or None,
    )


def with_fail_points(adapter: Any, settings: dict[str, Any]) -> Any:
    """Arm the crash fail-points of the settings around the adapter (never outside development/testing)."""
    if not settings["CRASH_AFTER_PSRE"]:
        return adapter
    if settings["ENV"] not in {"development", "testing"}:
        raise ConfigError("SERTEL_CRASH_AFTER_PSRE is only for crash tests (ENV development or testing)")
    ledger = Path(settings["CRASH_LEDGER"] or Path(settings["INSTANCE_DIR"]) / "crash-ledger.txt")
    return CrashAfterPSrE(adapter, armed_operations(settings["CRASH_AFTER_PSRE"]), ledger)


def engine_options(settings: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options: on SQLite a busy timeout, so writers queue for the lock instead of failing; on
    PostgreSQL a ping before a pooled connection is reused and a pool as large as a worker's threads."""
    if str(settings["DATABASE_URL"]).startswith("sqlite"):
        # A SQLite file has no server connection that could have dropped: no ping before each checkout.
        return {"connect_args": {"timeout": float(settings["SQLITE_BUSY_TIMEOUT"])}}
    # A pooled PostgreSQL connection may have been closed by a server restart: pinged before it is reused.
    # One kept connection per request thread (gunicorn's WEB_THREADS): with SQLAlchemy's default of 5, a
    # worker of 8 threads opened and closed overflow connections under load (a new PostgreSQL backend and
    # its prepared statements lost each time), which lengthened exactly the busiest moments.
    return {"pool_pre_ping": True, "pool_size": max(5, int(settings["WEB_THREADS"]))}


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Create a configured Sertel application."""
    settings = load_settings(overrides)
    generated = generated_secrets(settings)
    if settings["ENV"] == "development" and generated:
        logger.warning(DEV_SECRETS_WARNING, " dan ".join(generated), Path(settings["INSTANCE_DIR"]) / DEV_SECRETS_FILE)
    Path(settings["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "engine" / "web" / "templates"),
        static_folder=str(ROOT / "engine" / "web" / "static"),
    )
    app.config.update(
        SERTEL=settings,
        SECRET_KEY=settings["SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings),
        MAX_CONTENT_LENGTH=int(settings["MAX_UPLOAD_BYTES"]) * 3,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        TESTING=settings["ENV"] == "testing",
    )
    db.init_app(app)
    app.extensions["sertel.psre"] = with_fail_points(make_psre(settings), settings)
    registry.discover("handlers")
    register_web(app)
    return app
