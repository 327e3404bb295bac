"""Fixtures shared by the engine and SOP tests: a fresh app and database per test, a shared test CA."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from engine.app import create_app
from engine.config import DEV_SECRETS_FILE
from engine.models import db
from engine.services import setup
from engine.services.deploy import PROCESSES_DIR, deploy_files



def _worker_database_url(url: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database (`<db>_gw0`, ...), made on first use.

    The suite resets the public schema per test, so two workers on one database would wipe each other's data.
    The environment variable is rewritten too: tests that read it (or pass it to subprocesses) see the same.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not (worker and url.startswith("postgresql")):
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    worker_url = base.set(database=name).render_as_string(hide_password=False)
    os.environ["SERTEL_DATABASE_URL"] = worker_url
    return worker_url


DATABASE_URL = _worker_database_url(os.environ.get("SERTEL_DATABASE_URL", ""))
# Cheap argon2 for tests only: the production cost is ~0.5 s a hash on this machine.
FAST_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}


@pytest.fixture(scope="session")
def psre_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised embedded PSrE, created once and copied into each test (CA creation is slow)."""
    instance = tmp_path_factory.mktemp("psre-template")
    app = create_app({"ENV": "testing", "INSTANCE_DIR": str(instance), "DATABASE_URL": "sqlite://"})
    with app.app_context():
        setup.initialise_psre()
    return instance / "psre"


_schema_template: Path | None = None


def schema_template() -> Path:
    """A SQLite database migrated to head (with the fixed roles), made once per test process and copied per test.

    The schema comes from the migrations only (setup.create_schema), as in production.
    """
    global _schema_template
    if _schema_template is None:
        directory = Path(tempfile.mkdtemp(prefix="sertel-schema-"))
        path = directory / "schema.sqlite3"
        application = create_app({"ENV": "testing", "INSTANCE_DIR": str(directory), "DATABASE_URL": f"sqlite:///{path}"})
        with application.app_context():
            setup.create_schema()
            db.session.remove()
            db.engine.dispose()
        _schema_template = path
    return _schema_template


def _reset_postgresql() -> None:
    """An empty public schema, then the migrations to head."""
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    setup.create_schema()


def build_app(tmp_path: Path, psre_template: Path, **overrides: Any) -> Flask:
    """A fresh app with demo data and deployed processes, on SQLite or SERTEL_DATABASE_URL."""
    if not (tmp_path / "psre").exists():
        shutil.copytree(psre_template, tmp_path / "psre")
    if not (tmp_path / DEV_SECRETS_FILE).exists():  # the template's keys are wrapped under its own KEK
        shutil.copy(psre_template.parent / DEV_SECRETS_FILE, tmp_path / DEV_SECRETS_FILE)
    url = DATABASE_URL or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    if not DATABASE_URL:
        shutil.copyfile(schema_template(), tmp_path / "test.sqlite3")
    settings = {"ENV": "testing", "INSTANCE_DIR": str(tmp_path), "DATABASE_URL": url, "ESIGN_SCRYPT_N": 1024, **FAST_HASHING}
    application = create_app({**settings, **overrides})
    with application.app_context():
        if DATABASE_URL:
            _reset_postgresql()
        setup.load_demo()
        deploy_files(sorted(PROCESSES_DIR.glob("*.bpmn")), "test")
    return application


@pytest.fixture
def app(tmp_path: Path, psre_template: Path) -> Iterator[Flask]:
    """A fresh app with demo data and deployed processes."""
    application = build_app(tmp_path, psre_template)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


class Api:
    """A small JSON API client acting as one logged-in user."""

    def __init__(self, client: FlaskClient, username: str) -> None:
        self.client = client
        response = client.post("/api/v1/auth/token", json={"username": username, "password": setup.DEMO_PASSWORD})
        assert response.status_code == 200, response.get_json()
        self.headers = {"Authorization": f"Bearer {response.get_json()['token']}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self.headers, **kwargs)


@pytest.fixture
def api(client: FlaskClient) -> Any:
    """Log in through the API as a demo user: api('pemohon')."""
    return lambda username: Api(client, username)


SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A SoftHSM2 token in a temp dir, for the PKCS#11 key backend: its module, label and user PIN."""
    if not SOFTHSM_MODULE.exists() or shutil.which("softhsm2-util") is None:
        reason = "SoftHSM2 is not installed (Debian softhsm2; scripts/setup-system.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI must test the PKCS#11 backend, never skip it
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    # Read by the module when it is first loaded, which is in this process: set it for the whole session.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", "sertel-test", "--so-pin", "87654321", "--pin", "123456"],
            check=True,
            capture_output=True,
        )
        yield {"module": str(SOFTHSM_MODULE), "label": "sertel-test", "pin": "123456"}
