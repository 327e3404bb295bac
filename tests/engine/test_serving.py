"""`sertel serve` (gunicorn) takes workers and threads from the settings; mail links follow the served port."""

from __future__ import annotations

import os
from typing import Any

import pytest
from click.testing import CliRunner

from engine import cli
from engine.app import engine_options
from engine.config import load_settings
from engine.gunicorn_conf import options


def test_gunicorn_options_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERTEL_WEB_WORKERS", "3")
    monkeypatch.setenv("SERTEL_WEB_THREADS", "8")
    monkeypatch.setenv("SERTEL_WEB_BIND", "127.0.0.1:8123")
    chosen = options(load_settings({"ENV": "testing"}))
    assert (chosen["workers"], chosen["threads"], chosen["bind"]) == (3, 8, ["127.0.0.1:8123"])
    assert chosen["worker_class"] == "gthread" and chosen["preload_app"] is False
    assert chosen["access_log_format"].endswith(" %(M)s")  # the request time in ms (bench/load_bench.py)


def _serve(monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    """Run `sertel serve` with gunicorn replaced by a recorder; return the options it would have used."""
    seen: dict[str, Any] = {}

    def run(self: Any) -> None:
        seen.update(self.options)

    monkeypatch.setattr(cli._Gunicorn, "run", run)
    result = CliRunner().invoke(cli.main, ["serve", *args])
    assert result.exit_code == 0, result.output
    return seen


def test_serve_flags_override_settings_and_mail_links_follow_the_bind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERTEL_ENV", "testing")
    monkeypatch.setenv("SERTEL_BASE_URL", "")  # recorded, so the value serve sets is undone after the test
    monkeypatch.setenv("SERTEL_WEB_THREADS", "4")  # likewise
    seen = _serve(monkeypatch, "--bind", "0.0.0.0:8200", "--workers", "2", "--threads", "6")
    assert (seen["bind"], seen["workers"], seen["threads"]) == (["0.0.0.0:8200"], 2, 6)
    assert os.environ["SERTEL_BASE_URL"] == "http://127.0.0.1:8200"
    assert load_settings()["BASE_URL"] == "http://127.0.0.1:8200"
    # The workers' apps (and their connection pools) see the threads of the command line.
    assert engine_options(load_settings({"DATABASE_URL": "postgresql+psycopg://h/db"}))["pool_size"] == 6


def test_the_connection_pool_keeps_one_connection_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERTEL_ENV", "testing")
    postgres = {"DATABASE_URL": "postgresql+psycopg://h/db"}
    assert engine_options(load_settings({**postgres, "WEB_THREADS": 12}))["pool_size"] == 12
    assert engine_options(load_settings({**postgres, "WEB_THREADS": 2}))["pool_size"] == 5  # SQLAlchemy's default
    assert "pool_size" not in engine_options(load_settings({"DATABASE_URL": "sqlite://"}))


def test_only_server_connections_are_pinged_before_reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    # A PostgreSQL connection kept in the pool may have been closed by a server restart; a SQLite file's cannot.
    monkeypatch.setenv("SERTEL_ENV", "testing")
    assert engine_options(load_settings({"DATABASE_URL": "postgresql+psycopg://h/db"}))["pool_pre_ping"] is True
    assert not engine_options(load_settings({"DATABASE_URL": "sqlite://"})).get("pool_pre_ping")


def test_an_explicit_base_url_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERTEL_ENV", "testing")
    monkeypatch.setenv("SERTEL_BASE_URL", "https://sertel.pekalongankota.go.id")
    _serve(monkeypatch, "--bind", "127.0.0.1:8300")
    assert load_settings()["BASE_URL"] == "https://sertel.pekalongankota.go.id"


def test_serve_refuses_production_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERTEL_ENV", "production")
    monkeypatch.delenv("SERTEL_SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli.main, ["serve"])
    assert result.exit_code == 1 and "SERTEL_SECRET_KEY" in result.output
